"""The storefront in headless Chromium: browse, add, log in, check out, and live stock."""

from __future__ import annotations

import re
from typing import Any

import pytest

from live_shop.models import Inventory, Order, Profile
from live_shop.testing import create_product

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

JOINED = "() => Object.values(window.live.components).every((c) => c.html !== null)"


def open_live(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_function(JOINED)


def test_anonymous_cart_survives_login_and_checkout_while_another_visitor_watches(
    daphne_server: Any, browser: Any, page: Any, user: Any
) -> None:
    from playwright.sync_api import expect

    tee = create_product()
    Profile.objects.create(
        user=user,
        full_name="Alice Example",
        address_line="1 Market Street",
        city="Springfield",
        postcode="12345",
        country="United States",
    )
    product_url = f"{daphne_server.url}/shop/product/{tee.pk}/"
    watcher = browser.new_context().new_page()
    open_live(watcher, product_url)
    watched_m = watcher.locator(".sizes li", has=watcher.locator("[data-size=M]"))
    expect(watched_m).to_contain_text("Only 4 left")

    # Anonymous: browse, pick a size, add to the cart.
    page.goto(f"{daphne_server.url}/shop/")
    page.get_by_role("link", name=re.compile("Everyday Tee")).click()
    page.wait_for_url(product_url)
    page.wait_for_function(JOINED)
    add = page.get_by_role("button", name="Add to cart")
    add.click()
    expect(page.locator(".shop-error")).to_have_text("Please select a size first.")
    page.locator(".size-btn[data-size=M]").click()
    expect(page.locator(".size-label")).to_have_text("M")
    expect(page.locator(".size-btn[data-size=M]")).to_have_class(re.compile(r"\bselected\b"))
    add.click()
    expect(page.locator(".product .notice")).to_have_text(
        "Added Everyday Tee (size M) to your cart."
    )
    sidebar = page.locator(".shop-side .cart")
    expect(sidebar.locator(".cart-line")).to_have_count(1)
    expect(sidebar.locator("[data-cart-total]")).to_have_text("$29.99")

    # Checkout asks for a login; the cart comes along.
    page.goto(f"{daphne_server.url}/shop/checkout/")
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/shop/checkout/$"))
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{daphne_server.url}/shop/checkout/")
    page.wait_for_function(JOINED)
    checkout = page.locator(".checkout")
    expect(checkout.locator("tbody tr")).to_have_count(1)
    expect(checkout.locator("tbody")).to_contain_text("Everyday Tee")
    expect(page.get_by_label("City")).to_have_value("Springfield")
    place = page.get_by_role("button", name="Place order · $29.99")
    place.click()
    expect(checkout.locator(".order-number")).to_have_text(re.compile(r"^LS-\d{6}$"))
    order = Order.objects.get()
    expect(checkout).to_contain_text(f"Your order {order.number} is confirmed.")
    assert Inventory.objects.get(product=tee, size="M").stock == 3

    # The other visitor saw the stock drop without reloading.
    expect(watched_m).to_contain_text("Only 3 left")
    watcher.context.close()


def test_cart_is_synced_across_tabs_and_a_removal_is_instant(
    daphne_server: Any, browser: Any, user: Any
) -> None:
    from playwright.sync_api import expect

    tee = create_product()
    context = browser.new_context()
    login = context.new_page()
    login.goto(f"{daphne_server.url}/accounts/login/?next=/shop/cart/")
    login.get_by_label("Username").fill("alice")
    login.get_by_label("Password").fill("pw")
    login.get_by_role("button", name="Log in").click()
    login.wait_for_url(f"{daphne_server.url}/shop/cart/")
    login.wait_for_function(JOINED)
    cart_tab = login
    product_tab = context.new_page()
    open_live(product_tab, f"{daphne_server.url}/shop/product/{tee.pk}/")
    product_tab.locator(".size-btn[data-size=S]").click()
    expect(product_tab.locator(".size-label")).to_have_text("S")
    product_tab.get_by_role("button", name="Add to cart").click()
    expect(cart_tab.locator(".cart-line")).to_have_count(1)
    cart_tab.get_by_role("button", name="One more").click()
    expect(cart_tab.locator("[data-cart-total]")).to_have_text("$59.98")
    expect(product_tab.locator(".shop-side [data-cart-total]")).to_have_text("$59.98")
    cart_tab.get_by_role("button", name="Remove").click()
    expect(cart_tab.locator(".cart")).to_contain_text("Your cart is empty.")
    expect(product_tab.locator(".shop-side .cart")).to_contain_text("Your cart is empty.")
    context.close()
