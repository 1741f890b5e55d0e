"""Checkout: one transaction that locks the stock, takes the payment and empties the cart.

The cart row and then the stock rows (in primary-key order, so concurrent
checkouts never deadlock) are locked with ``SELECT ... FOR UPDATE``; the stock
is checked and decremented, the order written and the payment taken before
the commit. A declined payment rolls everything back; an error after a
successful charge refunds it. Stock and cart news go out after the commit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F

from live_shop import carts, catalog
from live_shop.models import Cart, Inventory, Order, OrderLine
from live_shop.payments import Charge, PaymentError, PaymentGateway, get_gateway


class CheckoutError(Exception):
    """Raised when an order cannot be placed; the message is shown to the customer."""


def place_order(
    user: Any,
    *,
    payment_token: str,
    shipping_address: str,
    gateway: PaymentGateway | None = None,
) -> Order:
    """Turn the user's cart into a paid order, or raise ``CheckoutError`` and change nothing."""
    gateway = gateway if gateway is not None else get_gateway()
    cart = carts.for_user(user)
    charge: Charge | None = None
    try:
        with transaction.atomic():
            order = _place(user, cart, shipping_address)
            charge = gateway.charge(
                amount=order.total, token=payment_token, description=f"Order {order.number}"
            )
            order.payment_reference = charge.reference
            order.save(update_fields=["payment_reference"])
    except PaymentError as exc:
        raise CheckoutError(str(exc)) from exc
    except BaseException:
        if charge is not None:
            gateway.refund(charge)
        raise
    return order


def _place(user: Any, cart: Cart, shipping_address: str) -> Order:
    """Inside the transaction: lock, check and take the stock; write the order; empty the cart."""
    # One checkout at a time per cart (two tabs clicking "Place order").
    Cart.objects.select_for_update().filter(pk=cart.pk).first()
    items = list(cart.items.select_related("inventory__product").order_by("id"))
    if not items:
        raise CheckoutError("Your cart is empty.")
    locked = Inventory.objects.select_for_update().filter(
        pk__in={item.inventory_id for item in items}
    )
    stock = {row.pk: row.stock for row in locked.order_by("pk")}
    for item in items:
        available = stock[item.inventory_id]
        if item.quantity > available:
            name, size = item.inventory.product.name, item.inventory.size
            if available == 0:
                raise CheckoutError(f"Sorry, {name} (size {size}) is sold out.")
            raise CheckoutError(f"Sorry, only {available} left of {name} (size {size}).")
    for item in items:
        Inventory.objects.filter(pk=item.inventory_id).update(stock=F("stock") - item.quantity)
    total = sum((item.inventory.product.price * item.quantity for item in items), Decimal("0.00"))
    order = Order.objects.create(
        user=user, email=user.email, shipping_address=shipping_address, total=total
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=item.inventory.product,
            product_name=item.inventory.product.name,
            size=item.inventory.size,
            unit_price=item.inventory.product.price,
            quantity=item.quantity,
        )
        for item in items
    )
    cart.items.all().delete()
    carts.notify(cart.pk)
    catalog.stock_changed(item.inventory.product_id for item in items)
    return order
