"""The {% load live %} library."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from django.template import Context, Template

import live
from live import registry

pytestmark = pytest.mark.django_db


class Buy(live.OptimisticMixin, live.Component):
    optimistic: ClassVar[dict[str, Any]] = {"add": {"this": {"text": "Adding…", "disabled": True}}}
    renderer = live.MockRenderer(lambda ctx: "")

    def get_optimistic_patch(self, event: str, payload: Any) -> dict[str, Any] | None:
        if event == "pick":
            return {"this": {"class_add": "selected"}, ".size": {"text": str(payload["size"])}}
        return super().get_optimistic_patch(event, payload)


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    live.register("t_buy")(Buy)
    yield
    registry.unregister("t_buy")


def render(source: str, **context: Any) -> str:
    return Template("{% load live %}" + source).render(Context(context))


def test_live_event_renders_attributes_and_the_optimistic_patch() -> None:
    component = Buy()
    html = render('<button {% live_event "pick" size="M" %}>', component=component)
    assert html == (
        '<button ws-send live-event="pick" hx-vals="{&quot;size&quot;: &quot;M&quot;}" '
        'data-live-optimistic="{&quot;this&quot;: {&quot;class_add&quot;: &quot;selected&quot;}, '
        '&quot;.size&quot;: {&quot;text&quot;: &quot;M&quot;}}">'
    )
    html = render('<button {% live_event "add" %}>', component=component)
    assert "Adding\\u2026" in html
    assert render('{% live_event "search" trigger="input changed delay:400ms" %}') == (
        'ws-send live-event="search" hx-trigger="input changed delay:400ms"'
    )


def test_user_strings_in_live_event_are_escaped() -> None:
    html = render('{% live_event "x" q=q %}', q='"><script>alert(1)</script>')
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_invalid_optimistic_patch_names_the_bad_key() -> None:
    from live.optimistic import check_patch

    with pytest.raises(
        ValueError,
        match=re.escape(
            "Unknown optimistic change 'colour' for 'this'; valid "
            "changes: attr, class_add, class_remove, disabled, hidden, text."
        ),
    ):
        check_patch({"this": {"colour": "red"}})


def test_component_filters_and_attrs() -> None:
    component = Buy()
    component.state = {"count": 3}
    component.errors = {"email": "Bad email"}
    assert render("{{ c|component_state:'count' }}", c=component) == "3"
    assert render("{{ c|component_state }}", c=component) == "{&quot;count&quot;: 3}"
    assert render("{{ c|component_errors:'email' }}", c=component) == "Bad email"
    assert render("{% component_attrs c %}", c=component) == (
        f'id="{component.component_id}" data-live-id="{component.component_id}" '
        'data-live-name="t_buy"'
    )
    assert render("{% component_attrs %}") == ""
    assert render("<body {% live_connect %}>") == '<body hx-ext="ws" ws-connect="/ws/live/">'


def test_live_component_without_a_request() -> None:
    html = render('{% live_component "t_buy" %}')
    assert html.startswith('<div id="lv')
    assert 'data-live-url="/live/components/t_buy/"' in html
