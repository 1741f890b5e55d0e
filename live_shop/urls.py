"""URLs of the storefront."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "live_shop"

urlpatterns: list[URLPattern] = []
