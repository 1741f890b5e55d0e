"""Helpers for tests of the storefront: products with stock, carts with lines."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from live_shop import carts
from live_shop.models import Brand, Cart, Inventory, Product


def create_product(
    name: str = "Everyday Tee",
    price: str = "29.99",
    sizes: dict[str, int] | None = None,
    brand: str = "Loom & Co",
    image: str = "tee",
) -> Product:
    """Create a product with ``{size: stock}`` (``S``: 10, ``M``: 4, ``XL``: 0 by default)."""
    if sizes is None:
        sizes = {"S": 10, "M": 4, "XL": 0}
    product = Product.objects.create(
        brand=Brand.objects.get_or_create(name=brand)[0],
        name=name,
        description=f"The {name.lower()} everyone talks about.",
        price=Decimal(price),
        image=f"live_shop/img/{image}.svg",
        thumbnail=f"live_shop/img/{image}-thumb.svg",
    )
    Inventory.objects.bulk_create(
        Inventory(product=product, size=size, position=i, stock=stock)
        for i, (size, stock) in enumerate(sizes.items())
    )
    return product


def fill_cart(user: Any, product: Product, size: str, quantity: int = 1) -> Cart:
    """Put ``quantity`` of a product size in ``user``'s cart; return the cart."""
    cart = carts.for_user(user)
    carts.add(cart, carts.find_inventory(product.pk, size), quantity)
    return cart
