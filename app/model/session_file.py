"""A recorded session, as a file: what ``forkscope-session`` version 1 is, and
how to read one back. Pure — bytes in, a ``Session`` or a ``SessionFileError``
out — so every rule is unit-tested without a dashboard.

The file (docs/api.md, "Recording") is JSON Lines::

    line 1   {"format": "forkscope-session", "version": 1, "schema": ..., "started": ..., ...}
    line 2   {"snapshot": <the body of GET /api/state at that moment, its seq included>,
              "joined": [uids of the reaped processes in the order they were reaped]}
    line 3…  one event a line, as the Socket.IO ``events`` stream sent it, seq +1 each

A snapshot and the events after it are all a reader needs: rebuild the
process table from the snapshot (``restore``), then apply the events in
order, as a viewer that connected at that moment would have.

Lines are split on ``\\n`` only. ``str.splitlines()`` would also split on
U+2028 and friends, which ``json.dumps(ensure_ascii=False)`` leaves raw inside
a student's message.

A reader refuses a file with one of a few stable codes (the page's ``/replay``
uses the same ones, and translates them): ``too_large``, ``not_jsonl``,
``wrong_format``, ``wrong_version``, ``truncated``, ``seq_gap``.
"""

import hashlib
import json
import math
import re
from collections import deque
from dataclasses import dataclass, field

from app.model import schema
from app.model.registry import Registry
from app.model.states import State

FORMAT = "forkscope-session"
VERSION = 1
MAX_BYTES = 1 << 30            # a server-side reader's limit: 16 lectures' worth
HEADER_MAX = 64 * 1024         # a header is a few hundred bytes; binary junk is not
CODES = ("too_large", "not_jsonl", "wrong_format", "wrong_version", "truncated", "seq_gap")

#: A part file's name: ``<local start time>_<dashboard pid>[-<n>]_part<N>.jsonl``.
#: The optional ``-<n>`` tells apart two sessions started in the same second by
#: the same process (tests do that). Nothing else is ever served from the
#: directory, so a name with ``/`` or ``..`` cannot get through.
_SESSION = r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d_\d+(?:-\d+)?"
_PART = r"[1-9]\d{0,5}"
NAME_PATTERN = rf"^{_SESSION}_part{_PART}\.jsonl$"   # also valid ECMA 262 (OpenAPI)
NAME_RE = re.compile(rf"(?P<session>{_SESSION})_part(?P<part>{_PART})\.jsonl", re.ASCII)


class SessionFileError(Exception):
    """Why a file is not a recording we can replay: a stable *code* (one of
    ``CODES``), English words, and *params* (``line`` where it applies)."""

    def __init__(self, code, message, **params):
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params

    def to_json(self):
        return {"error": self.message, "code": self.code, "params": self.params}


@dataclass
class Session:
    """A parsed recording: its header, the snapshot it starts from, its events
    in seq order, and warnings that did not stop the reading."""
    header: dict
    snapshot: dict
    events: list
    warnings: list = field(default_factory=list)
    joined: list | None = None   # line 2's reaping order, when it has one

    @property
    def last_seq(self):
        return self.events[-1]["seq"] if self.events else self.snapshot["seq"]


# -- writing ------------------------------------------------------------------------

def schema_id():
    """An id of the schema the events follow: ``sha256:`` and the first 16 hex
    digits of the SHA-256 of ``schema.document()`` as canonical JSON. Equal ids:
    the events mean what this code thinks they mean."""
    canonical = json.dumps(schema.document(), sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def header(started, host, lab, session, part, dashboard_pid):
    """Line 1 of a part file."""
    return {"format": FORMAT, "version": VERSION, "schema": schema_id(), "started": started,
            "host": host, "lab": lab, "session": session, "part": part,
            "dashboard_pid": dashboard_pid}


# One encoder for every line: json.dumps with arguments builds a new one per call.
# No NaN: JavaScript's JSON.parse (the page's reader) refuses it.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def line(obj):
    """One JSON Lines line (bytes, ending in ``\\n``). JSON escapes ``\\n`` and
    ``\\r`` inside strings, so a line is always exactly one line. A value JSON
    cannot hold (NaN, bytes, a set) is written as ``null`` or its ``str()``
    rather than lose the line: a missing line would be a seq gap."""
    try:
        text = _ENCODER.encode(obj)
    except (TypeError, ValueError):
        text = _ENCODER.encode(_plain(obj))
    return (text + "\n").encode("utf-8")


def _plain(value):
    """*value* with what JSON cannot hold made plain: non-finite floats null,
    other objects their ``str()``."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


# -- reading ------------------------------------------------------------------------

def _json_object(raw):
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError
        return None
    return value if isinstance(value, dict) else None


def parse(data, max_bytes=MAX_BYTES, expect_schema=None):
    """The ``Session`` in *data* (bytes), or ``SessionFileError``.

    Checks, in this order, and answers the first problem found: the size
    (``too_large``); line 1 is a JSON object (``not_jsonl``) of our format
    (``wrong_format``) and version (``wrong_version``); line 2 is a snapshot;
    every event has the next seq (``seq_gap``). A last line cut mid-JSON, with
    no ``\\n`` after it, is ``truncated``: what a dashboard killed mid-write
    leaves. *expect_schema*, when given, is the id the reader expects: a different one
    is the warning ``schema_mismatch``, not a refusal (a recording from an
    older Forkscope is still worth opening).
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > max_bytes:
        raise SessionFileError("too_large", f"the file has {len(data)} bytes; the limit "
                               f"is {max_bytes}", size=len(data), limit=max_bytes)
    ends_whole = data.endswith(b"\n")
    lines = data.split(b"\n")
    if ends_whole:
        lines.pop()  # the empty string after the last "\n"
    last = len(lines)  # 1-based number of the last line

    def cut(number):
        return number == last and not ends_whole

    first = lines[0] if lines else b""
    head = _json_object(first) if len(first) <= HEADER_MAX else None
    if head is None:
        raise SessionFileError("not_jsonl", "the first line is not a JSON object: "
                               "not a JSON Lines recording", line=1)
    if head.get("format") != FORMAT:
        raise SessionFileError("wrong_format", f"not a {FORMAT} file (format: "
                               f"{str(head.get('format'))[:40]!r})", line=1)
    version = head.get("version")
    if version != VERSION or isinstance(version, bool):
        raise SessionFileError("wrong_version", f"{FORMAT} version {version!r}; this "
                               f"reader knows version {VERSION}", line=1,
                               version=version if isinstance(version, (int, str)) else None,
                               supported=VERSION)
    if last < 2:
        raise SessionFileError("truncated", "the file ends before its snapshot", line=2)
    snap = _json_object(lines[1])
    if snap is None and cut(2):
        raise SessionFileError("truncated", "the snapshot line is cut short", line=2)
    snapshot = snap.get("snapshot") if snap is not None else None
    if (not isinstance(snapshot, dict) or not isinstance(snapshot.get("seq"), int)
            or not isinstance(snapshot.get("processes"), list)):
        raise SessionFileError("wrong_format", "line 2 is not {\"snapshot\": {seq, echo, "
                               "processes}}", line=2)
    joined = snap.get("joined")
    if not (isinstance(joined, list) and all(isinstance(u, str) for u in joined)):
        joined = None  # optional: a reader falls back on the snapshot's order
    events = []
    expected = snapshot["seq"] + 1
    for number, raw in enumerate(lines[2:], start=3):
        event = _json_object(raw)
        if event is None:
            if cut(number):
                raise SessionFileError("truncated", f"line {number}, the last, is cut "
                                       "short: the recording stopped mid-write",
                                       line=number)
            raise SessionFileError("not_jsonl", f"line {number} is not a JSON object",
                                   line=number)
        seq = event.get("seq")
        if (not isinstance(seq, int) or isinstance(seq, bool)
                or not isinstance(event.get("type"), str)):
            raise SessionFileError("wrong_format", f"line {number} is not an event "
                                   "(no integer seq or no type)", line=number)
        if seq != expected:
            raise SessionFileError("seq_gap", f"line {number} has seq {seq}, "
                                   f"expected {expected}", line=number,
                                   expected=expected, found=seq)
        events.append(event)
        expected += 1
    warnings = []
    if expect_schema is not None and head.get("schema") != expect_schema:
        warnings.append("schema_mismatch")
    return Session(head, snapshot, events, warnings, joined)


def restore(snapshot, joined=None, keep=10_000):
    """A ``Registry`` holding exactly *snapshot*'s table at its seq: applying
    the events after it gives the table the dashboard had then.

    Which reaped processes the registry drops first (beyond ``JOINED_KEPT``)
    follows reaping order, which the snapshot alone does not carry: *joined*
    (line 2's) gives it; without it the snapshot's (creation) order stands in,
    the same unless processes were reaped out of creation order.
    """
    processes = snapshot["processes"]
    dashboard = next((p for p in processes if p.get("role") == "dashboard"), None)
    registry = Registry(dashboard["pid"] if dashboard else 0,
                        dashboard["ppid"] if dashboard else 0, keep=keep)
    registry.seq = snapshot["seq"]
    registry.echo = dict(snapshot.get("echo") or {"host": None, "port": None})
    registry.procs = {p["uid"]: dict(p) for p in processes}
    registry.by_pid = {p["pid"]: p["uid"] for p in processes
                       if p["pid"] is not None and p["state"] != State.JOINED.value}
    reaped = [p["uid"] for p in processes if p["state"] == State.JOINED.value]
    if joined is not None:
        rank = {uid: i for i, uid in enumerate(joined)}
        reaped.sort(key=lambda uid: rank.get(uid, -1))
    registry.joined = deque(reaped)
    return registry


def replay(session, keep=10_000):
    """The registry after *session*'s snapshot and every one of its events."""
    registry = restore(session.snapshot, session.joined, keep=keep)
    for event in session.events:
        registry.apply(event)
    return registry


def split_name(name):
    """``(session, part)`` of a part file's name, or None when it is not one."""
    match = NAME_RE.fullmatch(name) if isinstance(name, str) else None  # no "$\n"
    return (match["session"], int(match["part"])) if match else None
