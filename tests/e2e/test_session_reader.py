"""The page's reader of recordings (static/js/session-file.js), in the browser
that runs it, without the app: a good file is read whole; every kind of bad
file is refused with the code the format gives it (docs/api.md, "Recording"),
the line where it is wrong, and nothing else. Where the server's reader
(app/model/session_file.py, the record branch) is there, both readers are
given the same files and must give the same codes."""

import importlib.util
import json

import pytest

pytestmark = pytest.mark.e2e

SNAPSHOT = {"seq": 4, "echo": {"host": None, "port": None}, "processes": [
    {"uid": "dashboard", "pid": 100, "ppid": 1, "role": "dashboard", "name": "dashboard",
     "state": "running"}]}
HEADER = {"format": "forkscope-session", "version": 1, "schema": "sha256:0123456789abcdef",
          "started": 1700000000.0, "host": "test", "lab": {"start_method": "fork"},
          "session": "2026-11-29T20-31-05_100", "part": 1, "dashboard_pid": 100}


def line(obj):
    return json.dumps(obj, ensure_ascii=False) + "\n"


def event(seq, type_="phase", **fields):
    return {"seq": seq, "type": type_, "t": 1700000000.0 + seq, "pid": 100, "by": 100, **fields}


def session(events=(5, 6, 7), header=HEADER, snapshot=SNAPSHOT):
    return line(header) + line({"snapshot": snapshot}) + "".join(line(event(s)) for s in events)


GOOD = session()

# name -> (text, expected code, expected line). Each is one way a file is wrong.
BAD = {
    "empty": ("", "not_jsonl", 1),
    "binary": ("\x00\x01\x02\xff\xfe garbage \x07", "not_jsonl", 1),
    "html": ("<!doctype html><html><body>404</body></html>\n", "not_jsonl", 1),
    "csv": ("seq,type,t\n1,started,3.0\n", "not_jsonl", 1),
    "a json array": ("[1, 2, 3]\n", "not_jsonl", 1),
    "another format": (line({"format": "chrome-trace", "version": 1}) + line({"snapshot": SNAPSHOT}),
                       "wrong_format", 1),
    "no format": (line({"version": 1}), "wrong_format", 1),
    "version 2": (session(header={**HEADER, "version": 2}), "wrong_version", 1),
    "version as text": (session(header={**HEADER, "version": "1"}), "wrong_version", 1),
    "header only": (line(HEADER), "truncated", 2),
    "cut snapshot": (line(HEADER) + line({"snapshot": SNAPSHOT})[:40], "truncated", 2),
    "no snapshot": (line(HEADER) + line(event(5)), "wrong_format", 2),
    "line 2 not json": (line(HEADER) + "snapshot: none\n" + line(event(5)), "wrong_format", 2),
    "a huge first line": ("{" + " " * 70_000 + '"format": "forkscope-session"}\n', "not_jsonl", 1),
    "snapshot without seq": (session(snapshot={"echo": {}, "processes": []}), "wrong_format", 2),
    "cut last event": (session()[:-12], "truncated", 5),
    "bad middle line": (line(HEADER) + line({"snapshot": SNAPSHOT}) + "{not json\n" + line(event(5)),
                        "not_jsonl", 3),
    "event without seq": (line(HEADER) + line({"snapshot": SNAPSHOT}) + line({"type": "phase", "t": 1}),
                          "wrong_format", 3),
    "event without type": (line(HEADER) + line({"snapshot": SNAPSHOT}) + line({"seq": 5}),
                           "wrong_format", 3),
    "a gap": (session(events=(5, 6, 8)), "seq_gap", 5),
    "a repeat": (session(events=(5, 5)), "seq_gap", 4),
    "starts late": (session(events=(6, 7)), "seq_gap", 3),
}

PARSE = """async ([text, size, maxBytes]) => {
    const { parseSession, SessionError } = await import('/static/js/session-file.js');
    try {
        const s = parseSession(text, { size, maxBytes: maxBytes ?? undefined });
        return { ok: true, header: s.header, seq: s.snapshot.seq, events: s.events.map((e) => e.seq) };
    } catch (error) {
        if (!(error instanceof SessionError)) return { threw: String(error) };
        return { ok: false, code: error.code, params: error.params };
    }
}"""


def parse(page, text, size=None, max_bytes=None):
    return page.evaluate(PARSE, [text, size, max_bytes])


def test_a_good_recording_is_read_whole(module_page):
    got = parse(module_page, GOOD)
    assert got == {"ok": True, "header": HEADER, "seq": 4, "events": [5, 6, 7]}
    reader = python_reader()
    if reader is not None:
        assert [e["seq"] for e in reader.parse(GOOD.encode()).events] == [5, 6, 7]


def test_a_last_line_without_its_newline_is_whole_if_it_parses(module_page):
    assert parse(module_page, GOOD.rstrip("\n"))["events"] == [5, 6, 7]


def test_no_events_after_the_snapshot_is_a_recording(module_page):
    assert parse(module_page, session(events=()))["events"] == []


def test_unknown_header_keys_are_ignored(module_page):
    assert parse(module_page, session(header={**HEADER, "future": {"x": 1}}))["ok"] is True


@pytest.mark.parametrize("name", list(BAD))
def test_a_bad_file_is_refused_with_its_code_and_line(module_page, name):
    text, code, where = BAD[name]
    got = parse(module_page, text)
    assert got.get("ok") is False, got
    assert (got["code"], got["params"].get("line")) == (code, where), got


def test_a_gap_says_what_was_expected_and_found(module_page):
    got = parse(module_page, session(events=(5, 6, 8)))
    assert got["params"] == {"line": 5, "expected": 7, "found": 8}


def test_the_size_is_checked_before_anything_else(module_page):
    got = parse(module_page, "not even json", 200 * 1024 * 1024)
    assert got["code"] == "too_large"
    assert parse(module_page, GOOD, None, 10)["code"] == "too_large"


BLOB = """async ([kind, mb, maxMb]) => {
    const { readSessionBlob, SessionError } = await import('/static/js/session-file.js');
    let blob;
    if (kind === 'garbage') {
        const bytes = new Uint8Array(mb * 1024 * 1024);
        for (let i = 0; i < bytes.length; i += 65536) {
            crypto.getRandomValues(bytes.subarray(i, Math.min(bytes.length, i + 65536)));
        }
        blob = new Blob([bytes]);
    } else {
        blob = new Blob([kind]);
    }
    const t0 = performance.now();
    try {
        const s = await readSessionBlob(blob, maxMb ? { maxBytes: maxMb * 1024 * 1024 } : {});
        return { ok: true, events: s.events.length, ms: performance.now() - t0 };
    } catch (error) {
        return { ok: false, code: error instanceof SessionError ? error.code : String(error),
                 ms: performance.now() - t0 };
    }
}"""


def test_fifty_megabytes_of_garbage_are_refused_without_reading_them(module_page):
    got = module_page.evaluate(BLOB, ["garbage", 50, None])
    assert got["code"] == "not_jsonl"
    # only the first 64 KiB is read: no JSON.parse of 50 MB
    assert got["ms"] < 2000, got


def test_a_file_over_the_page_limit_is_refused_by_its_size(module_page):
    got = module_page.evaluate(BLOB, ["garbage", 3, 2])
    assert got["code"] == "too_large"


def test_a_blob_of_a_good_recording_is_read(module_page):
    got = module_page.evaluate(BLOB, [GOOD, 0, None])
    assert (got["ok"], got["events"]) == (True, 3), got


ORIGIN = """async ([raw, here]) => {
    const { sameOriginUrl, SessionError } = await import('/static/js/session-file.js');
    try {
        return { ok: true, href: sameOriginUrl(raw, here).href };
    } catch (error) {
        return { ok: false, code: error.code };
    }
}"""


@pytest.mark.parametrize("raw, ok", [
    ("/api/export.jsonl", True),
    ("/api/recordings/2026-11-29T20-31-05_4242_part1.jsonl", True),
    ("http://127.0.0.1:5000/api/export.jsonl", True),
    ("http://evil.example/x.jsonl", False),
    ("//evil.example/x.jsonl", False),
    ("https://127.0.0.1:5000/api/export.jsonl", False),
])
def test_only_a_same_origin_url_is_opened(module_page, raw, ok):
    got = module_page.evaluate(ORIGIN, [raw, "http://127.0.0.1:5000/replay?url=x"])
    assert got["ok"] is ok, got
    if not ok:
        assert got["code"] == "other_origin"


# -- the same codes as the server's reader --------------------------------------------------------
def python_reader():
    if importlib.util.find_spec("app.model.session_file") is None:
        return None
    return importlib.import_module("app.model.session_file")


def python_code(reader, text):
    """The code and line the server's reader gives *text* (None: it read the file)."""
    try:
        reader.parse(text.encode("utf-8", "surrogatepass"))
    except reader.SessionFileError as exc:
        return exc.code, exc.params.get("line")
    return None


@pytest.mark.parametrize("name", list(BAD))
def test_the_page_and_the_server_give_the_same_code(module_page, name):
    reader = python_reader()
    if reader is None:
        pytest.skip("the server's reader (app/model/session_file.py) is not on this branch")
    text, code, where = BAD[name]
    page = parse(module_page, text)
    assert python_code(reader, text) == (page["code"], page["params"].get("line")) == (code, where)
