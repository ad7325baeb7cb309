"""The echo server speaks the tutorial's protocol: byte-exact data.upper()."""

import os
import shutil
import socket
import subprocess
import sys

import pytest

from tests.helpers import wait_until

HERE = os.path.dirname(os.path.dirname(__file__))


def test_the_tutorials_own_client_works(live_app, tmp_path):
    port = live_app.echo_address[1]
    with open(os.path.join(HERE, "tutorial_client.py"), encoding="utf-8") as f:
        source = f.read()
    script = tmp_path / "client.py"
    script.write_text(source.replace("8088", str(port)), encoding="utf-8")
    # input() ends with EOFError after the last line: that is the tutorial's
    # client running out of input, not a failure of the server.
    out = subprocess.run(check=False, args=[sys.executable, str(script)], input="hello 你好\n\nabc\n",
                         capture_output=True, text=True, timeout=20)
    assert out.stdout.splitlines()[:2] == [">>: HELLO 你好", ">>: >>: ABC"]


@pytest.mark.skipif(shutil.which("nc") is None, reason="nc is not installed")
def test_nc_gets_its_line_back_in_upper_case(live_app):
    host, port = live_app.echo_address
    out = subprocess.run(check=False, args=["nc", "-q", "1", host, str(port)], input=b"hello nc\n",
                         capture_output=True, timeout=20)
    assert out.stdout == b"HELLO NC\n"


def roundtrip(address, data):
    with socket.create_connection(address, timeout=10) as s:
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            chunk = s.recv(65536)
            assert chunk, "server closed early"
            got += chunk
        return got


def test_replies_are_byte_exact_upper_even_when_not_utf8(live_app):
    data = b"\xff\xfe abc \xe4\xbd\xa0\xe5\xa5\xbd xyz"
    assert roundtrip(live_app.echo_address, data) == data.upper()


def test_long_messages_cross_many_recv_1024_calls(live_app):
    data = (b"forkscope " * 700)[:7000]
    assert roundtrip(live_app.echo_address, data) == data.upper()
    # one recv(1024) -> send() per chunk, each counted (in coalesced events)
    wait_until(lambda: sum(e.get("count", 0) for e in live_app.api.events()
                           if e["type"] == "served") >= 7, message="7 rounds served")
    served = [e for e in live_app.api.events() if e["type"] == "served"]
    assert sum(e["bytes"] for e in served) == len(data)
    assert len(served) < 7  # coalesced: not one event per recv()


def test_each_connection_gets_its_own_worker_process(live_app):
    conns = [socket.create_connection(live_app.echo_address) for _ in range(3)]
    try:
        for s in conns:
            s.sendall(b"x")
            assert s.recv(1) == b"X"
        workers = live_app.api.processes(role="worker", state="running")
        server = live_app.api.processes(role="server")[0]
        assert len(workers) == 3
        assert {w["ppid"] for w in workers} == {server["pid"]}
        peers = {tuple(w["peer"]) for w in workers}
        assert peers == {s.getsockname() for s in conns}
    finally:
        for s in conns:
            s.close()
