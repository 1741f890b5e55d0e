"""Pages of the storefront and its component endpoints."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View

import live
from live_shop import catalog
from live_shop.components import ProductComponent, ReviewsComponent
from live_shop.models import Product


def product_list(request: HttpRequest) -> HttpResponse:
    """The shop's front page: a card per product."""
    products = Product.objects.select_related("brand").annotate(in_stock=Sum("inventory__stock"))
    return render(request, "live_shop/product_list.html", {"products": products})


class ProductPage(live.RateLimitMixin, View):
    """A product with its reviews composed into the ``reviews`` slot.

    Counts against the product component's ``throttle_rate`` before any work (the
    render inside counts no second time), so an over-limit page answers 429 JSON.
    """

    throttle_component = "product"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Render the page; 404 for an unknown product."""
        data = catalog.product_data(pk)
        if data is None:
            raise Http404("No such product")
        product = live.compose(
            ProductComponent, params={"product_id": pk}, reviews=ReviewsComponent, mount=False
        )
        return render(request, "live_shop/product_detail.html", {"product": product, "data": data})


class ProductEndpoint(live.ComponentView):
    """The product component over HTTP (GET renders, POST applies an event).

    Its ``throttle_rate`` is the component's: this endpoint, the generic one, the page
    and the socket share it.
    """

    component_name = "product"

    def get_component_params(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        """Only the product id from the URL; the cart comes from the request at mount."""
        return {"product_id": kwargs["product_id"]}


class CartEndpoint(live.ComponentView):
    """The cart component over HTTP."""

    component_name = "cart"

    def get_component_params(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        """No params: the cart comes from the request at mount."""
        return {}


class CheckoutEndpoint(live.AuthenticatedComponentView):
    """The checkout component over HTTP; 401 JSON for anonymous clients."""

    component_name = "checkout"

    def get_component_params(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        """No params: the cart is the user's."""
        return {}


def cart_page(request: HttpRequest) -> HttpResponse:
    """The cart on a page of its own."""
    return render(request, "live_shop/cart.html")


@login_required
def checkout_page(request: HttpRequest) -> HttpResponse:
    """Checkout; anonymous visitors are sent to the login page first."""
    return render(request, "live_shop/checkout.html")
