"""What the recording actions answer (``app.web.dispatch``, "recording"):
the session as one file, as a trace, the list of recordings and one of them.

Anyone may read them, like every GET: what a viewer could have watched live.
Files are streamed in chunks, not built in memory; the trace is built from the
whole session (``app.web.trace``), so it is made once per request.
"""

import json
import os

from flask import Response

from app.errors import LabError
from app.model import session_file
from app.web import trace
from app.web.controller import bad
from app.web.recorder import read_part

NDJSON = "application/x-ndjson"


def _recorder(fs):
    rec = fs.recorder
    if rec is None:
        raise LabError(409, "not_recording", "this dashboard records nothing (--no-record)")
    if not rec.parts:
        raise LabError(409, "not_recording", f"recording failed: {rec.error}",
                       reason=rec.error)
    return rec


def _attachment(body, mimetype, filename):
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def export_jsonl(fs):
    """The current session from its start: one header, the first snapshot,
    every event of every part."""
    rec = _recorder(fs)
    return _attachment(rec.export(), NDJSON, f"forkscope-{rec.session}.jsonl")


def export_trace(fs):
    """The current session in the Trace Event Format (Perfetto, chrome://tracing)."""
    rec = _recorder(fs)
    session = session_file.parse(b"".join(rec.export()))
    body = json.dumps(trace.build(session.header, session.snapshot, session.events),
                      ensure_ascii=False, separators=(",", ":"))
    return _attachment(body, "application/json", f"forkscope-{rec.session}.trace.json")


def recordings(fs):
    rec = fs.recorder
    directory = fs.settings.record
    return {"recording": bool(rec and rec.active),
            "current": rec.session if rec and rec.parts else None,
            "error": rec.error if rec else None,
            "schema": session_file.schema_id(),
            "recordings": fs.recordings.files(directory, rec) if directory else []}


def recording(fs, name):
    """One part file, by its name only: nothing but a part's name is accepted,
    so no path can reach outside the directory."""
    if session_file.split_name(name) is None:
        raise bad("not a recording's name (<session>_part<N>.jsonl)", reason="bad_name")
    directory = fs.settings.record
    path = os.path.join(directory, name) if directory else None
    if path is None or not os.path.isfile(path):
        raise LabError(404, "no_recording", f"no recording {name!r}", name=name)
    rec = fs.recorder
    part = rec.current(name) if rec is not None else None
    # the part being written: up to its last whole line
    limit = part.size if part is not None else os.path.getsize(path)
    return _attachment(read_part(path, limit), NDJSON, name)
