"""Internal: the Django app config; imports every app's ``components`` module."""

from __future__ import annotations

from django.apps import AppConfig


class LiveConfig(AppConfig):
    """Configure ``live`` and autodiscover components."""

    name = "live"
    verbose_name = "Live components"

    def ready(self) -> None:
        """Called once Django is set up; register every app's components."""
        from django.core import checks

        from live import registry, revocation
        from live.admin_widgets import check_widgets

        revocation.connect_signals()
        registry.autodiscover()
        checks.register(check_widgets, checks.Tags.admin)
