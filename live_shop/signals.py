"""Signal receivers: merge the visitor's cart at login; announce stock edited anywhere.

Connected once by ``LiveShopConfig.ready``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import user_logged_in
from django.db.models.signals import post_save

import live
from live_shop import carts, catalog
from live_shop.models import Cart, Inventory


def merge_cart_at_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Move the anonymous visitor's cart into the user's cart (login keeps the session data)."""
    session = getattr(request, "session", None)
    cart_id = session.pop(carts.SESSION_KEY, None) if session is not None else None
    if cart_id is not None:
        source = Cart.objects.filter(pk=cart_id, user=None).first()
        if source is not None:
            carts.merge(source, carts.for_user(user))
    visitor = live.visitor_key(request, mint=False) if request is not None else None
    source = carts.for_visitor(visitor) if visitor is not None else None
    if source is not None:
        carts.merge(source, carts.for_user(user))


def inventory_saved(sender: Any, instance: Inventory, raw: bool = False, **kwargs: Any) -> None:
    """Stock edited through a model save (the admin, a shell): refresh every open page."""
    if not raw:
        catalog.stock_changed([instance.product_id])


def connect() -> None:
    """Connect the receivers (idempotent)."""
    user_logged_in.connect(merge_cart_at_login, dispatch_uid="live_shop.merge_cart_at_login")
    post_save.connect(inventory_saved, sender=Inventory, dispatch_uid="live_shop.inventory_saved")
