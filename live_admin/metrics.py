"""The KPIs of the dashboard: MAU, MRR and churn, computed in two queries."""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from live_admin.models import Subscription, UserActivity

#: The window of MAU and churn.
WINDOW = datetime.timedelta(days=30)
CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Metrics:
    """The dashboard's figures, JSON-safe: amounts and rates are decimal strings."""

    mau: int
    mrr: str
    churn_rate: str
    active_subscriptions: int
    cancellations: int
    subscriptions_at_start: int
    refreshed_at: str

    def as_state(self) -> dict[str, Any]:
        """Return the figures as a component state."""
        return asdict(self)


def churn_rate(cancellations: int, at_start: int) -> Decimal:
    """Return ``cancellations / at_start`` as a percentage with two decimals (0 when empty)."""
    if at_start <= 0:
        return Decimal("0.00")
    return (Decimal(cancellations) * 100 / Decimal(at_start)).quantize(
        CENTS, rounding=ROUND_HALF_UP
    )


def compute(now: datetime.datetime | None = None) -> Metrics:
    """Compute the figures at ``now``.

    - MAU: distinct users seen in the last 30 days.
    - MRR: the sum of the monthly amounts of active subscriptions.
    - Churn: subscriptions cancelled in the last 30 days, divided by the
      subscriptions that existed (created, not yet cancelled) when the window began.
    """
    now = now or timezone.now()
    start = now - WINDOW
    existed_at_start = Q(created__lt=start) & (
        Q(cancelled_at__isnull=True) | Q(cancelled_at__gte=start)
    )
    mau = UserActivity.objects.filter(last_seen__gte=start, last_seen__lte=now).count()
    figures = Subscription.objects.aggregate(
        mrr=Sum("monthly_amount", filter=Q(status=Subscription.Status.ACTIVE)),
        active=Count("id", filter=Q(status=Subscription.Status.ACTIVE)),
        cancellations=Count("id", filter=Q(cancelled_at__gte=start, cancelled_at__lte=now)),
        at_start=Count("id", filter=existed_at_start),
    )
    mrr = Decimal(figures["mrr"] or 0).quantize(CENTS, rounding=ROUND_HALF_UP)
    return Metrics(
        mau=mau,
        mrr=str(mrr),
        churn_rate=str(churn_rate(figures["cancellations"], figures["at_start"])),
        active_subscriptions=figures["active"],
        cancellations=figures["cancellations"],
        subscriptions_at_start=figures["at_start"],
        refreshed_at=now.isoformat(),
    )
