"""URLs of the admin panel."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "live_admin"

urlpatterns: list[URLPattern] = []
