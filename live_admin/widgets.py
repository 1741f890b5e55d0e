"""Live widgets for the Django admin's user pages: KPIs of the day and a user's history."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

import live
from live_admin import audit
from live_admin.models import AuditEntry, UserActivity

HISTORY_LIMIT = 10


@live.register("admin_today")
class TodayWidget(live.Component):
    """Users active today and sign-ups today, updated with every audit entry."""

    template_name = "live_admin/widgets/today.html"
    permission_classes = (live.IsStaff,)
    subscriptions = [audit.AUDIT_GROUP]
    label = "Today"
    size = "md"

    def mount(self) -> None:
        """Count today's activity and sign-ups."""
        self.count()

    def count(self) -> None:
        """Read both figures (two queries)."""
        start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
        self.state = {
            "active": UserActivity.objects.filter(last_seen__gte=start).count(),
            "signups": get_user_model().objects.filter(date_joined__gte=start).count(),
        }

    @live.broadcast_only
    def on_entry_created(self, entry_id: int) -> None:
        """Called for every audit entry: logins and sign-ups change the figures."""
        self.count()


@live.register("admin_user_history")
class UserHistoryWidget(live.Component):
    """The newest audit entries about one user, live."""

    template_name = "live_admin/widgets/user_history.html"
    permission_classes = (live.IsStaff,)
    subscriptions = [audit.AUDIT_GROUP]
    permission_required = "live_admin.view_auditentry"
    label = "Recent activity"
    size = "lg"

    def mount(self) -> None:
        """Remember which user this is about (the admin page's ``object_id``)."""
        if self.params.get("object_id") is None:
            # Mounted without it, e.g. by a bare GET of the component endpoint.
            raise live.InvalidArguments("Missing param 'object_id'", {"object_id": "Required"})
        self.state = {"user_id": str(self.params["object_id"]), "stamp": 0}

    @live.broadcast_only
    def on_entry_created(self, entry_id: int) -> None:
        """Called for every audit entry; only this user's change the render."""
        self.state["stamp"] += 1

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Add the user's newest entries."""
        user_type = get_user_model()._meta.label_lower
        entries = AuditEntry.objects.filter(
            target_type=user_type, target_id=self.state["user_id"]
        ).order_by("-timestamp", "-id")[:HISTORY_LIMIT]
        since = timezone.now() - datetime.timedelta(days=30)
        return super().get_context_data(entries=list(entries), since=since, **kwargs)
