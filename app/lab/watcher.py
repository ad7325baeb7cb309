"""The dashboard's exit watcher: it sees its children exit and adopts orphans.

One thread waits on every sentinel the dashboard has — its own children's (the
server, clients), adopted orphans' pidfds, and those of an orphan's children —
plus a wake-up pipe for new ones. An exit is observed, never reaped (the
teacher clicks *join*). Between waits it looks for lab processes the kernel
re-parented to the dashboard, the lab's child subreaper (``app.lab.orphans``).
"""

import os
import threading
from multiprocessing.connection import wait

from app.lab.orphans import direct_children

ADOPTION_SCAN_INTERVAL = 0.5
# Roles whose adopted orphans the dashboard reaps as soon as they exit: nobody
# clicks join on a helper, and a fork-tree puzzle's tree has no zombies.
REAPED_AT_ONCE = ("helper", "puzzle")


class ExitWatcher:
    def __init__(self, children, orphans, lock, lab_process_info):
        """*lab_process_info(pid)* -> ``{uid, role, ppid, state}`` of a live lab
        process the registry knows, or None: how an orphan is recognised."""
        self.children = children
        self.orphans = orphans
        self.lock = lock
        self.lab_process_info = lab_process_info
        self.subreaper = False
        self.stopping = False
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._watch, name="lab-watch", daemon=True)

    def start(self, subreaper):
        self.subreaper = subreaper
        self._thread.start()

    def stop(self):
        """Called once every child is stopped: the thread ends when none is left."""
        self.stopping = True
        self.wake()
        self._thread.join(2)

    def wake(self):
        """A new sentinel to watch (a child was started)."""
        os.write(self._wake_w, b"x")

    def _watch(self):
        while not (self.stopping and not self.children.procs):
            watched = self.children.sentinels()
            adopted = self.orphans.sentinels()
            grandchildren = self.orphans.watched_sentinels()
            ready = wait([self._wake_r, *watched, *adopted, *grandchildren],
                         ADOPTION_SCAN_INTERVAL)
            for obj in ready:
                if obj == self._wake_r:
                    os.read(self._wake_r, 4096)
                elif obj in watched:
                    self.children.observe_exit(watched[obj])
                elif obj in adopted:
                    self._orphan_exited(adopted[obj])
                elif obj in grandchildren:
                    self.orphans.grandchild_exited(grandchildren[obj])
            if self.subreaper and not self.stopping:
                self.adopt_orphans()

    def adopt_orphans(self):
        """Children of ours in /proc that we did not start are orphans of the
        lab that the kernel re-parented to us (we are the subreaper)."""
        me = os.getpid()
        with self.lock:
            self.orphans.check_grandchildren()
            known = set(self.children.procs) | set(self.orphans.adopted)
            for pid in direct_children(me) - known:
                info = self.lab_process_info(pid)
                # a lab process whose recorded parent is not us has been re-parented;
                # a puzzle process says so itself (app/lab/puzzle.py), and it is
                # never multiprocessing's own helper
                if info is not None and (info["ppid"] != me or info["role"] == "puzzle"):
                    zombie = info["state"] == "zombie"
                    old = info["ppid"] if info["ppid"] != me else info.get("old_ppid")
                    if (self.orphans.adopt(pid, info["uid"], old, zombie=zombie)
                            and zombie and info["role"] in REAPED_AT_ONCE):
                        self.orphans.join(pid, 0)
            for orphan in list(self.orphans.adopted):
                for pid in direct_children(orphan):
                    info = self.lab_process_info(pid)
                    if info is not None:
                        self.orphans.watch(pid, info["uid"])

    def reap_stragglers(self, rounds=3):
        """Workers orphaned while stopping (a server that had to be killed)
        re-parent to us: adopt, stop and reap them too."""
        for _ in range(rounds):
            if self.subreaper:
                self.adopt_orphans()
            if not (self.orphans.adopted or self.orphans.watched):
                return
            self.orphans.stop_all()

    def _orphan_exited(self, pid):
        self.orphans.observe_exit(pid)
        info = self.lab_process_info(pid)
        if info is not None and info["role"] in REAPED_AT_ONCE:
            self.orphans.join(pid, 0)
