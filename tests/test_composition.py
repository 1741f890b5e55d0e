"""compose(): one-call dispatch, and live children inside a live page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

import live
from live import registry
from live.testing import LiveClient, LiveView

pytestmark = pytest.mark.django_db(transaction=True)


class Product(live.Component):
    slots = ["reviews"]
    renderer = live.MockRenderer(
        lambda ctx: (
            f"<h1>{ctx['name']} x{ctx['qty']}</h1><aside>{ctx['slots'].get('reviews', '')}</aside>"
        )
    )

    def mount(self) -> None:
        self.state = {"name": f"Shoe {self.params['product_id']}", "qty": 1}

    def on_more(self) -> None:
        self.state["qty"] += 1


class Reviews(live.Component):
    subscriptions = ["reviews-{product_id}"]
    renderer = live.MockRenderer(
        lambda ctx: "<ul>" + "".join(f"<li>{r}</li>" for r in ctx["items"]) + "</ul>"
    )

    def mount(self) -> None:
        self.state = {"items": ["great"]}

    def on_post(self, text: str) -> None:
        self.state["items"].append(text)

    def on_posted(self, text: str) -> None:
        self.state["items"].append(text)


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    live.register("t_product")(Product)
    live.register("t_reviews")(Reviews)
    yield
    registry.unregister("t_product")
    registry.unregister("t_reviews")


def test_dispatch_renders_parent_and_children_in_one_call() -> None:
    product = live.compose(Product, params={"product_id": 7}, reviews=Reviews)
    assert product.dispatch()["html"] == "<h1>Shoe 7 x1</h1><aside><ul><li>great</li></ul></aside>"


def test_compose_rejects_unknown_slots() -> None:
    with pytest.raises(ValueError, match="Product has no slot 'footer'"):
        live.compose(Product, params={"product_id": 1}, footer="<p>x</p>")


async def test_children_stay_live_inside_a_live_page() -> None:
    from channels.db import database_sync_to_async

    product = live.compose(Product, params={"product_id": 7}, reviews=Reviews, mount=False)
    mounted = await database_sync_to_async(live.render_component)(None, product)
    page = str(mounted.root_html())
    ids = re.findall(
        r'data-live-id="(lv[0-9a-f]+)" data-live-name="(t_\w+)" data-live-token="([^"]+)"', page
    )
    assert [name for _, name, _ in ids] == ["t_product", "t_reviews"]
    assert "<li>great</li>" in page
    async with LiveClient() as client:
        parent = LiveView(client, ids[0][0], ids[0][2], "", 0)
        child = LiveView(client, ids[1][0], ids[1][2], "", 0)
        await client.join(parent, version=0)
        await client.join(child, version=0)
        # The parent's string holds an empty root for the child, never its content.
        assert (
            f'<div id="{child.id}" data-live-id="{child.id}" data-live-slot></div>' in parent.html
        )
        await child.event("post", text="comfy")
        assert child.html == "<ul><li>great</li><li>comfy</li></ul>"
        await parent.event("more")
        assert "x2" in parent.html
        assert "comfy" not in parent.html
        await live.broadcast("reviews-7", "posted", text="live!")
        await client.wait_for(child, "<li>live!</li>")
