"""The message catalogues agree with each other and with the backend: same keys
in both languages, same placeholders, and a translation for every error code
the backend can send and every event type a lab process can report."""

import json
import re
from pathlib import Path

import pytest

from app.model import schema

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("zh-CN", "en")
# Codes the page itself produces when the server cannot answer.
PAGE_CODES = {"ack_timeout", "offline", "unknown"}
CODE_PATTERNS = (
    re.compile(r'LabError\(\s*\d+\s*,\s*"([a-z_]+)"'),
    re.compile(r'"code"\s*:\s*"([a-z_]+)"'),
    re.compile(r'get\("code",\s*"([a-z_]+)"\)'),
)


def catalogue(lang):
    return json.loads((ROOT / "static" / "i18n" / f"{lang}.json").read_text("utf-8"))


def backend_error_codes():
    codes = set()
    for path in (ROOT / "app").rglob("*.py"):
        text = path.read_text("utf-8")
        for pattern in CODE_PATTERNS:
            codes.update(pattern.findall(text))
    return codes


def backend_strings(pattern, under="app"):
    found = set()
    for path in (ROOT / under).rglob("*.py"):
        found.update(re.findall(pattern, path.read_text("utf-8")))
    return found


def bad_input_reasons():
    """``params.reason`` of every bad_input the controller can answer."""
    return backend_strings(r'reason="([a-z_]+)"')


def via_kinds():
    """``via_kind`` of every ``reaped`` event (passed as ``via_kind=`` or ``kind=``)."""
    return backend_strings(r'(?:\bvia_|\b)kind="([a-z_]+)"', under="app/lab")


def page_via_kinds():
    text = (ROOT / "static" / "js" / "format.js").read_text("utf-8")
    listed = re.search(r"VIA_KINDS = \[([^\]]*)\]", text).group(1)
    return set(re.findall(r'"([a-z_]+)"', listed))


def event_types():
    return set(schema.EVENTS)


def placeholders(message):
    return set(re.findall(r"\{(\w+)\}", message))


def test_both_languages_have_the_same_keys_and_agreeing_placeholders():
    zh, en = catalogue("zh-CN"), catalogue("en")
    assert set(zh) == set(en), set(zh) ^ set(en)
    for key in zh:
        assert zh[key].strip() and en[key].strip(), f"empty message {key}"
        # A translation may leave a placeholder out (English needs no role word
        # before "worker-1"), but the two may not name different ones: a typo.
        a, b = placeholders(zh[key]), placeholders(en[key])
        assert a <= b or b <= a, f"{key}: {a} vs {b}"


@pytest.mark.parametrize("lang", LANGS)
def test_every_backend_error_code_is_translated(lang):
    codes = backend_error_codes()
    assert {"bad_input", "wrong_state", "join_would_block", "max_clients"} <= codes  # the scan works
    messages = catalogue(lang)
    missing = sorted(c for c in codes | PAGE_CODES if f"error.{c}" not in messages)
    assert not missing, f"{lang}: no error.<code> for {missing}"


@pytest.mark.parametrize("lang", LANGS)
def test_every_event_type_has_a_name_and_a_summary(lang):
    types = event_types()
    assert {"created", "started", "exited", "reaped"} <= types
    messages = catalogue(lang)
    for t in types:
        assert f"event.{t}" in messages, f"{lang}: event.{t}"
        summaries = [f"summary.{t}"] if t != "reaped" else ["summary.reaped.join",
                                                             "summary.reaped.implicit"]
        for key in summaries:
            assert key in messages, f"{lang}: {key}"


@pytest.mark.parametrize("lang", LANGS)
def test_every_field_of_p_has_a_label(lang):
    messages = catalogue(lang)
    missing = sorted(f for f in schema.PROCESS if f"field.{f}" not in messages)
    assert not missing, f"{lang}: no field.<name> for {missing}"


@pytest.mark.parametrize("lang", LANGS)
def test_states_roles_and_exit_codes_are_explained(lang):
    messages = catalogue(lang)
    for state in schema.STATES:
        assert f"state.{state}" in messages and f"state_hint.{state}" in messages
    for role in ("dashboard", "server", "worker", "client", "helper"):
        assert f"role.{role}" in messages
    for key in ("exit.0", "exit.n", "exit.-15", "exit.-9", "exit.signal"):
        assert key in messages


@pytest.mark.parametrize("lang", LANGS)
def test_every_bad_input_reason_is_translated(lang):
    reasons = bad_input_reasons()
    assert {"pid_not_int", "text_empty", "start_method"} <= reasons   # the scan works
    messages = catalogue(lang)
    missing = sorted(r for r in reasons if f"bad_input.{r}" not in messages)
    assert not missing, f"{lang}: no bad_input.<reason> for {missing}"


@pytest.mark.parametrize("lang", LANGS)
def test_every_way_of_reaping_is_explained(lang):
    kinds = via_kinds()
    assert {"start", "join", "subreaper_waitpid", "daemon_exit", "forkserver"} <= kinds
    assert kinds <= page_via_kinds(), "static/js/format.js VIA_KINDS misses a via_kind"
    messages = catalogue(lang)
    for kind in kinds:
        for key in (f"reaped.kind.{kind}", f"summary.reaped.kind.{kind}",
                    f"code.reaped.kind.{kind}", f"explain.reaped.{kind}"):
            assert key in messages, f"{lang}: {key}"


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_no_key_is_written_twice(lang):
    """JSON keeps the last of two equal keys: a second entry would silently
    override the first when someone edits only one of them."""
    seen, twice = set(), []

    def pairs(items):
        for key, _ in items:
            (twice.append(key) if key in seen else seen.add(key))
        return dict(items)

    json.loads((ROOT / "static" / "i18n" / f"{lang}.json").read_text("utf-8"),
               object_pairs_hook=pairs)
    assert twice == []
