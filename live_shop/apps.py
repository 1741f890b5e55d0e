"""The live storefront."""

from __future__ import annotations

from django.apps import AppConfig


class LiveShopConfig(AppConfig):
    """Storefront at ``/shop/``."""

    name = "live_shop"
    verbose_name = "Live shop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Called once Django is set up; connect the cart merge and stock receivers."""
        from live_shop import signals

        signals.connect()
