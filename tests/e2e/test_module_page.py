"""The module page serves the page's own modules: a pure one imports and runs."""

import pytest

pytestmark = pytest.mark.e2e


def test_a_page_module_imports_without_the_app(module_page):
    states = module_page.evaluate(
        "async () => (await import('/static/js/model.js')).STATES")
    assert states == ["created", "running", "zombie", "joined"]


def test_only_static_is_served(module_page, static_server):
    response = module_page.request.get(static_server + "/app/factory.py")
    assert response.status == 404
