"""The storefront over HTTP: pages, component endpoints, login gate, rate limits, fixtures."""

from __future__ import annotations

import re
from io import StringIO
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from live_shop.models import Brand, Inventory, Product, Profile
from live_shop.seed import seed
from live_shop.testing import create_product

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tee() -> Product:
    """A 29.99 tee: S 10, M 4, XL sold out."""
    return create_product()


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold the rate limiter's clock half way through a minute, so counts never straddle."""
    from live import ratelimit

    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 6030.0))


def test_listing_shows_a_card_per_product(tee: Product) -> None:
    create_product("Canvas Cap", "19.50", {"One size": 0}, brand="Harbor Goods", image="cap")
    html = Client().get("/shop/").content.decode()
    assert html.count('class="product-card"') == 2
    assert f'href="/shop/product/{tee.pk}/"' in html
    assert '<img src="/static/live_shop/img/tee-thumb.svg"' in html
    assert '<span class="price">$29.99</span>' in html
    assert html.count("Sold out") == 1
    assert 'data-live-name="cart"' in html


def test_product_page_composes_the_product_and_its_reviews(tee: Product) -> None:
    response = Client().get(f"/shop/product/{tee.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    names = re.findall(r'data-live-name="(\w+)" data-live-token=', html)
    assert names == ["product", "reviews", "cart"]
    assert "<h1>Everyday Tee</h1>" in html
    assert '<p class="price">$29.99</p>' in html
    assert '<img src="/static/live_shop/img/tee.svg" alt="Everyday Tee"' in html
    assert "Only 4 left" in html
    assert "No reviews yet." in html
    assert 'hx-ext="ws" ws-connect="/ws/live/"' in html


def test_a_second_product_page_reads_the_product_from_the_cache(tee: Product) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.get(f"/shop/product/{tee.pk}/")
    with CaptureQueriesContext(connection) as queries:
        html = client.get(f"/shop/product/{tee.pk}/").content.decode()
    assert "Only 4 left" in html
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    # The product and its stock come from the cache (the cart sidebar still joins them).
    assert 'FROM "live_shop_product"' not in sql
    assert 'FROM "live_shop_inventory"' not in sql


def test_unknown_product_is_404() -> None:
    assert Client().get("/shop/product/999/").status_code == 404


def test_cart_page_shows_the_cart_without_the_sidebar() -> None:
    html = Client().get("/shop/cart/").content.decode()
    assert html.count('data-live-name="cart"') == 1
    assert "Your cart is empty." in html


def test_checkout_page_sends_anonymous_visitors_to_the_login_page() -> None:
    response = Client().get("/shop/checkout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/shop/checkout/"


def test_checkout_page_for_a_user_shows_the_profile_address(tee: Product, user: Any) -> None:
    Profile.objects.create(user=user, full_name="Alice Example", city="Springfield")
    client = Client()
    client.force_login(user)
    html = client.get("/shop/checkout/").content.decode()
    assert 'data-live-name="checkout"' in html
    assert 'name="full_name" value="Alice Example"' in html
    assert "Email: alice@example.com" in html
    assert "Your cart is empty." in html


@pytest.mark.parametrize(
    "method",
    [pytest.param("get", id="render"), pytest.param("post", id="event")],
)
def test_checkout_endpoint_answers_401_json_to_anonymous_clients(method: str) -> None:
    response = getattr(Client(), method)("/shop/components/checkout/")
    assert response.status_code == 401
    assert response.json() == {"error": "Authentication required", "code": "unauthenticated"}


def test_checkout_through_the_generic_endpoint_is_401_too() -> None:
    response = Client().get("/live/components/checkout/")
    assert response.status_code == 401
    assert response.json() == {"error": "Authentication required", "code": "unauthenticated"}


def test_product_endpoint_renders_and_handles_events(tee: Product, user: Any) -> None:
    client = Client()
    client.force_login(user)
    html = client.get(f"/shop/components/product/{tee.pk}/").content.decode()
    token = re.search(r'data-live-token="([^"]+)"', html)
    assert token
    body: dict[str, Any] = {"token": token.group(1), "event": "select_size", "size": "M"}
    answer = client.post(f"/shop/components/product/{tee.pk}/", body).json()
    assert '<strong class="size-label">M</strong>' in answer["html"]
    body = {"token": answer["token"], "state": answer["state"], "event": "add_to_cart"}
    answer = client.post(f"/shop/components/product/{tee.pk}/", body).json()
    assert "Added Everyday Tee (size M) to your cart." in answer["html"]


def test_product_endpoint_ignores_a_cart_named_by_the_client(
    tee: Product, user: Any, other_user: Any
) -> None:
    from live_shop import carts

    bobs = carts.for_user(other_user)
    client = Client()
    client.force_login(user)
    forged = f"/live/components/product/?product_id={tee.pk}&cart_id={bobs.pk}"
    client.get(forged)
    # The second render is served from the cache: the cart is still the requester's.
    html = client.get(forged).content.decode()
    token = re.search(r'data-live-token="([^"]+)"', html)
    assert token
    answer = client.post(
        "/live/components/product/", {"token": token.group(1), "event": "select_size", "size": "S"}
    ).json()
    client.post(
        "/live/components/product/",
        {"token": answer["token"], "state": answer["state"], "event": "add_to_cart"},
    )
    assert not bobs.items.exists()
    assert carts.for_user(user).items.count() == 1


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/shop/components/product/{pk}/", id="endpoint"),
        pytest.param("/shop/product/{pk}/", id="page"),
    ],
)
@pytest.mark.usefixtures("frozen_clock")
def test_product_requests_are_limited_to_30_a_minute_per_user(
    tee: Product, user: Any, url: str
) -> None:
    client = Client()
    client.force_login(user)
    statuses = [client.get(url.format(pk=tee.pk)).status_code for _ in range(31)]
    assert statuses == [200] * 30 + [429]
    response = client.get(url.format(pk=tee.pk))
    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    assert response.json() == {
        "error": "Too many requests",
        "code": "rate_limited",
        "retry_after": 30,
    }


@pytest.mark.usefixtures("frozen_clock")
def test_pages_and_endpoint_share_one_budget_and_users_have_their_own(
    tee: Product, user: Any, other_user: Any
) -> None:
    alice, bob = Client(), Client()
    alice.force_login(user)
    bob.force_login(other_user)
    for i in range(30):
        path = f"/shop/product/{tee.pk}/" if i % 2 else f"/shop/components/product/{tee.pk}/"
        assert alice.get(path).status_code == 200
    assert alice.get(f"/shop/product/{tee.pk}/").status_code == 429
    assert bob.get(f"/shop/product/{tee.pk}/").status_code == 200


def test_fixtures_load_a_catalogue_with_stock() -> None:
    call_command("loaddata", "shop_fixtures", stdout=StringIO())
    assert Brand.objects.count() == 3
    assert Product.objects.count() == 6
    tee = Product.objects.get(name="Everyday Tee")
    assert str(tee.price) == "29.99"
    assert list(tee.inventory.values_list("size", "stock")) == [
        ("S", 12),
        ("M", 4),
        ("L", 9),
        ("XL", 0),
    ]
    assert Inventory.objects.filter(stock=0).count() == 4


def test_seed_loads_the_shop_once_and_gives_demo_users_an_address(
    django_user_model: Any,
) -> None:
    django_user_model.objects.create_user("alice", "alice@example.com", "alice")
    assert seed() == []
    assert seed() == []
    assert Product.objects.count() == 6
    assert Profile.objects.get(user__username="alice").city == "Springfield"
