"""Demo data for the panel: 300 users, their subscriptions and activity, some history.

Run by ``manage.py livedemo`` (``LIVE_DEMO_SEEDERS``); it does nothing when
the data is already there, and writes everything with ``bulk_create`` (no
signals, so seeding writes no audit entries of its own beyond the history below).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from live_admin.models import AuditEntry, Subscription, UserActivity

USERS = 300
EMAIL_DOMAIN = "customers.example.com"
PLANS = (Decimal("9.00"), Decimal("29.00"), Decimal("79.00"), Decimal("249.00"))
FIRST = [
    "ada",
    "alan",
    "grace",
    "linus",
    "barbara",
    "ken",
    "margaret",
    "dennis",
    "frances",
    "edsger",
]
LAST = ["lovelace", "turing", "hopper", "torvalds", "liskov", "thompson", "hamilton", "ritchie"]


def seed(now: datetime.datetime | None = None) -> list[str]:
    """Create the panel's demo data once; return no extra login lines."""
    now = now or timezone.now()
    user_model = get_user_model()
    if user_model.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}").exists():
        return []
    password = make_password(None)
    users = [
        user_model(
            username=f"{FIRST[i % len(FIRST)]}.{LAST[(i // len(FIRST)) % len(LAST)]}{i}",
            email=f"customer{i}@{EMAIL_DOMAIN}",
            first_name=FIRST[i % len(FIRST)].title(),
            last_name=LAST[(i // len(FIRST)) % len(LAST)].title(),
            password=password,
            is_active=i % 11 != 0,
            date_joined=now - datetime.timedelta(days=(i * 37) % 720 + 1, minutes=i * 13),
        )
        for i in range(USERS)
    ]
    user_model.objects.bulk_create(users)
    created = list(user_model.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}").order_by("pk"))
    subscriptions = []
    activity = []
    for i, user in enumerate(created):
        if i % 10 < 7:
            plan = PLANS[i % len(PLANS)]
            started = user.date_joined + datetime.timedelta(days=1)
            if i % 6 == 0:
                # Cancelled within the last 60 days.
                cancelled = now - datetime.timedelta(days=(i * 7) % 60, hours=i % 24)
                started = min(started, cancelled - datetime.timedelta(days=1))
                subscriptions.append(
                    Subscription(
                        user=user,
                        status=Subscription.Status.CANCELLED,
                        monthly_amount=plan,
                        created=started,
                        cancelled_at=cancelled,
                    )
                )
            else:
                subscriptions.append(
                    Subscription(user=user, monthly_amount=plan, created=min(started, now))
                )
        activity.append(
            UserActivity(user=user, last_seen=now - datetime.timedelta(minutes=(i * 397) % 86_400))
        )
    Subscription.objects.bulk_create(subscriptions)
    seen = {row.user_id for row in activity}
    staff = list(user_model.objects.filter(is_staff=True).exclude(pk__in=seen))
    activity += [UserActivity(user=user, last_seen=now) for user in staff]
    UserActivity.objects.bulk_create(activity)
    AuditEntry.objects.bulk_create(history(created, staff, now))
    return []


def history(customers: list[Any], staff: list[Any], now: datetime.datetime) -> list[AuditEntry]:
    """Return a plausible past for the audit feed: sign-ups, logins, a few admin actions."""
    entries = []
    actor = staff[0] if staff else None
    actor_name = actor.get_username() if actor is not None else ""
    for i, user in enumerate(customers[:40]):
        username = user.get_username()
        label, target_id = f"{username} (#{user.pk})", str(user.pk)
        action, who, name = AuditEntry.Action.LOGIN, user, username
        if i % 8 == 3:
            action, who, name = AuditEntry.Action.USER_DEACTIVATED, actor, actor_name
        elif i % 8 == 6:
            action, who, name = AuditEntry.Action.LOGIN_FAILED, None, ""
            label, target_id = username, ""
        entries.append(
            AuditEntry(
                actor=who,
                actor_name=name,
                action=action,
                target=label,
                target_type="auth.user" if target_id else "",
                target_id=target_id,
                timestamp=now - datetime.timedelta(hours=(40 - i) * 3),
                ip=f"198.51.100.{i + 10}",
            )
        )
    return entries
