"""One error type for everything the page or a REST client can get wrong.

``code`` is a stable key into the message catalogue (static/i18n/*.json under
``error.<code>``) so the page can show the error in the viewer's language;
``message`` is the same in English for REST clients and logs.
"""


class LabError(Exception):
    def __init__(self, status, code, message, **params):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.params = params

    def to_json(self):
        return {"error": self.message, "code": self.code, "params": self.params}
