"""REST: thin routes over the controller. Every error is JSON ``{"error": ...}``."""

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from app.errors import LabError

api = Blueprint("api", __name__, url_prefix="/api")


def controller():
    return current_app.extensions["forkscope"].controller


def body():
    """The JSON body, or None; malformed JSON is a 400, not a stack trace."""
    if not request.data:
        return None
    data = request.get_json(silent=True)
    if data is None:
        raise LabError(400, "bad_json", "the body is not valid JSON")
    return data


@api.errorhandler(LabError)
def lab_error(exc):
    return jsonify(exc.to_json()), exc.status


def http_error(exc):
    """JSON for HTTP errors under /api/, including routing 404 and 405."""
    if not request.path.startswith(api.url_prefix + "/"):
        return exc
    return jsonify({"error": exc.description, "code": f"http_{exc.code}",
                    "params": {}}), exc.code


@api.errorhandler(Exception)
def unexpected(exc):
    if isinstance(exc, HTTPException):
        return http_error(exc)
    current_app.logger.exception("unexpected error")
    return jsonify({"error": "internal error (see the dashboard's log)",
                    "code": "internal", "params": {}}), 500


@api.get("/state")
def state():
    return jsonify(controller().state())


@api.get("/events")
def events():
    return jsonify(controller().events(request.args.get("after", "0")))


@api.post("/clients")
def spawn_clients():
    return jsonify(controller().spawn_clients(body())), 201


@api.post("/clients/<pid>/messages")
def send_message(pid):
    return jsonify(controller().send_message(pid, body()))


@api.post("/clients/<pid>/close")
def close_client(pid):
    return jsonify(controller().close_client(pid))


@api.post("/processes/<pid>/<any(terminate, kill):how>")
def signal(pid, how):
    return jsonify(controller().signal(pid, how))


@api.post("/processes/<pid>/join")
def join(pid):
    return jsonify(controller().join(pid, body()))


@api.get("/whoami")
def whoami():
    fs = current_app.extensions["forkscope"]
    return jsonify({"presenter": fs.access.presenter(),
                    "token_required": fs.settings.token is not None,
                    "viewer_url": fs.viewer_url})


@api.get("/code")
def code():
    return jsonify(controller().code())


@api.get("/truth")
def truth():
    return jsonify(controller().truth(detail=request.args.get("detail", "1") != "0",
                                      pid=request.args.get("pid")))


@api.post("/demos/daemon-child")
def daemon_demo():
    return jsonify(controller().daemon_demo())


@api.get("/lab")
def lab_settings():
    return jsonify(controller().lab_settings())


@api.post("/lab")
def change_lab_settings():
    return jsonify(controller().change_lab_settings(body()))


@api.post("/server/restart")
def restart_server():
    return jsonify(controller().restart_server())
