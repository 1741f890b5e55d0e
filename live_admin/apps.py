"""The real-time SaaS admin panel."""

from __future__ import annotations

from django.apps import AppConfig


class LiveAdminConfig(AppConfig):
    """Staff-only admin panel at ``/admin-panel/``."""

    name = "live_admin"
    verbose_name = "Live admin panel"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Called once Django is set up; connect the audit trail's signal receivers."""
        from live_admin import signals

        signals.connect()
