"""The code view's data (static/tutorial/): the tutorial's two listings are the
seed's text exactly, and points.json puts every point of the schema on a line
of them, with its notes in both catalogues and its lab lines in the lab's
source (what /api/code serves)."""

import json
from pathlib import Path

import pytest

from app.model import schema
from app.web.controller import Controller

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "static" / "tutorial"
SEED = ROOT.parent / "shared" / "seed" / "000_7d8f6f4ece7a5e4f.txt"
DATA = json.loads((TUTORIAL / "points.json").read_text("utf-8"))


def listing(name):
    return (TUTORIAL / DATA["listings"][name]["file"]).read_text("utf-8")


def seed_listings():
    """Section 4's two listings as the seed prints them: the 服务端 code runs
    from the line after the section title's blank line to the caption 服务端,
    the 客户端 code from there to the caption 客户端."""
    lines = SEED.read_text("utf-8").split("\n")
    start = lines.index("4.多进程实现套接字并发通信") + 2
    server_end = lines.index("服务端")
    client_end = lines.index("客户端")
    return {"server": "\n".join(lines[start:server_end]) + "\n",
            "client": "\n".join(lines[server_end + 1:client_end]) + "\n"}


@pytest.mark.skipif(not SEED.exists(), reason="../shared/seed is not on this machine")
def test_the_listings_are_the_seeds_text_exactly():
    seed = seed_listings()
    assert listing("server") == seed["server"]
    assert listing("client") == seed["client"]
    assert seed["server"].startswith("from socket import *\nfrom multiprocessing import Process\n")
    assert seed["client"].rstrip().endswith("c.close()")


def test_every_point_of_every_role_is_on_a_line_with_code():
    for role in ("server", "worker", "client"):
        wanted = set(schema.POINTS[role]) | set(schema.POINTS["any"])
        assert set(DATA["points"][role]) == wanted, role
        for point, where in DATA["points"][role].items():
            lines = listing(where["listing"]).rstrip("\n").split("\n")
            assert 1 <= where["line"] <= len(lines), (role, point)
            assert lines[where["line"] - 1].strip(), f"{role}.{point} is on an empty line"


def test_the_lab_notes_are_in_both_catalogues_and_their_lines_in_the_lab():
    code = Controller.code()
    for lang in ("zh-CN", "en"):
        messages = json.loads((ROOT / "static" / "i18n" / f"{lang}.json").read_text("utf-8"))
        for spec in DATA["listings"].values():
            assert spec["caption"] in messages, (lang, spec["caption"])
        for name, lines in DATA["lab"].items():
            for n, diff in lines.items():
                assert diff["note"] in messages, (lang, name, n)
    for name, lines in DATA["lab"].items():
        for n, diff in lines.items():
            if "piece" in diff:
                assert diff["piece"] in code, (name, n)
                assert diff["find"] in code[diff["piece"]], (name, n, diff["find"])
