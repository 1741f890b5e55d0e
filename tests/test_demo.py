"""The tour: its page over HTTP, its components over the real socket, the demo command."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from live.demo.models import Person
from live.demo.seed import seed
from live.testing import LiveClient

pytestmark = pytest.mark.django_db(transaction=True)


def test_tour_page_renders_both_components_with_scripts() -> None:
    seed()
    html = Client().get("/").content.decode()
    assert 'hx-ext="ws" ws-connect="/ws/live/"' in html
    assert "/static/django_htmx/htmx-2.min.js" in html
    assert "/static/django_htmx/ext/hx-ws-2.min.js" in html
    assert "/static/live/live.js" in html
    assert html.count("data-live-token=") == 3
    assert len(re.findall(r'<tr id="person-\d+">', html)) == 25
    assert "200 people" in html


async def test_table_search_page_and_toggle_over_the_socket() -> None:
    from channels.db import database_sync_to_async

    await database_sync_to_async(seed)()
    async with LiveClient() as client:
        table = await client.mount("people")
        assert "Page 1 of 8" in table
        await table.event("page", page="99")
        assert "Page 8 of 8" in table
        await table.event("search", query="person19")
        assert "11 people" in table
        assert "Page 1 of 1" in table
        person = await database_sync_to_async(Person.objects.get)(email="person19@example.com")
        assert person.active
        frame = await table.event("toggle", person_id=str(person.pk))
        assert frame["type"] == "diff"
        assert sum(len(op[2]) for op in frame["ops"]) < 40
        await database_sync_to_async(person.refresh_from_db)()
        assert not person.active
        frame = await table.event("toggle", person_id=10**9)
        assert frame["fields"] == {"person_id": "No such person"}


async def test_a_toggle_reaches_another_viewer() -> None:
    from channels.db import database_sync_to_async

    await database_sync_to_async(seed)()
    one = await LiveClient().connect()
    two = await LiveClient().connect()
    a = await one.mount("people")
    b = await two.mount("people")
    first = re.search(r'<tr id="person-(\d+)">', a.html)
    assert first
    await a.event("toggle", person_id=first.group(1))
    row = re.search(rf'<tr id="person-{first.group(1)}">.*?</tr>', a.html, re.S)
    assert row
    await two.wait_for(b, row.group(0))
    await one.close()
    await two.close()


def test_livedemo_prepares_database_and_prints_logins() -> None:
    out = StringIO()
    call_command("livedemo", "--no-serve", "--port", "8123", stdout=out)
    text = out.getvalue()
    assert "admin / admin (superuser)" in text
    assert "staff / staff (staff)" in text
    assert "Serving on http://127.0.0.1:8123/" in text
    assert Person.objects.count() == 200


def test_counter_pure_python() -> None:
    from live.demo.components import Counter
    from live.testing import make_component

    counter: Any = make_component(Counter, start=3)
    counter.handle_event("increment", {"by": "2"})
    counter.handle_event("decrement")
    assert counter.state == {"count": 4}
    assert '<output class="count">4</output>' in counter.render()
