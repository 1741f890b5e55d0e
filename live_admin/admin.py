"""The Django admin for users, with live widgets and bulk actions that run as jobs."""

from __future__ import annotations

import time
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from live.admin_widgets import LiveWidgetsMixin
from live.jobs import Progress, admin_action_with_progress
from live_admin import audit, rules
from live_admin.models import AuditEntry, Subscription
from live_admin.widgets import TodayWidget, UserHistoryWidget

#: Seconds "recalculate subscriptions" spends per subscription, so it can be watched.
RECALCULATE_PACE = 0.05


@admin_action_with_progress(
    description="Deactivate selected users", permissions=["auth.change_user"]
)
def deactivate_users(queryset: Any, progress: Progress) -> None:
    """Deactivate each user (each change is audited), then audit the bulk action.

    The panel's rule holds here too: users the owner may not change are skipped.
    """
    owner = progress.job.owner
    users = list(queryset)
    progress.update(current=0, total=len(users), message=f"Deactivating {len(users)} users")
    done = deactivated = 0
    with audit.acting_as(owner):
        for user in users:
            if progress.cancelled:
                progress.update(message=f"Cancelled after {done} users")
                break
            done += 1
            refusal = rules.status_change_refusal(owner, user)
            if refusal is not None:
                message = f"Skipped {user.get_username()}: {refusal.message}"
                progress.update(current=done, message=message)
                continue
            if user.is_active:
                user.is_active = False
                user.save(update_fields=["is_active"])
            deactivated += 1
            progress.update(current=done, message=f"Deactivated {user.get_username()}")
        skipped: dict[str, Any] = {"skipped": done - deactivated} if done > deactivated else {}
        audit.record(
            owner,
            AuditEntry.Action.BULK_ACTION,
            f"{deactivated} users",
            name="deactivate_users",
            count=deactivated,
            **skipped,
        )


@admin_action_with_progress(
    description="Recalculate subscriptions", permissions=["live_admin.change_subscription"]
)
def recalculate_subscriptions(queryset: Any, progress: Progress) -> None:
    """Bring each selected user's subscriptions in line with their cancellation dates, slowly."""
    subscriptions = list(Subscription.objects.filter(user__in=queryset).order_by("pk"))
    progress.update(current=0, total=len(subscriptions), message="Checking subscriptions")
    fixed = 0
    for index, subscription in enumerate(subscriptions, start=1):
        if progress.cancelled:
            progress.update(message=f"Cancelled at {index - 1} of {len(subscriptions)}")
            return
        time.sleep(RECALCULATE_PACE)
        expected = (
            Subscription.Status.CANCELLED
            if subscription.cancelled_at
            else Subscription.Status.ACTIVE
        )
        if subscription.status != expected:
            subscription.status = expected
            subscription.save(update_fields=["status"])
            fixed += 1
        progress.update(current=index, message=f"Subscription {subscription.pk}: {expected}")
    progress.update(message=f"Done: {fixed} of {len(subscriptions)} corrected")
    audit.record(
        progress.job.owner,
        AuditEntry.Action.BULK_ACTION,
        f"{len(subscriptions)} subscriptions",
        name="recalculate_subscriptions",
        corrected=fixed,
    )


# The stubs type the admin's view methods and templates more narrowly than a mixin can.
class LiveUserAdmin(LiveWidgetsMixin, UserAdmin):  # type: ignore[misc,type-arg]
    """Django's user admin, with today's KPIs, each user's live history and job actions."""

    change_list_widgets = [TodayWidget]
    change_form_widgets = [UserHistoryWidget]
    actions = [deactivate_users, recalculate_subscriptions]

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        """Only superusers change (or deactivate) a superuser here, as in the panel."""
        if obj is not None and not rules.may_manage(request.user, obj):
            return False
        return bool(super().has_change_permission(request, obj))

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        """Only superusers delete a superuser (``delete_selected`` checks each user)."""
        if obj is not None and not rules.may_manage(request.user, obj):
            return False
        return bool(super().has_delete_permission(request, obj))


user_model = get_user_model()
if admin.site.is_registered(user_model):
    admin.site.unregister(user_model)
admin.site.register(user_model, LiveUserAdmin)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only list of audit entries."""

    list_display = ("timestamp", "action", "actor_name", "target", "ip")
    list_filter = ("action",)
    search_fields = ("actor_name", "target")

    def has_add_permission(self, request: Any) -> bool:
        """Entries are written by the platform only."""
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        """Entries never change."""
        return False
