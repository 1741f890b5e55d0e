"""The storefront's components: pure Python first, then through the real consumer."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from channels.db import database_sync_to_async

import live
from live.testing import LiveClient, make_component
from live_shop import carts, catalog
from live_shop.components import (
    CartComponent,
    CheckoutComponent,
    ProductComponent,
    ReviewsComponent,
)
from live_shop.models import Cart, Inventory, Order, Product, Profile, Review
from live_shop.testing import create_product, fill_cart

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tee() -> Product:
    """A 29.99 tee: S 10, M 4, XL sold out."""
    return create_product()


def stock(product: Product, size: str) -> int:
    return Inventory.objects.get(product=product, size=size).stock


def give_address(user: Any) -> None:
    Profile.objects.create(
        user=user,
        full_name="Alice Example",
        address_line="1 Market Street",
        city="Springfield",
        postcode="12345",
        country="United States",
    )


# Product ---------------------------------------------------------------------------


def test_product_mounts_with_sizes_and_nothing_selected(tee: Product, user: Any) -> None:
    product = make_component(ProductComponent, user=user, product_id=tee.pk)
    assert product.state == {
        "product_id": tee.pk,
        "name": "Everyday Tee",
        "brand": "Loom & Co",
        "price": "29.99",
        "description": "The everyday tee everyone talks about.",
        "image": "live_shop/img/tee.svg",
        "thumbnail": "live_shop/img/tee-thumb.svg",
        "sizes": [
            {"size": "S", "stock": 10},
            {"size": "M", "stock": 4},
            {"size": "XL", "stock": 0},
        ],
        "selected": "",
        "error": "",
        "message": "",
    }


def test_product_renders_stock_hints_and_disabled_sizes(tee: Product, user: Any) -> None:
    html = make_component(ProductComponent, user=user, product_id=tee.pk).render()
    assert "Only 4 left" in html
    assert "Only 10 left" not in html
    assert "Sold out" in html
    assert 'data-size="XL" disabled' in html


def test_add_to_cart_without_a_size_asks_for_one(tee: Product, user: Any) -> None:
    product = make_component(ProductComponent, user=user, product_id=tee.pk)
    product.handle_event("add_to_cart")
    assert product.state["error"] == "Please select a size first."
    assert not carts.for_user(user).items.exists()


@pytest.mark.parametrize(
    ("size", "error"),
    [
        pytest.param("XL", "Size XL is sold out.", id="sold-out"),
        pytest.param("XXL", "Unknown size 'XXL'; available sizes: S, M, XL.", id="unknown"),
    ],
)
def test_select_size_refuses_sizes_that_cannot_be_bought(
    tee: Product, user: Any, size: str, error: str
) -> None:
    product = make_component(ProductComponent, user=user, product_id=tee.pk)
    product.handle_event("select_size", {"size": size})
    assert product.state["error"] == error
    assert product.state["selected"] == ""


def test_select_size_then_add_to_cart(tee: Product, user: Any) -> None:
    product = make_component(ProductComponent, user=user, product_id=tee.pk)
    product.handle_event("select_size", {"size": "M"})
    assert product.state["selected"] == "M"
    product.handle_event("add_to_cart")
    assert product.state["message"] == "Added Everyday Tee (size M) to your cart."
    assert carts.summary(carts.for_user(user))["count"] == 1


def test_add_to_cart_never_passes_the_stock(tee: Product, user: Any) -> None:
    product = make_component(ProductComponent, user=user, product_id=tee.pk)
    product.handle_event("select_size", {"size": "M"})
    for _ in range(4):
        product.handle_event("add_to_cart")
    product.handle_event("add_to_cart")
    assert product.state["error"] == "Only 4 left in size M, and your cart has 4."
    assert carts.summary(carts.for_user(user))["count"] == 4


def test_product_optimistic_patches(tee: Product, user: Any) -> None:
    product = make_component(ProductComponent, user=user, product_id=tee.pk)
    assert product.get_optimistic_patch("select_size", {"size": "M"}) == {
        ".size-btn.selected": {"class_remove": "selected", "attr": {"aria-pressed": "false"}},
        "this": {"class_add": "selected", "attr": {"aria-pressed": "true"}},
        ".size-label": {"text": "M"},
        ".shop-error": {"text": ""},
    }
    assert product.get_optimistic_patch("add_to_cart", {}) == {
        "this": {"text": "Adding…", "disabled": True}
    }
    html = product.render()
    assert (
        'live-event="select_size" hx-vals="{&quot;size&quot;: &quot;M&quot;}" '
        'data-live-optimistic="{&quot;.size-btn.selected&quot;' in html
    )


def test_stock_changed_reloads_sizes_and_drops_a_sold_out_selection(
    tee: Product, user: Any
) -> None:
    product = make_component(ProductComponent, user=user, product_id=tee.pk)
    product.handle_event("select_size", {"size": "M"})
    Inventory.objects.filter(product=tee, size="M").update(stock=0)
    product.handle_event("stock_changed", {"product_id": tee.pk})
    assert product.state["sizes"][1] == {"size": "M", "stock": 0}
    assert product.state["selected"] == ""


def test_unknown_product_is_refused(user: Any) -> None:
    with pytest.raises(live.InvalidArguments, match=r"^No product with id 999$"):
        make_component(ProductComponent, user=user, product_id=999)


def test_product_render_is_cached_per_product_and_stock_changes_forget_it(
    tee: Product, user: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    render_component = live.render_component
    first = render_component(None, ProductComponent(params={"product_id": tee.pk}, user=user))
    with CaptureQueriesContext(connection) as queries:
        again = render_component(None, ProductComponent(params={"product_id": tee.pk}, user=user))
    assert len(queries) == 0
    assert again.html == first.html
    Inventory.objects.filter(product=tee, size="S").update(stock=3)
    catalog.stock_changed([tee.pk])
    fresh = render_component(None, ProductComponent(params={"product_id": tee.pk}, user=user))
    assert "Only 3 left" in fresh.html


# Cart ------------------------------------------------------------------------------


def test_cart_add_increment_and_totals(tee: Product, user: Any) -> None:
    cart = make_component(CartComponent, user=user)
    cart.handle_event("add_item", {"product_id": tee.pk, "size": "S"})
    cart.handle_event("add_item", {"product_id": str(tee.pk), "size": "S", "qty": "2"})
    [line] = cart.state["lines"]
    assert (line["name"], line["size"], line["price"], line["qty"], line["total"]) == (
        "Everyday Tee",
        "S",
        "29.99",
        3,
        "89.97",
    )
    assert cart.state["total"] == "89.97"
    assert cart.state["count"] == 3
    assert cart.params["cart_id"] == carts.for_user(user).pk


def test_cart_totals_add_up_across_lines(tee: Product, user: Any) -> None:
    runner = create_product("Trail Runner", "119.00", {"42": 2}, brand="Northpeak")
    cart = make_component(CartComponent, user=user)
    cart.handle_event("add_item", {"product_id": tee.pk, "size": "M", "qty": 3})
    cart.handle_event("add_item", {"product_id": runner.pk, "size": "42"})
    assert [line["total"] for line in cart.state["lines"]] == ["89.97", "119.00"]
    assert cart.state["total"] == "208.97"


def test_cart_remove_and_set_qty(tee: Product, user: Any) -> None:
    cart = make_component(CartComponent, user=user)
    cart.handle_event("add_item", {"product_id": tee.pk, "size": "S", "qty": 2})
    cart.handle_event("add_item", {"product_id": tee.pk, "size": "M"})
    s_line, m_line = (line["id"] for line in cart.state["lines"])
    cart.handle_event("set_qty", {"line_id": s_line, "qty": 5})
    assert cart.state["total"] == "179.94"
    cart.handle_event("set_qty", {"line_id": m_line, "qty": 0})
    assert [line["size"] for line in cart.state["lines"]] == ["S"]
    cart.handle_event("remove_item", {"line_id": s_line})
    assert cart.state["lines"] == []
    assert cart.state["total"] == "0.00"
    assert "Your cart is empty." in cart.render()


@pytest.mark.parametrize(
    ("event", "payload", "error"),
    [
        pytest.param(
            "add_item", {"size": "M", "qty": 5}, "Only 4 left in size M.", id="add-over-stock"
        ),
        pytest.param("add_item", {"size": "XL"}, "Size XL is sold out.", id="add-sold-out"),
        pytest.param(
            "add_item", {"size": "M", "qty": 0}, "Quantity must be at least 1.", id="zero"
        ),
    ],
)
def test_cart_refuses_more_than_the_stock(
    tee: Product, user: Any, event: str, payload: dict[str, Any], error: str
) -> None:
    cart = make_component(CartComponent, user=user)
    cart.handle_event(event, {"product_id": tee.pk, **payload})
    assert cart.state["error"] == error
    assert cart.state["lines"] == []


def test_set_qty_over_the_stock_keeps_the_quantity(tee: Product, user: Any) -> None:
    cart = make_component(CartComponent, user=user)
    cart.handle_event("add_item", {"product_id": tee.pk, "size": "M"})
    line_id = cart.state["lines"][0]["id"]
    cart.handle_event("set_qty", {"line_id": line_id, "qty": 9})
    assert cart.state["error"] == "Only 4 left in size M."
    assert cart.state["lines"][0]["qty"] == 1


def test_remove_item_optimistic_patch_hides_the_line_and_shows_the_new_total(
    tee: Product, user: Any
) -> None:
    cart = make_component(CartComponent, user=user)
    cart.handle_event("add_item", {"product_id": tee.pk, "size": "S", "qty": 3})
    cart.handle_event("add_item", {"product_id": tee.pk, "size": "M"})
    s_line = cart.state["lines"][0]["id"]
    assert cart.get_optimistic_patch("remove_item", {"line_id": s_line}) == {
        f'[data-line="{s_line}"]': {"hidden": True},
        "[data-cart-count]": {"text": "1"},
        "[data-cart-total]": {"text": "$29.99"},
    }
    assert cart.get_optimistic_patch("remove_item", {"line_id": 10**9}) is None
    assert cart.get_optimistic_patch("set_qty", {"line_id": s_line, "qty": 1}) is None


def test_anonymous_cart_comes_from_its_param(tee: Product) -> None:
    anonymous_cart = Cart.objects.create()
    cart = make_component(CartComponent, cart_id=anonymous_cart.pk)
    cart.handle_event("add_item", {"product_id": tee.pk, "size": "S"})
    assert anonymous_cart.items.count() == 1


def test_anonymous_cart_without_a_cart_is_lost() -> None:
    with pytest.raises(live.StateLost, match=r"^Your cart could not be found; reload the page\.$"):
        make_component(CartComponent)


def test_a_user_cannot_use_another_users_cart(tee: Product, user: Any, other_user: Any) -> None:
    bobs = carts.for_user(other_user)
    cart = make_component(CartComponent, user=user, cart_id=bobs.pk)
    cart.handle_event("add_item", {"product_id": tee.pk, "size": "S"})
    assert not bobs.items.exists()
    assert carts.for_user(user).items.count() == 1


# Checkout --------------------------------------------------------------------------


def test_checkout_requires_a_login() -> None:
    checkout = CheckoutComponent()
    with pytest.raises(live.NotAuthenticated, match=r"^Authentication required$"):
        checkout.check_permissions()


def test_checkout_places_the_order_and_confirms_it(tee: Product, user: Any) -> None:
    give_address(user)
    fill_cart(user, tee, "M", 3)
    checkout = make_component(CheckoutComponent, user=user)
    assert checkout.state["data"]["city"] == "Springfield"
    assert checkout.state["email"] == "alice@example.com"
    assert checkout.state["total"] == "89.97"
    checkout.handle_event("place_order", {"payment_token": "tok_ok"})
    order = Order.objects.get()
    assert checkout.state["order"] == {
        "number": order.number,
        "total": "89.97",
        "email": "alice@example.com",
    }
    assert checkout.state["lines"] == []
    assert f'Your order <strong class="order-number">{order.number}</strong> is confirmed.' in (
        checkout.render()
    )
    assert stock(tee, "M") == 1


def test_declined_payment_changes_nothing(tee: Product, user: Any) -> None:
    give_address(user)
    fill_cart(user, tee, "M", 2)
    checkout = make_component(CheckoutComponent, user=user)
    checkout.handle_event("place_order", {"payment_token": "tok_declined"})
    assert checkout.state["error"] == "Your card was declined."
    assert checkout.state["order"] is None
    assert checkout.state["count"] == 2
    assert stock(tee, "M") == 4
    assert not Order.objects.exists()


def test_checkout_validates_the_address_it_is_given(tee: Product, user: Any) -> None:
    fill_cart(user, tee, "S")
    checkout = make_component(CheckoutComponent, user=user)
    checkout.handle_event(
        "place_order",
        {
            "payment_token": "tok_ok",
            "full_name": "Alice",
            "address_line": "",
            "city": "Springfield",
            "postcode": "12345",
            "country": "US",
        },
    )
    assert checkout.state["error"] == "Please complete your shipping address."
    assert checkout.errors == {"address_line": "This field is required."}
    assert checkout.state["data"]["full_name"] == "Alice"
    assert not Order.objects.exists()


def test_checkout_saves_the_address_to_the_profile(user: Any) -> None:
    checkout = make_component(CheckoutComponent, user=user)
    checkout.handle_event(
        "submit",
        {
            "full_name": "Alice Example",
            "address_line": "1 Market Street",
            "city": "Springfield",
            "postcode": "12345",
            "country": "United States",
            "payment_token": "tok_ok",
        },
    )
    assert checkout.state["saved"] == "Address saved."
    assert Profile.objects.get(user=user).postcode == "12345"


def test_checkout_of_an_empty_cart(user: Any) -> None:
    give_address(user)
    checkout = make_component(CheckoutComponent, user=user)
    checkout.handle_event("place_order", {"payment_token": "tok_ok"})
    assert checkout.state["error"] == "Your cart is empty."


# Reviews ---------------------------------------------------------------------------


def test_reviews_post_validated_and_once_per_user(tee: Product, user: Any) -> None:
    reviews = make_component(ReviewsComponent, user=user, product_id=tee.pk)
    reviews.handle_event("submit", {"rating": "9", "body": "ok"})
    assert reviews.errors == {
        "rating": "Choose a rating from 1 to 5.",
        "body": "Write at least 3 characters.",
    }
    assert not Review.objects.exists()
    reviews.handle_event("submit", {"rating": "4", "body": "  Soft and warm.  "})
    review = Review.objects.get()
    assert (review.rating, review.body) == (4, "Soft and warm.")
    assert reviews.state["posted"] == "Thanks for your review!"
    html = reviews.render()
    assert "4.0 out of 5 · 1 review" in html
    assert "You have reviewed this product." in html
    reviews.handle_event("submit", {"rating": "5", "body": "Again!"})
    assert reviews.state["error"] == "You have already reviewed this product."


def test_anonymous_visitors_cannot_post_reviews(tee: Product) -> None:
    reviews = make_component(ReviewsComponent, product_id=tee.pk)
    assert "to write a review." in reviews.render()
    with pytest.raises(live.NotAuthenticated, match=r"^Log in to write a review\.$"):
        reviews.handle_event("submit", {"rating": "5", "body": "Great"})


# Over the socket -------------------------------------------------------------------


async def test_two_tabs_of_one_user_share_the_cart(user: Any) -> None:
    tee = await database_sync_to_async(create_product)()
    async with LiveClient(user=user) as one, LiveClient(user=user) as two:
        product = await one.mount("product", product_id=tee.pk)
        cart_one = await one.mount("cart")
        cart_two = await two.mount("cart")
        assert "Your cart is empty." in cart_two
        await product.event("select_size", size="M")
        frame = await product.event("add_to_cart")
        assert frame["type"] == "diff"
        assert "Added Everyday Tee (size M) to your cart." in product
        await one.wait_for(cart_one, "$29.99")
        await two.wait_for(cart_two, "Everyday Tee")
        line_id = (await database_sync_to_async(lambda: carts.summary(carts.for_user(user)))())[
            "lines"
        ][0]["id"]
        await cart_two.event("set_qty", line_id=line_id, qty="3")
        assert "<strong data-cart-total>$89.97</strong>" in cart_two
        await one.wait_for(cart_one, "<strong data-cart-total>$89.97</strong>")
        await cart_one.event("remove_item", line_id=line_id)
        await two.wait_for(cart_two, "Your cart is empty.")


async def test_one_user_buys_and_another_sees_the_stock_drop(user: Any, other_user: Any) -> None:
    tee = await database_sync_to_async(create_product)()
    await database_sync_to_async(give_address)(user)
    async with LiveClient(user=user) as buyer, LiveClient(user=other_user) as viewer:
        watching = await viewer.mount("product", product_id=tee.pk)
        assert "Only 4 left" in watching
        product = await buyer.mount("product", product_id=tee.pk)
        await product.event("select_size", size="M")
        await product.event("add_to_cart")
        checkout = await buyer.mount("checkout")
        assert "Place order · $29.99" in checkout
        await checkout.event("place_order", payment_token="tok_ok")
        assert "is confirmed." in checkout
        await viewer.wait_for(watching, "Only 3 left")
        await buyer.wait_for(product, "Only 3 left")


async def test_add_to_cart_is_rate_limited_on_the_socket(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from live import ratelimit

    # The limiter's clock stands still half way through a second: no window boundary.
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 6030.5))
    tee = await database_sync_to_async(create_product)(sizes={"S": 50})
    async with LiveClient(user=user) as client:
        product = await client.mount("product", product_id=tee.pk)
        await product.event("select_size", size="S")
        frames = [await product.event("add_to_cart") for _ in range(6)]
        assert [f["type"] for f in frames[:5]] == ["diff", "ack", "ack", "ack", "ack"]
        assert frames[5] == {
            "type": "error",
            "id": product.id,
            "ref": frames[5]["ref"],
            "code": "rate_limited",
            "message": "Too many requests",
            "retry_after": 1,
        }
    summary = await database_sync_to_async(lambda: carts.summary(carts.for_user(user)))()
    assert summary["count"] == 5


async def test_a_review_appears_live_for_everyone_viewing(user: Any) -> None:
    tee = await database_sync_to_async(create_product)()
    async with LiveClient(user=user) as author, LiveClient() as reader:
        mine = await author.mount("reviews", product_id=tee.pk)
        theirs = await reader.mount("reviews", product_id=tee.pk)
        assert "No reviews yet." in theirs
        await mine.event("submit", rating="5", body="Fits perfectly.")
        assert "Thanks for your review!" in mine
        await reader.wait_for(theirs, "Fits perfectly.")
        frame = await theirs.event("submit", rating="5", body="Me too")
        assert frame["code"] == "unauthenticated"
        assert frame["message"] == "Log in to write a review."


async def test_checkout_refuses_anonymous_sockets() -> None:
    async with LiveClient() as client:
        with pytest.raises(live.NotAuthenticated):
            await client.render("checkout")
