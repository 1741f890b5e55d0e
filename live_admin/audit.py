"""The audit trail: ``record()`` writes an ``AuditEntry`` and announces it to the panel.

The announcement goes to the ``admin-audit`` group only after the surrounding
transaction commits, so a rolled-back action never shows up in a live feed.
``acting_as(user, ip)`` names who is acting for the changes made inside it
(the signal receivers in ``live_admin.signals`` read it).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction

import live
from live_admin.models import AuditEntry

logger = logging.getLogger("live_admin")

#: The group every audit feed follows.
AUDIT_GROUP = "admin-audit"
#: The event each new entry is announced with; handled by ``on_entry_created``.
ENTRY_CREATED = "entry_created"

Action = AuditEntry.Action


@dataclass(frozen=True)
class Actor:
    """Who is acting in the current context, and from which address."""

    user: Any = None
    ip: str | None = None


_current: ContextVar[Actor | None] = ContextVar("live_admin_actor", default=None)


@contextmanager
def acting_as(user: Any, ip: str | None = None) -> Iterator[Actor]:
    """Attribute the audit entries written inside the block to ``user`` (and ``ip``)."""
    actor = Actor(user=user, ip=clean_ip(ip))
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def current_actor() -> Actor:
    """Return the actor set by the innermost ``acting_as``, or an empty ``Actor``."""
    return _current.get() or Actor()


def clean_ip(value: object) -> str | None:
    """Return ``value`` if it is an IP address, else ``None``."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def request_ip(request: Any) -> str | None:
    """Return the client address of a Django request (``REMOTE_ADDR``), if valid."""
    meta = getattr(request, "META", None) or {}
    return clean_ip(meta.get("REMOTE_ADDR"))


def describe(target: Any) -> tuple[str, str, str]:
    """Return ``(label, type, id)`` for a model instance, or ``(str(target), "", "")``."""
    if target is None:
        return "", "", ""
    if isinstance(target, models.Model):
        meta = target._meta
        name = target.get_username() if hasattr(target, "get_username") else str(target)
        label = f"{name} (#{target.pk})" if target.pk is not None else name
        return label[:255], f"{meta.app_label}.{meta.model_name}", str(target.pk or "")
    return str(target)[:255], "", ""


def _user_or_none(actor: Any) -> Any:
    if actor is None or not getattr(actor, "is_authenticated", False) or actor.pk is None:
        return None
    return actor


def record(
    actor: Any, action: str, target: Any, ip: str | None = None, **detail: Any
) -> AuditEntry:
    """Write an audit entry and announce it to ``admin-audit`` once the transaction commits.

    ``actor`` is a user (or ``None``/anonymous for the system); ``target`` a model
    instance or a label; ``detail`` is stored as JSON.
    """
    if action not in Action.values:
        valid = ", ".join(Action.values)
        raise ValueError(f"Unknown audit action {action!r}; valid actions: {valid}.")
    user = _user_or_none(actor)
    label, target_type, target_id = describe(target)
    entry = AuditEntry.objects.create(
        actor=user,
        actor_name=user.get_username() if user is not None else "",
        action=action,
        target=label,
        target_type=target_type,
        target_id=target_id,
        ip=clean_ip(ip),
        detail=detail,
    )
    entry_id = entry.pk
    transaction.on_commit(lambda: announce(entry_id))
    return entry


def announce(entry_id: int) -> None:
    """Tell every audit feed about entry ``entry_id``.

    Errors are logged, not raised: a channel layer that is down must not fail
    the action being audited (the entry is stored either way).
    """
    try:
        live.broadcast(AUDIT_GROUP, ENTRY_CREATED, entry_id=entry_id)
    except Exception:
        logger.exception("live_admin: could not announce audit entry %s", entry_id)
