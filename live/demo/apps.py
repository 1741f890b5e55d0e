"""Internal: the tour app shown by ``manage.py livedemo``."""

from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The framework's tour: a counter and a live, searchable table."""

    name = "live.demo"
    label = "live_demo"
    verbose_name = "Live tour"
    default_auto_field = "django.db.models.BigAutoField"
