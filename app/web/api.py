"""REST: one route per action of the dispatch table, each a thin edge over
``dispatch``. Every answer is JSON, errors included (``dispatch.failure``).

A route reads what HTTP brings — the path's parameters, the query of a GET,
the JSON body of a POST — and who asks (``Access.presenter``); ``dispatch``
does the rest. A POST must say ``Content-Type: application/json``, even with
no body: an HTML form on another site cannot send that, so a presenter's
browser cannot be made to act by a page it visits (the session cookie is
also SameSite=Strict).
"""

from flask import Blueprint, Response, current_app, jsonify, request

from app.errors import LabError
from app.web.dispatch import ACTIONS, Caller, dispatch, failure

api = Blueprint("api", __name__, url_prefix="/api")


def payload(method):
    """What the action gets from the request: the query of a GET or a DELETE
    (one value per name; a DELETE cannot come from an HTML form), the JSON body
    of a POST (``None`` when empty)."""
    if method in ("GET", "DELETE"):
        return request.args.to_dict()
    if request.mimetype != "application/json":
        raise LabError(415, "bad_content_type", "control calls must be application/json")
    if not request.data:
        return None
    data = request.get_json(silent=True)
    if data is None:
        raise LabError(400, "bad_json", "the body is not valid JSON")
    return data


def route(action):
    def view(**path_args):
        fs = current_app.extensions["forkscope"]
        try:
            sent = payload(action.method)
        except LabError as exc:
            return respond(*failure(exc))
        return respond(*dispatch(fs, action.name, sent,
                                 Caller(presenter=fs.access.presenter()), path_args))
    view.__name__ = action.name
    view.__doc__ = action.summary
    return view


def respond(status, body):
    if isinstance(body, Response):  # a file (Action.media): sent as it is
        return body, status
    return jsonify(body), status


for _action in ACTIONS.values():
    if not _action.rest_route:
        continue
    api.add_url_rule(_action.path, endpoint=_action.name, view_func=route(_action),
                     methods=[_action.method])


def http_error(exc):
    """JSON for HTTP errors under /api/ (a routing 404, a 405); pages keep HTML."""
    if not request.path.startswith(api.url_prefix + "/"):
        return exc
    return respond(*failure(exc))


@api.errorhandler(Exception)
def unexpected(exc):
    """Anything raised outside ``dispatch`` (serialising a body, say): the same
    JSON, through the same ``failure``."""
    return respond(*failure(exc))
