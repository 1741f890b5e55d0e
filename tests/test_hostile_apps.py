"""The apps' own handlers under hostile arguments: client errors, never server errors.

NUL characters (which PostgreSQL refuses in text), ids past the database's
integers, and ``self`` sent to a handler that takes any keyword.
"""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.utils.html import escape

from live.testing import LiveClient, LiveView
from live_shop.models import Profile, Review
from live_shop.testing import create_product

pytestmark = pytest.mark.django_db(transaction=True)

NULL = "Null characters are not allowed."
ADDRESS = {
    "full_name": "Alice Example",
    "address_line": "1 Market Street",
    "city": "Springfield",
    "postcode": "12345",
    "country": "United States",
}


async def test_null_characters_in_review_and_address_fields_are_invalid(user: Any) -> None:
    tee = await database_sync_to_async(create_product)()
    async with LiveClient(user=user) as client:
        reviews = await client.mount("reviews", product_id=tee.pk)
        checkout = await client.mount("checkout")
        cases: list[tuple[LiveView, str, dict[str, Any], str]] = [
            (reviews, "submit", {"rating": "5", "body": "Soft\x00 and warm"}, "body"),
            (reviews, "submit", {"rating": "5", "body": "ok!", "x\x00": ""}, "x\x00"),
            (checkout, "submit", {**ADDRESS, "city": "Spring\x00field"}, "city"),
            (checkout, "place_order", {**ADDRESS, "payment_token": "tok\x00"}, "payment_token"),
        ]
        for view, event_name, payload, field in cases:
            before = view.html
            frame = await client.send_event(view.id, event_name, payload)
            assert frame == {
                "type": "error",
                "id": view.id,
                "ref": frame["ref"],
                "code": "invalid_args",
                "message": f"Invalid arguments for {event_name!r}: {field}: {NULL}",
                "fields": {field: NULL},
            }
            assert (await view.resync())["html"] == before
        assert not await database_sync_to_async(Review.objects.exists)()
        assert not await database_sync_to_async(Profile.objects.exists)()
        await reviews.event("submit", rating="5", body="Soft and warm")
        assert "Thanks for your review!" in reviews


async def test_null_characters_in_admin_searches_and_edits_are_invalid(
    django_user_model: Any,
) -> None:
    def boss() -> Any:
        return django_user_model.objects.create_user(
            "root", "root@example.com", is_staff=True, is_superuser=True
        )

    root = await database_sync_to_async(boss)()
    async with LiveClient(user=root) as client:
        table = await client.mount("users")
        form = await client.mount("user_edit", pk=root.pk)
        cases: list[tuple[LiveView, str, dict[str, Any], str]] = [
            (table, "search", {"query": "ro\x00ot"}, "query"),
            (
                form,
                "submit",
                {"username": "root", "first_name": ["A", {"b": "\x00"}]},
                "first_name",
            ),
        ]
        for view, event_name, payload, field in cases:
            before = view.html
            frame = await client.send_event(view.id, event_name, payload)
            assert (frame["code"], frame["fields"]) == ("invalid_args", {field: NULL})
            assert (await view.resync())["html"] == before
        await table.event("search", query="root")
        assert "1 user matching &ldquo;root&rdquo;" in table


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        pytest.param(
            {"product_id": 2**70, "size": "S"},
            f"No product with id {2**70}.",
            id="product-id-past-the-database",
        ),
        pytest.param(
            {"product_id": -(2**70), "size": "S"},
            f"No product with id {-(2**70)}.",
            id="product-id-below-the-database",
        ),
        pytest.param({"product_id": "{pk}", "size": "S" * 5000}, None, id="huge-size"),
    ],
)
async def test_out_of_range_ids_in_a_cart_are_refused_not_a_server_error(
    user: Any, payload: dict[str, Any], error: str | None
) -> None:
    tee = await database_sync_to_async(create_product)()
    if payload["product_id"] == "{pk}":
        payload = {**payload, "product_id": tee.pk}
        error = f"Unknown size {'S' * 20!r}; available sizes: S, M, XL."
    async with LiveClient(user=user) as client:
        cart = await client.mount("cart")
        frame = await client.send_event(cart.id, "add_item", payload)
        assert frame["type"] in ("diff", "full")
        assert f'<p class="error" role="alert">{escape(str(error))}</p>' in cart.html
        assert "<span data-cart-count>0</span>" in cart.html
        await cart.event("add_item", product_id=tee.pk, size="S")
        assert '<p class="error" role="alert"></p>' in cart.html
        assert "<span data-cart-count>1</span>" in cart.html


async def test_self_in_a_checkout_payload_is_invalid_not_a_server_error(user: Any) -> None:
    async with LiveClient(user=user) as client:
        checkout = await client.mount("checkout")
        before = checkout.html
        frame = await checkout.event("place_order", self="x", payment_token="tok")
        assert frame == {
            "type": "error",
            "id": checkout.id,
            "ref": frame["ref"],
            "code": "invalid_args",
            "message": "Invalid arguments for 'place_order': self: Unexpected argument",
            "fields": {"self": "Unexpected argument"},
        }
        assert checkout.html == before
        assert (await checkout.resync())["html"] == before
