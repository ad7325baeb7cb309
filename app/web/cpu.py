"""How busy each CPU core is, and each lab process: concurrency and parallelism
on this machine, measured (a lesson's meter, ``GET /api/cpu``).

The tutorial: "并发:是伪并行,即看起来是同时运行。单个cpu+多道技术就可以实现并发";
"并行:同时运行,只有具备多个cpu才能实现并行". The meter shows which it is here:
per core, the share of the time since the last reading that it was busy
(``psutil.cpu_times(percpu=True)``, as ``psutil.cpu_percent(percpu=True)``
computes it, but from a baseline of our own: ``cpu_percent`` keeps one
baseline for the whole process, which every caller would reset for the
others); per lab process, its CPU time over the same wall time, and the core
it last ran on (``psutil.Process.cpu_num()``).

Readings are taken at most every ``MIN_INTERVAL`` seconds: a room of viewers
polling at once shares one reading instead of measuring microseconds.
"""

import threading
import time

import psutil

MIN_INTERVAL = 0.25


def busy_share(before, after):
    """Percent of the time between two ``cpu_times`` samples of one core that
    it was not idle (idle and iowait are idle)."""
    def idle(t):
        return t.idle + getattr(t, "iowait", 0.0)
    total = sum(after) - sum(before)
    if total <= 0:
        return 0.0
    return round(max(0.0, min(100.0, 100.0 * (1 - (idle(after) - idle(before)) / total))), 1)


class CpuMeter:
    def __init__(self):
        self.lock = threading.Lock()
        self.at = time.monotonic()
        self.cores = psutil.cpu_times(percpu=True)
        self.procs = {}        # pid -> (psutil.Process, its cpu seconds at self.at)
        self.reading = None

    def read(self, pids):
        """``{"cores", "percent": [per core], "interval", "processes": [{"pid",
        "percent", "core"}]}`` for the lab processes *pids* (those still there;
        a process's ``percent`` is null the first time it is seen)."""
        with self.lock:
            now = time.monotonic()
            if self.reading is not None and now - self.at < MIN_INTERVAL:
                return self.reading
            cores = psutil.cpu_times(percpu=True)
            interval = now - self.at
            percent = [busy_share(b, a) for b, a in zip(self.cores, cores, strict=False)]
            procs, seen = [], {}
            for pid in pids:
                entry = self._process(pid)
                if entry is None:
                    continue
                proc, before = entry
                try:
                    times = proc.cpu_times()
                    used = times.user + times.system
                    core = proc.cpu_num()
                except psutil.Error:
                    continue
                seen[pid] = (proc, used)
                # a process first seen now has no baseline yet: its share is unknown
                share = None if before is None or interval <= 0 else \
                    round(100.0 * (used - before) / interval, 1)
                procs.append({"pid": pid, "core": core, "percent": share})
            self.at, self.cores, self.procs = now, cores, seen
            self.reading = {"cores": len(percent), "percent": percent,
                            "interval": round(interval, 3), "processes": procs}
            return self.reading

    def _process(self, pid):
        """(psutil.Process, cpu seconds at the last reading or None), or None."""
        known = self.procs.get(pid)
        if known is not None:
            return known
        try:
            return psutil.Process(pid), None
        except psutil.Error:
            return None
