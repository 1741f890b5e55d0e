"""The tour in headless Chromium: socket, morph, optimistic UI, and the HTTP fallback."""

from __future__ import annotations

import re
from typing import Any

import pytest

from live.demo.models import Person
from live.demo.seed import seed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

JOINED = "() => Object.values(window.live.components).every((c) => c.html !== null)"


def open_tour(page: Any, url: str) -> None:
    page.goto(url + "/")
    page.wait_for_function(JOINED)


def test_click_and_type_over_the_socket(daphne_server: Any, page: Any) -> None:
    seed()
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(str(f))))
    open_tour(page, daphne_server.url)
    assert page.evaluate("window.live.mode") == "ws"
    counter = page.locator(".counter")
    counter.get_by_role("button", name="Increment").click()
    counter.get_by_role("button", name="Increment").click()
    page.wait_for_function("document.querySelector('.counter output').textContent === '2'")
    # Typing: results narrow while the caret and the typed text stay put.
    search = page.get_by_label("Search people")
    search.click()
    search.type("person1", delay=30)
    page.wait_for_function("document.querySelector('.people .total').textContent === '111 people'")
    assert search.input_value() == "person1"
    assert page.evaluate("document.activeElement.name") == "query"
    assert page.evaluate("document.activeElement.selectionStart") == len("person1")
    rows = page.locator("tr[id^=person-]")
    assert rows.count() == 25
    # A toggle sends a small diff, not the table.
    first = rows.first
    person_id = int((first.get_attribute("id") or "").split("-")[1])
    before = Person.objects.get(pk=person_id).active
    frames.clear()
    first.get_by_role("button").click()
    expected = "inactive" if before else "active"
    page.wait_for_function(
        f"document.querySelector('#person-{person_id} .badge').textContent === '{expected}'"
    )
    assert Person.objects.get(pk=person_id).active is not before
    diffs = [f for f in frames if '"type":"diff"' in f]
    assert diffs
    assert all(len(f.encode()) < 400 for f in diffs)


def test_focused_input_keeps_its_value_while_a_patch_lands(
    daphne_server: Any, browser: Any, page: Any
) -> None:
    seed()
    open_tour(page, daphne_server.url)
    search = page.get_by_label("Search people")
    search.click()
    search.type("Ada", delay=20)
    page.wait_for_function("document.querySelector('.people .total').textContent !== '200 people'")
    # Another viewer toggles a row: a diff lands in this table while the user types.
    other = browser.new_context().new_page()
    open_tour(other, daphne_server.url)
    row = other.locator("tr[id^=person-]").first
    row_id = row.get_attribute("id")
    row.get_by_role("button").click()
    search.type(" Lov", delay=20)
    page.wait_for_function(
        f"document.querySelector('#{row_id}') === null || "
        f"document.querySelector('#{row_id} button').textContent.trim() !== ''"
    )
    assert search.input_value() == "Ada Lov"
    assert page.evaluate("document.activeElement.name") == "query"
    other.context.close()


def test_optimistic_update_is_instant_and_rolled_back_after_a_429(
    daphne_server: Any, page: Any
) -> None:
    open_tour(page, daphne_server.url)
    button = page.locator("button.like")
    assert button.inner_text() == "♥ 0"
    button.click()
    # The slow server has not answered yet; the patch is already there.
    assert button.inner_text() == "♥ 1"
    assert "pending" in (button.get_attribute("class") or "")
    page.wait_for_function("window.live.pending.size === 0")
    assert button.inner_text() == "♥ 1"
    assert "pending" not in (button.get_attribute("class") or "")
    for expected in ("♥ 2", "♥ 3"):
        button.click()
        page.wait_for_function(
            f"document.querySelector('button.like').textContent === '{expected}' && "
            "window.live.pending.size === 0"
        )
    before = button.evaluate("b => b.outerHTML")
    # The refusal comes back fast (the limit is checked before the slow handler), so
    # record every state the button goes through.
    page.evaluate(
        """() => {
          window.seen = [];
          const b = document.querySelector('button.like');
          new MutationObserver(() => window.seen.push(b.textContent)).observe(
            b, {childList: true, characterData: true, subtree: true});
        }"""
    )
    button.click()
    page.wait_for_function(
        "document.querySelector('.likes [data-live-error]').textContent === 'Too many requests'"
    )
    assert page.evaluate("window.seen") == ["♥ 4", "♥ 3"]
    assert button.evaluate("b => b.outerHTML") == before


@pytest.mark.parametrize("blocked", ["no-websocket", "refused"])
def test_the_same_page_works_over_http_when_sockets_are_blocked(
    daphne_server: Any, page: Any, blocked: str
) -> None:
    seed()
    if blocked == "no-websocket":
        page.add_init_script("delete window.WebSocket")
    else:
        page.route_web_socket(re.compile(r".*/ws/live/"), lambda ws: ws.close(code=1006))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
    page.goto(daphne_server.url + "/")
    page.wait_for_function("window.live.mode === 'http'", timeout=15_000)
    page.get_by_role("button", name="Increment").click()
    page.wait_for_function("document.querySelector('.counter output').textContent === '1'")
    page.get_by_label("Search people").fill("person19")
    page.wait_for_function("document.querySelector('.people .total').textContent === '11 people'")
    assert any(r.startswith("POST") and "/live/components/counter/" in r for r in requests)
    assert any(r.startswith("POST") and "/live/components/people/" in r for r in requests)


def test_a_page_on_the_http_fallback_sees_broadcasts_by_polling(
    daphne_server: Any, browser: Any, page: Any
) -> None:
    from playwright.sync_api import expect

    seed()
    page.add_init_script("delete window.WebSocket")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
    page.goto(daphne_server.url + "/")
    page.wait_for_function("window.live.mode === 'http'", timeout=15_000)
    watched = page.locator(".people tbody tr").first.get_by_role("button")
    before = watched.text_content()
    context = browser.new_context()
    other = context.new_page()
    open_tour(other, daphne_server.url)
    other.locator(".people tbody tr").first.get_by_role("button").click()
    # The fallback page asks every 5 s (HTTP_POLL_INTERVAL) and takes the new table.
    expect(watched).not_to_have_text(before or "", timeout=15_000)
    assert any(r.startswith("POST") and "/live/components/people/" in r for r in requests)
    # The counter follows no group: it is never polled.
    assert not any("/live/components/counter/" in r for r in requests)
    context.close()
