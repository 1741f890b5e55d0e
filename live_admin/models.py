"""The admin panel's data: the audit trail, subscriptions and user activity."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    """One action on the platform: who did what to what, when and from where."""

    class Action(models.TextChoices):
        USER_CREATED = "user.created", "User created"
        USER_UPDATED = "user.updated", "User updated"
        USER_DELETED = "user.deleted", "User deleted"
        USER_ACTIVATED = "user.activated", "User activated"
        USER_DEACTIVATED = "user.deactivated", "User deactivated"
        ROLE_CHANGED = "user.role_changed", "Role changed"
        LOGIN = "auth.login", "Logged in"
        LOGOUT = "auth.logout", "Logged out"
        LOGIN_FAILED = "auth.login_failed", "Failed login"
        BULK_ACTION = "bulk.action", "Bulk action"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    #: The actor's username when the entry was written; kept after the user is deleted.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    #: A readable label of what was acted on, e.g. ``alice (#42)``.
    target = models.CharField(max_length=255, blank=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    timestamp = models.DateTimeField(default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.actor_name or 'system'} {self.action} {self.target}".strip()

    @property
    def tone(self) -> str:
        """Return the badge colour of the action: ``ok``, ``off``, ``warn`` or ``info``."""
        return TONES.get(self.action, "info")

    def summary(self) -> str:
        """Return what changed, in words, from ``detail``."""
        detail = self.detail if isinstance(self.detail, dict) else {}
        if self.action == self.Action.ROLE_CHANGED:
            return "; ".join(
                f"{LABELS.get(field, field)}: {_yes_no(old)} → {_yes_no(new)}"
                for field, (old, new) in sorted(detail.items())
                if field in LABELS
            )
        if self.action == self.Action.USER_UPDATED:
            changes = detail.get("changes") or {}
            parts = []
            for field, (old, new) in sorted(changes.items()):
                if field == "password":
                    parts.append("password changed")
                else:
                    parts.append(f"{LABELS.get(field, field)}: {old or '—'} → {new or '—'}")
            return "; ".join(parts)
        if self.action == self.Action.BULK_ACTION:
            what = detail.get("description") or detail.get("message") or detail.get("name") or ""
            rest = ", ".join(
                f"{key}: {value}"
                for key, value in sorted(detail.items())
                if key not in ("description", "message", "name")
            )
            text = str(what).replace("_", " ")
            return f"{text} ({rest})" if text and rest else text or rest
        return ""


def _yes_no(value: object) -> str:
    return "yes" if value else "no"


LABELS = {
    "username": "username",
    "email": "email",
    "first_name": "first name",
    "last_name": "last name",
    "is_staff": "staff",
    "is_superuser": "superuser",
}
TONES: dict[str, str] = {
    AuditEntry.Action.USER_CREATED.value: "ok",
    AuditEntry.Action.USER_ACTIVATED.value: "ok",
    AuditEntry.Action.USER_DELETED.value: "off",
    AuditEntry.Action.USER_DEACTIVATED.value: "off",
    AuditEntry.Action.LOGIN_FAILED.value: "warn",
    AuditEntry.Action.ROLE_CHANGED.value: "warn",
}


class Subscription(models.Model):
    """A paying customer's plan; ``monthly_amount`` counts towards MRR while active."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CANCELLED = "cancelled", "Cancelled"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    monthly_amount = models.DecimalField(max_digits=10, decimal_places=2)
    created = models.DateTimeField(default=timezone.now, db_index=True)
    cancelled_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["status", "created"])]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.monthly_amount}/month ({self.status})"


class UserActivity(models.Model):
    """When a user was last seen; MAU counts the users seen in the last 30 days."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="activity"
    )
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name_plural = "user activity"

    def __str__(self) -> str:
        return f"{self.user_id} last seen {self.last_seen:%Y-%m-%d %H:%M}"
