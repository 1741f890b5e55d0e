"""URLs of the storefront, mounted at ``/shop/``."""

from __future__ import annotations

from django.urls import path

from live_shop import views

app_name = "live_shop"

urlpatterns = [
    path("", views.product_list, name="index"),
    path("product/<int:pk>/", views.ProductPage.as_view(), name="product"),
    path("cart/", views.cart_page, name="cart"),
    path("checkout/", views.checkout_page, name="checkout"),
    path(
        "components/product/<int:product_id>/",
        views.ProductEndpoint.as_view(),
        name="product_component",
    ),
    path("components/cart/", views.CartEndpoint.as_view(), name="cart_component"),
    path("components/checkout/", views.CheckoutEndpoint.as_view(), name="checkout_component"),
]
