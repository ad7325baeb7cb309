"""The Trace Event Format's rules, as a checker: ``problems(doc)`` lists how
a trace departs from them (empty: it keeps them).

The rules are Google's "Trace Event Format" document (the format
``chrome://tracing`` and Perfetto's JSON importer read; mirrored in catapult's
``docs/trace-event-format.md``), the parts this app writes:

* the JSON Object Format: an object with a ``traceEvents`` array; optional
  ``displayTimeUnit`` (``"ms"`` or ``"ns"``) and ``otherData`` (an object);
* every event has ``ph``, one of the format's phases; ``pid`` and ``tid``
  (integers here); ``ts``, in microseconds (a number); ``name``; ``args``, if
  there, is an object;
* ``X`` (complete) events have ``dur`` ≥ 0;
* ``i``/``I`` (instant) events' scope ``s``, if there, is ``g``, ``p`` or ``t``;
* ``M`` (metadata) events are ``process_name`` / ``thread_name`` with
  ``args.name``, ``process_sort_index`` / ``thread_sort_index`` with an integer
  ``args.sort_index``, or ``process_labels``;
* flow events (``s`` start, ``t`` step, ``f`` end) carry ``cat``, ``name`` and
  ``id``; the events of one flow share the three; each start has its end, not
  before it; ``bp``, if there, is ``"e"`` (bind to the enclosing slice);
  a flow point binds to a slice: here, an ``X`` slice on its pid/tid that
  encloses its ``ts`` (Perfetto's importer drops a flow that binds to nothing).
"""

PHASES = set("BEXiICbneSTpFsftPNODMVvRc") | {"(", ")"}
METADATA = {"process_name", "process_labels", "process_sort_index", "thread_name",
            "thread_sort_index"}
SCOPES = {"g", "p", "t"}


def problems(doc):
    found = []
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return ["not the JSON Object Format: no traceEvents array"]
    if doc.get("displayTimeUnit", "ms") not in ("ms", "ns"):
        found.append(f"displayTimeUnit {doc['displayTimeUnit']!r}")
    if not isinstance(doc.get("otherData", {}), dict):
        found.append("otherData is not an object")
    slices = {}
    flows = {}
    for i, e in enumerate(doc["traceEvents"]):
        where = f"event {i} ({e.get('ph')} {e.get('name')})"
        ph = e.get("ph")
        if ph not in PHASES:
            found.append(f"{where}: ph {ph!r} is not a phase of the format")
            continue
        for key in ("pid", "tid"):
            if not isinstance(e.get(key), int) or isinstance(e.get(key), bool):
                found.append(f"{where}: {key} missing or not an integer")
        if not isinstance(e.get("ts"), (int, float)) or isinstance(e.get("ts"), bool):
            found.append(f"{where}: ts missing or not a number")
        if not isinstance(e.get("name"), str):
            found.append(f"{where}: no name")
        if "args" in e and not isinstance(e["args"], dict):
            found.append(f"{where}: args is not an object")
        if ph == "X":
            dur = e.get("dur")
            if not isinstance(dur, (int, float)) or dur < 0:
                found.append(f"{where}: X without dur >= 0 ({dur!r})")
            else:
                slices.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + dur))
        elif ph in ("i", "I") and e.get("s", "t") not in SCOPES:
            found.append(f"{where}: instant scope {e.get('s')!r}")
        elif ph == "M":
            name, args = e.get("name"), e.get("args") or {}
            if name not in METADATA:
                found.append(f"{where}: metadata {name!r} unknown")
            elif name.endswith("_name") and not isinstance(args.get("name"), str):
                found.append(f"{where}: {name} without args.name")
            elif name.endswith("_sort_index") and not isinstance(args.get("sort_index"), int):
                found.append(f"{where}: {name} without an integer args.sort_index")
        elif ph in ("s", "t", "f"):
            if not all(k in e for k in ("cat", "name", "id")):
                found.append(f"{where}: flow event without cat, name and id")
                continue
            if e.get("bp", "e") != "e":
                found.append(f"{where}: bp {e['bp']!r}")
            flows.setdefault((e["cat"], e["name"], e["id"]), []).append(e)
    for key, events in flows.items():
        starts = [e for e in events if e["ph"] == "s"]
        ends = [e for e in events if e["ph"] == "f"]
        if len(starts) != 1 or len(ends) != 1:
            found.append(f"flow {key}: {len(starts)} start(s), {len(ends)} end(s)")
            continue
        if ends[0]["ts"] < starts[0]["ts"]:
            found.append(f"flow {key}: ends before it starts")
        for e in (starts[0], ends[0]):
            spans = slices.get((e.get("pid"), e.get("tid")), [])
            if not any(a <= e["ts"] <= b for a, b in spans):
                found.append(f"flow {key} {e['ph']}: no slice on pid {e.get('pid')} "
                             f"encloses ts {e['ts']}")
    return found


def process_tracks(doc):
    """{track pid: its process_name}, and the pids named more than once."""
    names, twice = {}, set()
    for e in doc["traceEvents"]:
        if e.get("ph") == "M" and e.get("name") == "process_name":
            if e["pid"] in names:
                twice.add(e["pid"])
            names[e["pid"]] = e["args"]["name"]
    return names, twice
