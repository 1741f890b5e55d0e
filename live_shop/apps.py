"""The live storefront."""

from __future__ import annotations

from django.apps import AppConfig


class LiveShopConfig(AppConfig):
    """Storefront at ``/shop/``."""

    name = "live_shop"
    verbose_name = "Live shop"
    default_auto_field = "django.db.models.BigAutoField"
