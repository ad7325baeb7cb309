"""One error type for everything the page or a REST client can get wrong.

``code`` is a stable key into the message catalogue (static/i18n/*.json under
``error.<code>``) so the page can show the error in the viewer's language;
``message`` is the same in English for REST clients and logs.

Every error body the dashboard sends, from REST or in a Socket.IO ack, is
``LabError.to_json()``: an HTTP error Werkzeug raised becomes one with
``LabError.from_http``, and anything unexpected becomes ``LabError.internal()``
(a fixed text: a stack trace or an exception's message may hold what a viewer
must not read, so they go to the log only).

This module is imported by lab processes too (``app.lab.channel``): it must not
import Flask or Werkzeug.
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

    @classmethod
    def from_http(cls, exc):
        """A Werkzeug ``HTTPException`` (a routing 404, a 405...) as one of ours."""
        return cls(exc.code, f"http_{exc.code}", exc.description)

    @classmethod
    def internal(cls):
        """What the caller learns of an unexpected exception: that it happened."""
        # spelt LabError(...), not cls(...): tests/e2e/test_catalogues.py finds
        # the codes the page must translate by that pattern
        return LabError(500, "internal", "internal error (see the dashboard's log)")
