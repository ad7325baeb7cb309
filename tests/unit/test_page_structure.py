"""Who may touch what on the page (issue 10), read from the sources: d3 comes
in as an ES module, never a global or a classic script; only main.js writes
window.forkscope; no module resets another's cache; the tree's layout module
has no DOM in it; the tree composes no words itself (format.js does), and
every key a node's words use is in both catalogues."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "static" / "js"
VENDOR = ROOT / "static" / "vendor"


def source(name):
    return (JS / name).read_text("utf-8")


def page_modules():
    return sorted(JS.glob("*.js"))


def code_of(path):
    """A module's source without its comments (lines and line ends from //,
    block comments): what it does, not what it says."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text("utf-8"), flags=re.DOTALL)
    return "\n".join(re.sub(r"(^|\s)//.*$", "", line) for line in text.splitlines())


def test_no_module_reads_a_d3_global():
    users = [p.name for p in page_modules()
             if re.search(r"\bwindow\.d3\b|\bglobalThis\.d3\b", code_of(p))]
    assert not users
    importers = [p.name for p in page_modules()
                 if '"/static/vendor/d3.esm.min.js"' in p.read_text("utf-8")]
    assert "tree.js" in importers   # d3's drawing and zoom, as an ES module


def test_the_page_loads_no_classic_script():
    html = (ROOT / "templates" / "index.html").read_text("utf-8")
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all('type="module"' in tag for tag in scripts), scripts
    assert "d3" not in " ".join(scripts)


def test_d3_is_vendored_as_one_self_contained_es_module():
    bundle = (VENDOR / "d3.esm.min.js").read_text("utf-8")
    assert bundle.startswith("// d3 v7.9.2 ")
    assert re.search(r"\bexport\s*\{", bundle)
    # self-contained: no import of another module (a bare "d3-array" would not load)
    assert not re.search(r"\bimport\s*[\w{*]|\bimport\s*\(|\bfrom\s*['\"]", bundle)
    assert (VENDOR / "d3.LICENSE").read_text("utf-8").startswith("Copyright 2010-")
    assert (ROOT / "tools" / "vendor-d3.sh").exists()


# The pages' entry modules: the live dashboard's and /replay's. Each writes its
# own window.forkscope; no other module does.
ENTRY_MODULES = {"main.js", "replay.js"}


def test_only_the_entry_modules_touch_window_forkscope():
    others = [p.name for p in page_modules()
              if re.search(r"\bwindow\.forkscope\b", code_of(p)) and p.name not in ENTRY_MODULES]
    assert not others
    assert "onApplied" in source("sync.js")


def test_no_module_resets_another_modules_cache():
    # A module's last-drawn key is its own: main.js set details.lastKey = null
    # on a language change; Details sees the language in its own key.
    outside = {p.name: re.findall(r"\b(?!this\b)(\w+)\.(lastKey|lastDrawn)\s*=(?!=)",
                                  p.read_text("utf-8"))
               for p in page_modules()}
    assert not {name: found for name, found in outside.items() if found}


def test_the_layout_module_has_no_dom_and_no_selection():
    layout = source("tree-layout.js")
    code = code_of(JS / "tree-layout.js")
    for word in ("document", "window", "getComputedStyle", "select", "selectAll", "transition"):
        assert not re.search(rf"\b{word}\b", code), word
    assert "export function layoutTree" in layout


def test_the_tree_composes_no_words():
    tree = source("tree.js")
    imported = re.search(r'import \{([^}]*)\} from "./i18n.js"', tree)
    assert imported is None or not re.search(r"\bt\b", imported.group(1))
    assert not re.search(r"\bt\(\"", tree)


def test_every_key_the_nodes_words_use_is_in_both_catalogues():
    keys = set()
    for name in ("format.js", "tree.js", "tree-layout.js"):
        keys |= set(re.findall(r'\bt\(\s*"([\w.\-]+)"', source(name)))
    assert {"node.title", "node.select_title", "node.orphan_title", "node.client_said"} <= keys
    for lang in ("zh-CN", "en"):
        messages = json.loads((ROOT / "static" / "i18n" / f"{lang}.json").read_text("utf-8"))
        missing = sorted(keys - set(messages))
        assert not missing, f"{lang}: {missing}"


# -- time travel, the timeline and /replay (issue 14) -----------------------------------------
PURE = ("timeline-layout.js", "spans.js", "history.js", "player.js", "session-file.js")


@pytest.mark.parametrize("name", PURE)
def test_the_timeline_s_logic_has_no_dom(name):
    """Lanes, lifespans, the past, the play head and the file reader are pure:
    the views draw what they answer, tests call them with plain objects."""
    code = code_of(JS / name)
    for word in ("document", "window", "getComputedStyle", "selectAll", "requestAnimationFrame"):
        assert not re.search(rf"\b{word}\b", code), word


def test_the_replay_page_loads_no_socket_and_calls_no_lab():
    """/replay reads a file: no Socket.IO (no sync.js), no control module."""
    imports = set(re.findall(r'from "\./([\w-]+\.js)"', source("replay.js")))
    assert not imports & {"sync.js", "controls.js", "lab.js", "stepper.js", "truth.js", "access.js"}
    assert "socket.io" not in source("replay.js")
    html = (ROOT / "templates" / "replay.html").read_text("utf-8")
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts == ['<script type="module" src="/static/js/replay.js">']


def test_every_key_the_timeline_and_replay_use_is_in_both_catalogues():
    keys = set()
    for name in ("format.js", "timeline.js", "timetravel.js", "replay.js", "main.js"):
        keys |= set(re.findall(r'\bt\(\s*"([\w.\-]+)"', source(name)))
        # keys chosen by a condition (t(past ? "a" : "b")) and the keys' labels
        keys |= set(re.findall(r'"((?:timeline|past|replay|keys|notice|duration)\.[\w.]+)"',
                               source(name)))
    # a reader's refusals are worded by code: replay.error.<code>
    listed = re.search(r"CODES = \[([^\]]*)\]", source("session-file.js")).group(1)
    codes = set(re.findall(r'"([a-z_]+)"', listed))
    codes |= set(re.findall(r'new SessionError\("([a-z_]+)"', source("session-file.js")))
    assert {"too_large", "not_jsonl", "wrong_format", "wrong_version", "truncated", "seq_gap"} <= codes
    keys |= {f"replay.error.{code}" for code in codes | {"unknown"}}
    assert {"timeline.title", "past.bar", "past.live", "replay.play"} <= keys
    for lang in ("zh-CN", "en"):
        messages = json.loads((ROOT / "static" / "i18n" / f"{lang}.json").read_text("utf-8"))
        missing = sorted(keys - set(messages))
        assert not missing, f"{lang}: {missing}"
