"""Payments: a small gateway interface and the fake provider used by the demo and tests.

The gateway is ``settings.LIVE_SHOP_PAYMENT_GATEWAY`` (a dotted path to a class),
``FakeGateway`` by default: ``tok_ok`` succeeds, ``tok_declined`` is declined.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_GATEWAY = "live_shop.payments.FakeGateway"


class PaymentError(Exception):
    """Raised when a payment does not go through; the message is shown to the customer."""


@dataclass(frozen=True)
class Charge:
    """A successful payment."""

    reference: str
    amount: Decimal


class PaymentGateway(Protocol):
    """What the checkout needs from a payment provider."""

    def charge(self, *, amount: Decimal, token: str, description: str) -> Charge:
        """Take ``amount`` with the payment ``token``; raise ``PaymentError`` on failure."""

    def refund(self, charge: Charge) -> None:
        """Give a charge back (the order could not be saved after it)."""


class FakeGateway:
    """A provider without network: ``tok_ok`` pays, ``tok_declined`` is declined."""

    TOKENS = ("tok_ok", "tok_declined")

    def __init__(self) -> None:
        self.charges: list[Charge] = []
        self.refunds: list[Charge] = []

    def charge(self, *, amount: Decimal, token: str, description: str) -> Charge:
        """Succeed for ``tok_ok``; decline ``tok_declined``; refuse any other token."""
        if token == "tok_declined":
            raise PaymentError("Your card was declined.")
        if token != "tok_ok":
            valid = ", ".join(repr(t) for t in self.TOKENS)
            raise PaymentError(f"Unknown payment token {token[:40]!r}; use one of: {valid}.")
        charge = Charge(reference=f"fake_{secrets.token_hex(8)}", amount=amount)
        self.charges.append(charge)
        return charge

    def refund(self, charge: Charge) -> None:
        """Record the refund."""
        self.refunds.append(charge)


def get_gateway() -> PaymentGateway:
    """Return an instance of the configured gateway."""
    path = getattr(settings, "LIVE_SHOP_PAYMENT_GATEWAY", DEFAULT_GATEWAY)
    gateway: PaymentGateway = import_string(path)()
    return gateway
