"""Revocation: logout, deactivation and role changes reach every live socket of a user.

Signals send a ``live.revoke`` message to the user's group on every worker;
each consumer reloads the user from its session and drops the components the
user may no longer use. Consumers also reload the user before an event when
the last check is older than ``LIVE["USER_RECHECK_INTERVAL"]``, so a lost
message delays revocation by at most that interval.
"""

from __future__ import annotations

from typing import Any

from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model, user_logged_out
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from live.fanout import send_soon

REVOKE_TYPE = "live.revoke"


def user_group(user_pk: Any) -> str:
    """Return the group every socket of user ``user_pk`` joins."""
    return f"live-user-{user_pk}"


def revoke(user_pk: Any) -> None:
    """Tell every socket of ``user_pk`` to re-check its user, after the transaction commits."""
    if user_pk is None:
        return
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": REVOKE_TYPE, "user": str(user_pk)}
    transaction.on_commit(lambda: send_soon(lambda: layer.group_send(user_group(user_pk), message)))


def _on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        revoke(user.pk)


def _on_user_saved(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    if not created:
        revoke(instance.pk)


def _on_user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    revoke(instance.pk)


def _on_m2m(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any
) -> None:
    if not action.startswith("post_"):
        return
    if isinstance(instance, get_user_model()):
        revoke(instance.pk)
    elif pk_set:
        # A group's or permission's users changed: every named user re-checks.
        for pk in pk_set:
            revoke(pk)


def connect_signals() -> None:
    """Connect the receivers; called once from ``LiveConfig.ready``."""
    user_model = get_user_model()
    user_logged_out.connect(_on_logout, dispatch_uid="live.revoke.logout")
    post_save.connect(_on_user_saved, sender=user_model, dispatch_uid="live.revoke.save")
    post_delete.connect(_on_user_deleted, sender=user_model, dispatch_uid="live.revoke.delete")
    for field in ("groups", "user_permissions"):
        through = getattr(user_model, field, None)
        if through is not None:
            m2m_changed.connect(
                _on_m2m, sender=through.through, dispatch_uid=f"live.revoke.{field}"
            )
