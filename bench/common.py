"""What every benchmark shares: the app as a subprocess, a recording Socket.IO
client, headless Chromium, load-generator subprocesses, percentiles, figures.

Everything a benchmark starts it also stops: the app gets SIGTERM and is waited
for (it reaps its own lab processes), load generators are waited for, clients
are disconnected.
"""

import contextlib
import itertools
import json
import os
import platform
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import psutil
import requests
import socketio

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
BANNER_TIMEOUT = 30.0
#: Run the app recording (into a temporary directory), as a teacher's does;
#: ``python -m bench --no-record`` sets it False, to measure what recording costs.
RECORD = True
STOP_TIMEOUT = 90.0


# -- numbers -------------------------------------------------------------------------------
def pct(values, p):
    """The p-th percentile (0-100) by linear interpolation; None if empty."""
    if not values:
        return None
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summary(values, unit="ms"):
    """n, p50, p95, p99, max (rounded) of a list of numbers."""
    if not values:
        return {"n": 0, "unit": unit, "p50": None, "p95": None, "p99": None, "max": None}
    return {"n": len(values), "unit": unit,
            **{f"p{p}": round(pct(values, p), 3) for p in (50, 95, 99)},
            "max": round(max(values), 3)}


def figure(name, value, unit, target=None, op=None, note=None):
    """One reported figure; ``met`` says if it meets its target (None: no target)."""
    met = None
    if target is not None and value is not None:
        met = value <= target if op == "<=" else value >= target
    return {"name": name, "value": None if value is None else round(value, 3), "unit": unit,
            "target": target, "op": op, "met": met, "note": note}


def wait_until(predicate, timeout, interval=0.02, message="condition"):
    """Poll *predicate* until truthy; raise TimeoutError after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


# -- the app under test --------------------------------------------------------------------
class AppProcess:
    """``python -m app --port 0 --echo-port 0 ARGS`` as a subprocess."""

    def __init__(self, *args):
        self.args = ["--port", "0", "--echo-port", "0", *map(str, args)]
        self.record_dir = None
        if not {"--record", "--no-record"} & set(self.args):
            if RECORD:  # as a teacher runs it, but never into the real home
                self.record_dir = tempfile.mkdtemp(prefix="forkscope-bench-rec-")
                self.args += ["--record", self.record_dir]
            else:
                self.args.append("--no-record")
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([PY, "-m", "app", *self.args], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read_stdout, daemon=True, name="app-stdout").start()
        try:
            url_line = self._line()
            echo_line = self._line()
            self.url = re.search(r"(http://\S+?)/?$", url_line.strip()).group(1)
            host, port = re.search(r"(\d+\.\d+\.\d+\.\d+):(\d+)", echo_line).groups()
        except Exception:
            self.stop()
            raise
        self.echo = (host, int(port))
        self.http = requests.Session()

    def _read_stdout(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _line(self):
        try:
            line = self.lines.get(timeout=BANNER_TIMEOUT)
        except queue.Empty:
            raise RuntimeError("the app printed no banner in time") from None
        if line is None:
            raise RuntimeError(f"the app exited: {self.stderr_tail()}")
        return line

    def stderr_tail(self, chars=2000):
        self.stderr.seek(0)
        return self.stderr.read()[-chars:]

    @property
    def pid(self):
        return self.proc.pid

    def get(self, path, **kw):
        r = self.http.get(self.url + path, timeout=60, **kw)
        r.raise_for_status()
        return r.json()

    def post(self, path, body=None, ok=(200, 201), **kw):
        r = self.http.post(self.url + path, json=body, timeout=60, **kw)
        if r.status_code not in ok:
            raise RuntimeError(f"POST {path}: {r.status_code} {r.text[:300]}")
        return r.json()

    def state(self):
        return self.get("/api/state")

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then wait: the app stops the echo server and every client and
        reaps them all. If it does not exit in time, kill it and what it left."""
        if self.proc.poll() is None:
            try:
                lab = psutil.Process(self.proc.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                lab = []
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                for p in lab:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        p.kill()
        with contextlib.suppress(Exception):
            self.http.close()
        self.stderr.close()
        if self.record_dir is not None:
            shutil.rmtree(self.record_dir, ignore_errors=True)
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class SeedServer:
    """``python -m bench.seed_server 0``: the tutorial's server on a free port."""

    def __init__(self):
        self.proc = subprocess.Popen([PY, "-m", "bench.seed_server", "0"], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        lines = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()),
                         daemon=True).start()
        try:
            line = lines.get(timeout=BANNER_TIMEOUT)
            host, port = re.search(r"(\d+\.\d+\.\d+\.\d+):(\d+)", line).groups()
        except (queue.Empty, AttributeError):
            self.stop()
            raise RuntimeError("the seed server did not start") from None
        self.address = (host, int(port))

    def stop(self, timeout=30):
        """SIGTERM: it closes its socket, terminates and joins its workers."""
        if self.proc.poll() is None:
            try:
                workers = psutil.Process(self.proc.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                workers = []
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.communicate()
                for p in workers:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        p.kill()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# -- a recording Socket.IO viewer ------------------------------------------------------------
def handle_inline(eio_client):
    """python-engineio's client starts a new thread for every message it
    receives (``_receive_packet`` -> ``_trigger_event('message', run_async=True)``):
    receipt times would include a thread start — seconds, with 100 viewers on
    two cores — and handlers could run out of order. Handle messages in the
    reader thread instead, as they arrive."""
    trigger = eio_client._trigger_event

    def inline(event, *args, **kwargs):
        kwargs.pop("run_async", None)
        return trigger(event, *args, **kwargs)

    eio_client._trigger_event = inline


class Recorder:
    """A python-socketio client (websocket transport) that stamps each event
    with ``time.time()`` on receipt (in the reader thread: ``handle_inline``).
    The server sends events in ``events`` messages (a list of consecutive
    events): each event of a message gets that message's receipt time."""

    def __init__(self, url, connect=True, inline=True):
        self.url = url
        self.cond = threading.Condition()
        self.snapshot = None
        self.events = []            # (event, received_at)
        self.messages = 0           # ``events`` messages received
        self.sio = socketio.Client(reconnection=False, handle_sigint=False)
        if inline:
            handle_inline(self.sio.eio)
        self.sio.on("snapshot", self._on_snapshot)
        self.sio.on("events", self._on_events)
        if connect:
            self.connect()

    def connect(self):
        self.sio.connect(self.url, transports=["websocket"], wait_timeout=20)

    def _on_snapshot(self, data):
        with self.cond:
            self.snapshot = data
            self.cond.notify_all()

    def _on_events(self, data):
        now = time.time()
        with self.cond:
            self.events.extend((event, now) for event in data)
            self.messages += 1
            self.cond.notify_all()

    def wait_for(self, predicate, timeout, message="condition"):
        """Wait until *predicate(self)* holds (checked on each arrival)."""
        with self.cond:
            if not self.cond.wait_for(lambda: predicate(self), timeout):
                raise TimeoutError(f"timed out after {timeout}s waiting for {message}")

    def last_seq(self):
        with self.cond:
            if self.events:
                return self.events[-1][0]["seq"]
            return self.snapshot["seq"] if self.snapshot else 0

    def received(self):
        with self.cond:
            return list(self.events)

    def close(self):
        disconnect_all([self])


def disconnect_all(clients, timeout=15):
    """Disconnect in parallel: one websocket close can wait 3 s for the
    Werkzeug server's close frame."""
    threads = [threading.Thread(target=c.sio.disconnect, daemon=True) for c in clients]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))


def latencies_ms(received, since_seq=None, until_seq=None, types=None):
    """event ``t`` -> receipt, in ms, for events in a seq range (inclusive)."""
    out = []
    for event, at in received:
        seq = event["seq"]
        if since_seq is not None and seq < since_seq:
            continue
        if until_seq is not None and seq > until_seq:
            continue
        if types and event.get("type") not in types:
            continue
        out.append((at - event["t"]) * 1000)
    return out


# -- headless Chromium -----------------------------------------------------------------------
# Records when the page's DOM last changed after each mutation batch: the DOM
# update that follows ``appliedAt`` (the page renders on the next animation frame).
DOM_OBSERVER = """
(() => {
  window.__benchDom = [];
  const start = () => new MutationObserver(() => {
    const a = window.__benchDom;
    a.push(performance.timeOrigin + performance.now());
    if (a.length > 50000) a.splice(0, 10000);
  }).observe(document.documentElement, {subtree: true, childList: true, attributes: true,
                                        characterData: true});
  if (document.documentElement) start(); else addEventListener('DOMContentLoaded', start);
})();
"""

RAF_INTERVALS = """
(ms) => new Promise((resolve) => {
  const stamps = [];
  const t0 = performance.now();
  function tick(now) {
    stamps.push(now);
    if (now - t0 < ms) requestAnimationFrame(tick); else resolve(stamps);
  }
  requestAnimationFrame(tick);
})
"""


def browser_available():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return os.path.exists(CHROMIUM)


@contextlib.contextmanager
def dashboard_page(url, timeout=30, query=""):
    """The dashboard in headless Chromium, connected and with its snapshot applied.
    *query* is added to the page's address (``truth=off``: no /api/truth polling)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 720})
            page = context.new_page()
            page.add_init_script(DOM_OBSERVER)
            page.goto(f"{url}/?{query}" if query else url, timeout=timeout * 1000)
            page.wait_for_selector("[data-connection='connected']", timeout=timeout * 1000)
            page.wait_for_function("() => window.forkscope && window.forkscope.appliedSeq > 0",
                                   timeout=timeout * 1000)
            yield page
            context.close()
        finally:
            browser.close()


def page_applied(page):
    """{seq: ms since the epoch} from ``window.forkscope.appliedAt``."""
    pairs = page.evaluate("() => Array.from(window.forkscope.appliedAt.entries())")
    return {int(seq): at for seq, at in pairs}


def page_dom_times(page):
    return page.evaluate("() => window.__benchDom.slice()")


def wait_page_seq(page, seq, timeout):
    # A function, not an expression: Playwright polls an expression with eval,
    # which the page's CSP (script-src 'self') refuses when the first check fails.
    page.wait_for_function("(seq) => window.forkscope.appliedSeq >= seq", arg=int(seq),
                           timeout=timeout * 1000)


def dom_latencies_ms(received, applied, dom_times, since_seq=None, until_seq=None):
    """(applied, dom) latencies in ms: event ``t`` -> the page applied it
    (``appliedAt``), and -> the first DOM mutation at or after that."""
    import bisect

    dom_times = sorted(dom_times)
    to_applied, to_dom = [], []
    for event, _ in received:
        seq = event["seq"]
        if (since_seq is not None and seq < since_seq) or (
                until_seq is not None and seq > until_seq) or seq not in applied:
            continue
        at = applied[seq]
        to_applied.append(at - event["t"] * 1000)
        i = bisect.bisect_left(dom_times, at)
        if i < len(dom_times):
            to_dom.append(dom_times[i] - event["t"] * 1000)
    return to_applied, to_dom


def fps_from_stamps(stamps):
    """Frames per second and interval percentiles from rAF timestamps (ms)."""
    if len(stamps) < 2:
        return {"fps": None, "frames": len(stamps)}
    intervals = [b - a for a, b in itertools.pairwise(stamps)]
    span = stamps[-1] - stamps[0]
    return {"fps": round((len(stamps) - 1) / span * 1000, 2), "frames": len(stamps),
            "interval_ms": summary(intervals)}


# -- load generators -------------------------------------------------------------------------
def pin_tree(pid, cpus):
    """Set the CPU affinity of process *pid* and of every descendant it has
    now; children forked later inherit it. *cpus*: a set of CPU numbers."""
    root = psutil.Process(pid)
    for p in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.cpu_affinity(sorted(cpus))


def run_load(mode, host, port, timeout=120, **options):
    """``python -m bench.load MODE ...`` in a subprocess; its JSON result."""
    args = [PY, "-m", "bench.load", mode, "--host", host, "--port", str(port)]
    for key, value in options.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError(f"load {mode} did not finish within {timeout}s") from None
    if proc.returncode != 0:
        raise RuntimeError(f"load {mode} failed ({proc.returncode}): {err[-2000:]}")
    return json.loads(out)


class LoadProcess:
    """A load generator started now and collected later (run alongside a measurement)."""

    def __init__(self, mode, host, port, **options):
        args = [PY, "-m", "bench.load", mode, "--host", host, "--port", str(port)]
        for key, value in options.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def result(self, timeout=120):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise RuntimeError(f"load did not finish within {timeout}s") from None
        if self.proc.returncode != 0:
            raise RuntimeError(f"load failed ({self.proc.returncode}): {err[-2000:]}")
        return json.loads(out)


# -- the machine -------------------------------------------------------------------------------
def machine():
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        free = subprocess.run(["free", "-h"], check=False, capture_output=True, text=True,
                              timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        free = ""
    mem = psutil.virtual_memory()
    return {"nproc": os.cpu_count(), "cpu_model": cpu,
            "mem_total_gb": round(mem.total / 2**30, 1),
            "mem_available_gb": round(mem.available / 2**30, 1), "free_h": free,
            "python": platform.python_version(), "platform": platform.platform(),
            "loadavg": [round(x, 2) for x in os.getloadavg()]}


def echo_once(sock, message):
    """Send *message* and read until its upper-cased echo is all back."""
    sock.sendall(message)
    got = 0
    while got < len(message):
        chunk = sock.recv(1024)
        if not chunk:
            raise ConnectionError("the echo server closed the connection")
        got += len(chunk)
