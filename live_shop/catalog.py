"""The catalogue as components see it: product data, cached per product, and stock news.

``product_data`` is cached for ``CACHE_TTL`` seconds so a product page costs no
query while nothing changes; ``stock_changed`` forgets it (and the product's
cached render) and tells every open page of the product once the transaction
commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.db import transaction

import live
from live_shop.models import Inventory, Product

#: Seconds a product's data and first render are served from the cache.
CACHE_TTL = 300
DATA_PREFIX = "live_shop:product-data:"
RENDER_PREFIX = "live_shop:product-render:"
#: Below this, a size shows "Only N left".
LOW_STOCK = 5
CENT = Decimal("0.01")


def shop_cache() -> BaseCache:
    """Return the cache ``live`` keeps renders in (``LIVE["CACHE"]``); product data too."""
    return caches[getattr(settings, "LIVE", {}).get("CACHE", "default")]


def money(amount: Decimal) -> str:
    """Return ``amount`` as a string with two decimals, as state keeps money."""
    return str(amount.quantize(CENT))


def product_group(product_id: int) -> str:
    """Return the group that hears about stock changes of one product."""
    return f"product-{product_id}"


def sizes(product_id: int) -> list[dict[str, Any]]:
    """Return ``[{"size": ..., "stock": ...}]`` of a product, in display order."""
    rows = Inventory.objects.filter(product_id=product_id).order_by("position", "id")
    return [{"size": size, "stock": stock} for size, stock in rows.values_list("size", "stock")]


def load_product_data(product_id: int) -> dict[str, Any] | None:
    """Return what a product page shows, read from the database, or ``None``."""
    product = Product.objects.select_related("brand").filter(pk=product_id).first()
    if product is None:
        return None
    return {
        "product_id": product.pk,
        "name": product.name,
        "brand": product.brand.name,
        "price": money(product.price),
        "description": product.description,
        "image": product.image,
        "thumbnail": product.thumbnail,
        "sizes": sizes(product.pk),
    }


def product_data(product_id: int) -> dict[str, Any] | None:
    """Return what a product page shows, from the cache when possible, or ``None``."""
    key = f"{DATA_PREFIX}{product_id}"
    cached = shop_cache().get(key)
    if isinstance(cached, dict):
        return cached
    data = load_product_data(product_id)
    if data is not None:
        shop_cache().set(key, data, CACHE_TTL)
    return data


def invalidate(product_id: int) -> None:
    """Forget the cached data and first render of one product."""
    shop_cache().delete_many([f"{DATA_PREFIX}{product_id}", f"{RENDER_PREFIX}{product_id}"])


def stock_changed(product_ids: Iterable[int]) -> None:
    """After the current transaction commits, drop the caches and tell every open page."""
    ids = sorted(set(product_ids))

    def forget() -> None:
        for product_id in ids:
            invalidate(product_id)

    # Registered before the broadcasts, so a page re-rendering on the news reads fresh data.
    transaction.on_commit(forget)
    for product_id in ids:
        live.broadcast(product_group(product_id), "stock_changed", product_id=product_id)
