"""Checkout: the order transaction, the payment gateway, cart merge at login, concurrency."""

from __future__ import annotations

import re
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.test import Client

from live_shop import carts, orders
from live_shop.models import Cart, CartItem, Inventory, Order, Product
from live_shop.payments import Charge, FakeGateway, PaymentError, get_gateway
from live_shop.testing import create_product, fill_cart
from tests.conftest import need

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "Alice Example\n1 Market Street\n12345 Springfield\nUnited States"


@pytest.fixture
def tee() -> Product:
    """A 29.99 tee: S 10, M 4, XL sold out."""
    return create_product()


def stock(product: Product, size: str) -> int:
    return Inventory.objects.get(product=product, size=size).stock


def place(user: Any, token: str = "tok_ok", gateway: Any = None) -> Order:
    return orders.place_order(user, payment_token=token, shipping_address=ADDRESS, gateway=gateway)


# Gateway ---------------------------------------------------------------------------


def test_fake_gateway_pays_with_tok_ok() -> None:
    gateway = FakeGateway()
    charge = gateway.charge(amount=Decimal("89.97"), token="tok_ok", description="Order 1")
    assert charge.amount == Decimal("89.97")
    assert charge.reference.startswith("fake_")
    assert gateway.charges == [charge]


@pytest.mark.parametrize(
    ("token", "message"),
    [
        pytest.param("tok_declined", "Your card was declined.", id="declined"),
        pytest.param(
            "tok_stolen",
            "Unknown payment token 'tok_stolen'; use one of: 'tok_ok', 'tok_declined'.",
            id="unknown",
        ),
    ],
)
def test_fake_gateway_refuses(token: str, message: str) -> None:
    with pytest.raises(PaymentError) as info:
        FakeGateway().charge(amount=Decimal("1.00"), token=token, description="Order 1")
    assert str(info.value) == message


def test_the_gateway_comes_from_settings(settings: Any) -> None:
    assert isinstance(get_gateway(), FakeGateway)
    settings.LIVE_SHOP_PAYMENT_GATEWAY = "tests.test_live_shop_checkout.OtherGateway"
    assert isinstance(get_gateway(), OtherGateway)


class OtherGateway(FakeGateway):
    """A gateway chosen in the settings."""


# Placing orders --------------------------------------------------------------------


def test_an_order_takes_the_stock_empties_the_cart_and_keeps_prices(
    tee: Product, user: Any
) -> None:
    runner = create_product("Trail Runner", "119.00", {"42": 2}, brand="Northpeak")
    fill_cart(user, tee, "M", 3)
    fill_cart(user, runner, "42")
    gateway = FakeGateway()
    order = place(user, gateway=gateway)
    assert order.total == Decimal("208.97")
    assert order.number == f"LS-{order.pk:06d}"
    assert order.email == "alice@example.com"
    assert order.shipping_address == ADDRESS
    assert order.payment_reference == gateway.charges[0].reference
    assert gateway.charges[0].amount == Decimal("208.97")
    assert [
        (line.product_name, line.size, line.unit_price, line.quantity, line.line_total)
        for line in order.lines.all()
    ] == [
        ("Everyday Tee", "M", Decimal("29.99"), 3, Decimal("89.97")),
        ("Trail Runner", "42", Decimal("119.00"), 1, Decimal("119.00")),
    ]
    assert (stock(tee, "M"), stock(runner, "42")) == (1, 1)
    assert not CartItem.objects.exists()


def test_a_declined_payment_rolls_everything_back(tee: Product, user: Any) -> None:
    fill_cart(user, tee, "M", 2)
    with pytest.raises(orders.CheckoutError, match=r"^Your card was declined\.$"):
        place(user, "tok_declined")
    assert stock(tee, "M") == 4
    assert not Order.objects.exists()
    assert carts.summary(carts.for_user(user))["count"] == 2


def test_a_failure_after_the_charge_refunds_it(
    tee: Product, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_cart(user, tee, "M")
    gateway = FakeGateway()

    save = Order.save

    def save_fails_after_the_charge(order: Order, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("update_fields") == ["payment_reference"]:
            raise RuntimeError("disk full")
        save(order, *args, **kwargs)

    monkeypatch.setattr(Order, "save", save_fails_after_the_charge)
    with pytest.raises(RuntimeError, match="disk full"):
        place(user, gateway=gateway)
    assert gateway.refunds == gateway.charges
    assert len(gateway.refunds) == 1
    assert stock(tee, "M") == 4


@pytest.mark.parametrize(
    ("in_stock", "message"),
    [
        pytest.param(0, "Sorry, Everyday Tee (size M) is sold out.", id="sold-out"),
        pytest.param(1, "Sorry, only 1 left of Everyday Tee (size M).", id="fewer"),
    ],
)
def test_an_order_never_takes_more_than_the_stock(
    tee: Product, user: Any, in_stock: int, message: str
) -> None:
    fill_cart(user, tee, "M", 2)
    Inventory.objects.filter(product=tee, size="M").update(stock=in_stock)
    gateway = FakeGateway()
    with pytest.raises(orders.CheckoutError) as info:
        place(user, gateway=gateway)
    assert str(info.value) == message
    assert gateway.charges == []
    assert stock(tee, "M") == in_stock
    assert CartItem.objects.count() == 1


def test_an_empty_cart_cannot_be_ordered(user: Any) -> None:
    with pytest.raises(orders.CheckoutError, match=r"^Your cart is empty\.$"):
        place(user)


# Carts -----------------------------------------------------------------------------


def add_over_http(client: Client, product: Product, size: str) -> None:
    """Select ``size`` and add it to the cart through the product endpoint, as the fallback does."""
    url = f"/shop/components/product/{product.pk}/"
    token = re.search(r'data-live-token="([^"]+)"', client.get(url).content.decode())
    assert token
    body: dict[str, Any] = {"token": token.group(1), "event": "select_size", "size": size}
    answer = client.post(url, body).json()
    body = {"token": answer["token"], "state": answer["state"], "event": "add_to_cart"}
    assert "to your cart." in client.post(url, body).json()["html"]


def test_the_anonymous_cart_is_merged_into_the_users_cart_at_login(tee: Product, user: Any) -> None:
    fill_cart(user, tee, "M", 3)
    client = Client()
    client.get("/shop/")
    add_over_http(client, tee, "M")
    anonymous = Cart.objects.get(user=None)
    carts.add(anonymous, carts.find_inventory(tee.pk, "M"), 1)
    carts.add(anonymous, carts.find_inventory(tee.pk, "S"), 1)
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw"})
    assert response.status_code == 302
    assert not Cart.objects.filter(pk=anonymous.pk).exists()
    summary = carts.summary(carts.for_user(user))
    # M is capped at its stock of 4; S is added.
    assert [(line["size"], line["qty"]) for line in summary["lines"]] == [("M", 4), ("S", 1)]
    assert carts.SESSION_KEY not in client.session


def test_the_same_cart_on_every_device_of_a_user(tee: Product, user: Any) -> None:
    laptop, phone = Client(), Client()
    laptop.force_login(user)
    phone.force_login(user)
    fill_cart(user, tee, "S", 2)
    for device in (laptop, phone):
        html = device.get("/shop/cart/").content.decode()
        assert "<strong data-cart-total>$59.98</strong>" in html


def test_an_anonymous_visitor_keeps_one_cart_across_pages(tee: Product) -> None:
    from django.contrib.sessions.models import Session

    client = Client()
    client.get("/shop/")
    client.get(f"/shop/product/{tee.pk}/")
    # Browsing stores no cart and no session: the cart is made by the first add.
    assert (Cart.objects.count(), Session.objects.count()) == (0, 0)
    add_over_http(client, tee, "M")
    client.get("/shop/")
    add_over_http(client, tee, "S")
    html = client.get("/shop/cart/").content.decode()
    assert Cart.objects.count() == 1
    assert Cart.objects.get().items.count() == 2
    assert "<strong data-cart-total>$59.98</strong>" in html
    assert Session.objects.count() == 0


# Concurrency -----------------------------------------------------------------------


def test_concurrent_checkouts_of_the_last_units_never_oversell() -> None:
    need(
        connection.vendor == "postgresql",
        "DATABASE_URL is not PostgreSQL: the concurrent checkout test needs row locks",
    )
    tee = create_product(sizes={"M": 20})
    buyers = [
        get_user_model().objects.create_user(f"buyer{i}", f"buyer{i}@example.com", "pw")
        for i in range(20)
    ]
    for buyer in buyers:
        fill_cart(buyer, tee, "M")
    # Everyone put one in their cart while there were 20; now only 5 are left.
    Inventory.objects.filter(product=tee, size="M").update(stock=5)
    start = threading.Barrier(len(buyers))
    results: dict[str, str] = {}

    def checkout(buyer: Any) -> None:
        try:
            start.wait()
            order = place(buyer)
            results[buyer.username] = order.number
        except orders.CheckoutError as exc:
            results[buyer.username] = str(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=checkout, args=(buyer,)) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = sorted(results.values())
    assert len(outcomes) == 20
    assert [o for o in outcomes if not o.startswith("LS-")] == [
        "Sorry, Everyday Tee (size M) is sold out."
    ] * 15
    assert Order.objects.count() == 5
    assert stock(tee, "M") == 0
    assert CartItem.objects.count() == 15


def test_charges_that_succeed_are_recorded_once(tee: Product, user: Any) -> None:
    fill_cart(user, tee, "S")
    gateway = FakeGateway()
    order = place(user, gateway=gateway)
    assert gateway.charges == [Charge(reference=order.payment_reference, amount=Decimal("29.99"))]
    assert gateway.refunds == []
