"""User-controlled strings render inert: in first renders, in merged diffs and on the wire.

Usernames (user table, audit feed, edit form), search queries and shop reviews,
through the real consumer. Markup must arrive escaped, quotes must not leave
their attribute, template syntax stays text, and emoji arrive intact.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.utils.html import escape

from live.testing import LiveClient, LiveView
from live.types import Frame
from live_shop.testing import create_product

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()

HOSTILE = [
    pytest.param("<script>alert(1)</script>", id="script-tag"),
    pytest.param('"><img src=x onerror=alert(1)>', id="double-quote-breakout"),
    pytest.param("' onmouseover='x", id="single-quote-breakout"),
    pytest.param("{{ 7*7 }}", id="template-syntax"),
    # Family and rainbow flag (ZWJ sequences), a skin tone: unchanged by the NFKC
    # normalisation Django applies to usernames.
    pytest.param(
        "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 "
        "\U0001f3f3\ufe0f\u200d\U0001f308 \U0001f44d\U0001f3fd",
        id="emoji-zwj",
    ),
]


class Scan(HTMLParser):
    """Collect the tags, attributes and text of an HTML fragment (entities decoded)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def attr_values(self, name: str) -> list[str | None]:
        return [value for key, value in self.attrs if key == name]


def assert_inert(html: str) -> Scan:
    """Assert ``html`` holds no live script or image and no event-handler attribute."""
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<img" not in lowered
    scan = Scan(html)
    assert not {"script", "img"} & set(scan.tags)
    assert [name for name, _ in scan.attrs if name.startswith("on")] == []
    return scan


def assert_shown_as_text(html: str, value: str) -> None:
    """Assert ``value`` is in ``html`` escaped, and reads back intact as text."""
    scan = assert_inert(html)
    assert escape(value) in html
    assert value in "".join(scan.text)


def assert_wire_inert(frames: list[Frame], value: str) -> int:
    """Assert every HTML string and diff insertion sent holds no live markup; return how many."""
    pieces = []
    for frame in frames:
        if frame["type"] == "full":
            pieces.append(frame["html"])
        elif frame["type"] == "diff":
            pieces.extend(inserted for _, _, inserted in frame["ops"])
    for piece in pieces:
        lowered = piece.lower()
        assert "<script" not in lowered
        assert "<img" not in lowered
        if escape(value) != value:
            assert value not in piece
    return len(pieces)


async def same_as_server(view: LiveView) -> None:
    """Assert the HTML merged from diffs is exactly what the server renders now."""
    merged = view.html
    full = await view.resync()
    assert full["html"] == merged


def new_frames(view: LiveView, since: int) -> list[Frame]:
    return view.frames[since:]


@pytest.mark.parametrize("value", HOSTILE)
async def test_usernames_and_search_queries_in_the_user_table_and_audit_feed(value: str) -> None:
    def people() -> tuple[Any, Any]:
        actor = User.objects.create_user(f"{value} admin", "staff@example.com", is_staff=True)
        target = User.objects.create_user(value, "target@example.com", first_name=value)
        return actor, target

    actor, target = await database_sync_to_async(people)()
    async with LiveClient(user=actor) as client:
        table = await client.mount("users")
        assert_shown_as_text(table.html, value)
        assert_shown_as_text(table.html, f"{value} admin")
        assert_wire_inert(table.frames, value)

        # The query is echoed in the search field's value and in the total line.
        mark = len(table.frames)
        await table.event("search", query=value)
        scan = Scan(table.html)
        assert scan.attr_values("value") == [value]
        assert f"matching \u201c{value}\u201d" in "".join(scan.text)
        assert_shown_as_text(table.html, value)
        assert f'id="user-{target.pk}"' in table.html
        diffs = [f for f in new_frames(table, mark) if f["type"] == "diff"]
        assert diffs
        assert assert_wire_inert(new_frames(table, mark), value) >= 1
        await same_as_server(table)

        mark = len(table.frames)
        await table.event("search", query=f"{value} nobody")
        assert f"No user matches \u201c{value} nobody\u201d." in "".join(Scan(table.html).text)
        assert_shown_as_text(table.html, f"{value} nobody")
        assert Scan(table.html).attr_values("value") == [f"{value} nobody"]
        assert assert_wire_inert(new_frames(table, mark), value) >= 1

        # A toggle writes an audit entry naming both users; the feed gets it as a diff.
        feed = await client.mount("audit_log")
        mark = len(feed.frames)
        await table.event("search", query="")
        await table.event("toggle", user_id=target.pk, active=False)
        await client.wait_for(feed, "User deactivated")
        assert_shown_as_text(feed.html, f"{value} (#{target.pk})")
        assert_shown_as_text(feed.html, f"{value} admin")
        assert assert_wire_inert(new_frames(feed, mark), value) >= 1
        await same_as_server(feed)

        # A feed mounted now has the entry in its first render.
        fresh = await client.mount("audit_log")
        assert_shown_as_text(fresh.html, f"{value} (#{target.pk})")
        assert_wire_inert(fresh.frames, value)


@pytest.mark.parametrize("value", HOSTILE)
async def test_usernames_and_typed_values_in_the_edit_form(value: str) -> None:
    def people() -> tuple[Any, Any]:
        boss = User.objects.create_user("root", "root@example.com", is_staff=True)
        boss.is_superuser = True
        boss.save()
        target = User.objects.create_user(value, "target@example.com", last_name=value)
        return boss, target

    boss, target = await database_sync_to_async(people)()
    async with LiveClient(user=boss) as client:
        opened = await client.mount("user_edit", pk=target.pk)
        assert_shown_as_text(opened.html, f"Edit {value} (#{target.pk})")
        scan = Scan(opened.html)
        assert value in scan.attr_values("value")
        assert_wire_inert(opened.frames, value)

        form = await client.mount("user_edit")
        mark = len(form.frames)
        await form.event("open", user_id=target.pk)
        assert_shown_as_text(form.html, f"Edit {value} (#{target.pk})")
        assert Scan(form.html).attr_values("value").count(value) == 2
        await same_as_server(form)

        # A refused submission shows what was typed, still escaped.
        typed = {"username": f"{value}2", "email": "t@example.com", "first_name": value}
        await form.event("submit", **typed, last_name=value, is_active="on")
        scan = assert_inert(form.html)
        assert "Enter a valid username." in "".join(scan.text)
        assert f"{value}2" in scan.attr_values("value")
        assert scan.attr_values("value").count(value) == 2

        # A saved one renders the stored values, and the feed's summary names the old ones.
        feed = await client.mount("audit_log")
        await form.event(
            "submit", username="plain", email="t@example.com", first_name=value, last_name=value
        )
        await client.wait_for(feed, "User updated")
        scan = assert_inert(feed.html)
        assert f"{value} \u2192 plain" in "".join(scan.text)
        assert f"\u2014 \u2192 {value}" in "".join(scan.text)
        assert assert_wire_inert(feed.frames, value) >= 1
        await same_as_server(feed)
        scan = assert_inert(form.html)
        assert "Saved." in "".join(scan.text)
        assert scan.attr_values("value").count(value) == 2
        assert "Edit plain" in form.html
        assert assert_wire_inert(new_frames(form, mark), value) >= 3
        assert [f for f in new_frames(form, mark) if f["type"] == "diff"]
        await same_as_server(form)


@pytest.mark.parametrize("value", HOSTILE)
async def test_reviews_and_their_authors(value: str) -> None:
    def setup() -> tuple[Any, Any]:
        return create_product(), User.objects.create_user(value, "author@example.com")

    tee, author = await database_sync_to_async(setup)()
    async with LiveClient(user=author) as writer, LiveClient() as reader:
        mine = await writer.mount("reviews", product_id=tee.pk)
        theirs = await reader.mount("reviews", product_id=tee.pk)
        await mine.event("submit", rating="4", body=f"{value}\n{value}")
        assert "Thanks for your review!" in mine
        assert_shown_as_text(mine.html, value)
        # The reader gets it pushed, as a diff merged into the HTML it holds.
        await reader.wait_for(theirs, f"<strong>{escape(value)}</strong>")
        assert_shown_as_text(theirs.html, value)
        assert f"<p>{escape(value)}<br>{escape(value)}</p>" in theirs.html
        assert assert_wire_inert(theirs.frames, value) >= 1
        assert assert_wire_inert(mine.frames, value) >= 1
        assert [f for f in theirs.frames + mine.frames if f["type"] == "diff"]
        await same_as_server(theirs)
        await same_as_server(mine)

    async with LiveClient() as later:
        first = await later.mount("reviews", product_id=tee.pk)
        assert_shown_as_text(first.html, value)
        assert Scan(first.html).text.count(value) == 3
