"""A lecture as the lab would report it, for the recording's tests: a server,
clients each served by a worker, echoes, exits, reaping out of order — with
pids the way a kernel gives them (never two live processes with one pid;
reused only once reaped). ``tests/scenarios.py``'s scenarios each stand alone
and share pids between them, so they are not one session end to end.
"""

import random

from tests.scenarios import DASH, SERVER, ev, exit_and_reap, lifecycle


def lecture(clients=30, seed=7, t0=1000.0):
    """Events of a lecture with *clients* clients: each connects, its worker
    starts, one to three echoes, the client closes, the worker exits; zombies
    are reaped in a shuffled order (a teacher joining them one by one), so
    reaping order is not creation order."""
    rnd = random.Random(seed)
    t = t0
    events = [*lifecycle("server-1", SERVER, DASH, role="server", start_method="fork"),
              ev("listening", pid=SERVER, host="127.0.0.1", port=8088)]
    for e in events:
        e["t"] = t
    zombies = []
    for i in range(1, clients + 1):
        client, worker = 300 + 2 * i, 301 + 2 * i
        peer = ["127.0.0.1", 40000 + i]
        t += 0.05
        batch = [*lifecycle(f"client-{i}", client, DASH, role="client"),
                 ev("connected", pid=client, local=peer, server=["127.0.0.1", 8088]),
                 ev("accepted", pid=SERVER, peer=peer),
                 *lifecycle(f"server-1/worker-{i}", worker, SERVER, peer=peer,
                            style="target")]
        for e in batch:
            e["t"] = t
        events += batch
        for n in range(rnd.randint(1, 3)):
            t += 0.01
            rtt = round(rnd.uniform(0.1, 2.0), 3)
            events.append(ev("served", t=t - rtt / 2000, pid=worker, count=1, bytes=5,
                             text="HELLO"))
            events.append(ev("echo", t=t, pid=client, text=f"hello {n}", reply=f"HELLO {n}",
                             rtt_ms=rtt, local=peer))
        t += 0.02
        events += [ev("client_closed", t=t, pid=client),
                   ev("conn_closed", t=t, pid=worker, peer=peer),
                   ev("exited", t=t, pid=client, uid=f"client-{i}", exitcode=0, by=DASH),
                   ev("exited", t=t, pid=worker, uid=f"server-1/worker-{i}", exitcode=0,
                      by=SERVER)]
        zombies += [(f"client-{i}", client, DASH), (f"server-1/worker-{i}", worker, SERVER)]
        if rnd.random() < 0.6 and zombies:
            uid, pid, parent = zombies.pop(rnd.randrange(len(zombies)))
            t += 0.01
            events.append(exit_and_reap(uid, pid, parent, t=t)[1])
    rnd.shuffle(zombies)
    for uid, pid, parent in zombies[: len(zombies) // 2]:   # the rest stay zombies
        t += 0.01
        events.append(exit_and_reap(uid, pid, parent, t=t)[1])
    return events
