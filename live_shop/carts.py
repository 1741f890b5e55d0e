"""Carts in the database: whose cart it is, what is in it, and changes that never pass the stock.

A logged-in user has one cart. An anonymous visitor's cart is made on their
first add, named by their ``live.visitor_key`` (or kept in their session under
``SESSION_KEY`` where no visitor cookie can be set), so browsing stores nothing;
it is merged into the user's cart at login. Every change is announced to the
group ``cart-<id>`` (and ``cart-v<visitor>``) once the transaction commits, so
every tab and device showing the cart follows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest

import live
from live_shop.catalog import money
from live_shop.models import Cart, CartItem, Inventory, Product

SESSION_KEY = "live_shop_cart_id"


class CartError(Exception):
    """Raised when a cart change is refused; the message is shown to the customer."""


def cart_group(cart_id: int) -> str:
    """Return the group every view of one cart follows."""
    return f"cart-{cart_id}"


def visitor_group(visitor: str) -> str:
    """Return the group every view of an anonymous visitor's cart follows, made yet or not."""
    return f"cart-v{visitor}"


def for_visitor(visitor: str, create: bool = False) -> Cart | None:
    """Return the cart of an anonymous visitor (by ``live.visitor_key``); make it if ``create``."""
    cart = Cart.objects.filter(visitor=visitor, user=None).first()
    if cart is None and create:
        try:
            with transaction.atomic():
                cart = Cart.objects.create(visitor=visitor)
        except IntegrityError:
            # Made by a concurrent add between the get and the create.
            cart = Cart.objects.get(visitor=visitor)
    return cart


def for_user(user: Any) -> Cart:
    """Return the cart of a logged-in user, creating it on first use."""
    try:
        cart, _ = Cart.objects.get_or_create(user=user)
    except IntegrityError:
        # Created by a concurrent request between the get and the create.
        cart = Cart.objects.get(user=user)
    return cart


def for_request(request: HttpRequest) -> Cart:
    """Return the cart of the request's user, or of its session for anonymous visitors."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return for_user(user)
    session = request.session
    cart_id = session.get(SESSION_KEY)
    cart = Cart.objects.filter(pk=cart_id, user=None).first() if cart_id else None
    if cart is None:
        cart = Cart.objects.create()
        session[SESSION_KEY] = cart.pk
    return cart


def summary(cart: Cart) -> dict[str, Any]:
    """Return the cart as component state: lines, item count and total (money as strings)."""
    items = cart.items.select_related("inventory__product__brand").order_by("added", "id")
    lines = []
    total = Decimal("0.00")
    count = 0
    for item in items:
        product = item.inventory.product
        line_total = product.price * item.quantity
        lines.append(
            {
                "id": item.pk,
                "product_id": product.pk,
                "name": product.name,
                "brand": product.brand.name,
                "size": item.inventory.size,
                "price": money(product.price),
                "qty": item.quantity,
                "total": money(line_total),
                "stock": item.inventory.stock,
                "thumbnail": product.thumbnail,
            }
        )
        total += line_total
        count += item.quantity
    return {"lines": lines, "count": count, "total": money(total)}


def notify(cart_id: int, visitor: str | None = None) -> None:
    """Tell every view of the cart to reload it, after the transaction commits."""
    live.broadcast(cart_group(cart_id), "cart_changed")
    if visitor:
        live.broadcast(visitor_group(visitor), "cart_changed")


def find_inventory(product_id: int, size: str) -> Inventory:
    """Return the stock row of a product size, or raise ``CartError``."""
    # A lookup through the foreign key skips Django's out-of-range check: SQLite raises
    # OverflowError for an id past its integers, so such an id names no product.
    low, high = connection.ops.integer_field_range(Product._meta.pk.get_internal_type())
    if (low is not None and product_id < low) or (high is not None and product_id > high):
        raise CartError(f"No product with id {product_id}.")
    rows = list(Inventory.objects.filter(product_id=product_id).order_by("position", "id"))
    if not rows:
        raise CartError(f"No product with id {product_id}.")
    for row in rows:
        if row.size == size:
            return row
    valid = ", ".join(row.size for row in rows)
    raise CartError(f"Unknown size {size[:20]!r}; available sizes: {valid}.")


def add(cart: Cart, inventory: Inventory, quantity: int = 1) -> CartItem:
    """Add ``quantity`` of a product size; never more than its stock in total."""
    if quantity < 1:
        raise CartError("Quantity must be at least 1.")
    with transaction.atomic():
        # One change at a time per cart (two tabs adding the same size at once).
        Cart.objects.select_for_update().filter(pk=cart.pk).first()
        stock = Inventory.objects.values_list("stock", flat=True).get(pk=inventory.pk)
        item = CartItem.objects.filter(cart=cart, inventory=inventory).first()
        have = item.quantity if item is not None else 0
        if stock <= 0:
            raise CartError(f"Size {inventory.size} is sold out.")
        if have + quantity > stock:
            if have:
                raise CartError(
                    f"Only {stock} left in size {inventory.size}, and your cart has {have}."
                )
            raise CartError(f"Only {stock} left in size {inventory.size}.")
        if item is None:
            item = CartItem.objects.create(cart=cart, inventory=inventory, quantity=quantity)
        else:
            item.quantity = have + quantity
            item.save(update_fields=["quantity"])
        cart.save(update_fields=["updated"])
        notify(cart.pk, cart.visitor)
    return item


def set_quantity(cart: Cart, line_id: int, quantity: int) -> None:
    """Set a line's quantity; 0 or less removes it; more than the stock is refused."""
    item = cart.items.select_related("inventory").filter(pk=line_id).first()
    if item is None:
        raise CartError("That item is no longer in your cart.")
    if quantity <= 0:
        remove(cart, line_id)
        return
    stock = item.inventory.stock
    if quantity > stock:
        raise CartError(f"Only {stock} left in size {item.inventory.size}.")
    with transaction.atomic():
        item.quantity = quantity
        item.save(update_fields=["quantity"])
        cart.save(update_fields=["updated"])
        notify(cart.pk, cart.visitor)


def remove(cart: Cart, line_id: int) -> None:
    """Remove a line; removing one that is already gone changes nothing."""
    with transaction.atomic():
        deleted, _ = cart.items.filter(pk=line_id).delete()
        if deleted:
            cart.save(update_fields=["updated"])
            notify(cart.pk, cart.visitor)


def merge(source: Cart, target: Cart) -> None:
    """Move the lines of ``source`` (an anonymous cart) into ``target``, then delete it.

    Quantities of the same size add up, capped at the stock; sold-out lines go.
    """
    if source.pk == target.pk:
        return
    with transaction.atomic():
        for item in source.items.select_related("inventory"):
            existing = CartItem.objects.filter(cart=target, inventory=item.inventory).first()
            have = existing.quantity if existing is not None else 0
            wanted = min(have + item.quantity, item.inventory.stock)
            if wanted <= have:
                continue
            if existing is None:
                CartItem.objects.create(cart=target, inventory=item.inventory, quantity=wanted)
            else:
                existing.quantity = wanted
                existing.save(update_fields=["quantity"])
        source_id, source_visitor = source.pk, source.visitor
        source.delete()
        target.save(update_fields=["updated"])
        notify(target.pk)
        notify(source_id, source_visitor)
