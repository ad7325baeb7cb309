"""What waking up costs on this machine, apart from any of Forkscope's code paths.

``python -m bench.cold_wake [--rounds 40]``

The latency benchmark's idle phase sends one message every 0.27 s, so every
event finds the lab and the dashboard asleep. This measures, after sleeping
for each of a few spacings, two things with no Forkscope process running:

* **one pipe hop** — a forked child writes ``time.time()`` to a pipe, the
  parent blocked in ``read`` stamps its receipt (the lab → dashboard hop has
  this shape, and the dashboard → hall → viewer path has three more);
* **one event's encoding** — ``Fanout.encode`` of a one-event ``events``
  message, timed in a thread that has just woken (about 17 µs when warm).

If the cold figures are much larger than the warm ones, an idle event's
latency on this machine is mostly the price of waking, not of the code on its
path: compare ``make bench``'s idle p99 with these before reading a change in
it as a regression.
"""

import argparse
import json
import os
import struct
import time

from bench.common import pct

SPACINGS = (0.27, 0.05, 0.01)
EVENT = [{"type": "served", "t": 0.0, "pid": 1234, "by": 1234, "count": 1, "bytes": 13,
          "text": "LATENCY PROBE", "seq": 100, "uid": "server-1/worker-1"}]


def pipe_hop_ms(spacing, rounds):
    """Receipt minus send time of *rounds* writes, one every *spacing* s."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:   # the writer: nothing but a sleep and a write, then gone
        os.close(r)
        for _ in range(rounds):
            time.sleep(spacing)
            os.write(w, struct.pack("d", time.time()))
        os._exit(0)
    os.close(w)
    out = []
    try:
        for _ in range(rounds):
            (sent,) = struct.unpack("d", os.read(r, 8))
            out.append((time.time() - sent) * 1000)
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    return out


def encode_us(spacing, rounds):
    """``Fanout.encode`` timed right after each sleep of *spacing* s (none: warm)."""
    from app.web.fanout import Fanout

    out = []
    for _ in range(rounds):
        if spacing:
            time.sleep(spacing)   # the idle spell is what is measured
        start = time.perf_counter()
        Fanout.encode("events", EVENT)
        out.append((time.perf_counter() - start) * 1e6)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=40)
    args = p.parse_args(argv)
    warm = encode_us(0, args.rounds * 10)
    result = {"warm_encode_us": {"p50": round(pct(warm, 50), 1)}}
    print(f"warm (no sleep): encode p50 {pct(warm, 50):.0f} µs")
    for spacing in SPACINGS:
        hop, enc = pipe_hop_ms(spacing, args.rounds), encode_us(spacing, args.rounds)
        result[str(spacing)] = {
            "pipe_hop_ms": {"p50": round(pct(hop, 50), 3), "p95": round(pct(hop, 95), 3)},
            "encode_us": {"p50": round(pct(enc, 50), 1), "p95": round(pct(enc, 95), 1)}}
        print(f"after {spacing} s asleep: pipe hop p50 {pct(hop, 50):.3f} ms "
              f"p95 {pct(hop, 95):.3f} ms; encode p50 {pct(enc, 50):.0f} µs "
              f"p95 {pct(enc, 95):.0f} µs")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
