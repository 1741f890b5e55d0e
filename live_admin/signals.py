"""Signal receivers that turn user changes and authentication into audit entries.

Connected once by ``LiveAdminConfig.ready``. The values a user had when it was
loaded are remembered (from ``__dict__`` only, so deferred fields never cost a
query) and compared on save: a status change, a role change and other field
changes each write their own entry. Saves that change none of them (such as
``last_login`` at login) write nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model, user_logged_in, user_logged_out, user_login_failed
from django.db import IntegrityError, transaction
from django.db.models.signals import post_delete, post_init, post_save
from django.utils import timezone

import live
from live_admin import audit
from live_admin.models import UserActivity

logger = logging.getLogger("live_admin")

Action = audit.Action

#: The group the user tables follow; each change of a user is announced there.
USERS_GROUP = "admin-users"
USER_CHANGED = "user_changed"

STATUS_FIELD = "is_active"
ROLE_FIELDS = ("is_staff", "is_superuser")
PROFILE_FIELDS = ("username", "email", "first_name", "last_name", "password")
TRACKED = (STATUS_FIELD, *ROLE_FIELDS, *PROFILE_FIELDS)
_ORIGINAL = "_live_admin_original"


def remember(instance: Any) -> None:
    """Keep the tracked values ``instance`` holds now, to compare at the next save."""
    values = instance.__dict__
    setattr(instance, _ORIGINAL, {field: values[field] for field in TRACKED if field in values})


def changes_of(instance: Any, update_fields: Any = None) -> dict[str, list[Any]]:
    """Return ``{field: [old, new]}`` for the tracked fields changed since ``remember``."""
    original: dict[str, Any] = getattr(instance, _ORIGINAL, {})
    fields = [f for f in TRACKED if update_fields is None or f in update_fields]
    changed = {}
    for field in fields:
        if field in original and field in instance.__dict__:
            old, new = original[field], instance.__dict__[field]
            if old != new:
                changed[field] = [old, new]
    if "password" in changed:
        # Never store hashes in the trail.
        changed["password"] = ["***", "***"]
    return changed


def announce_user(user_pk: Any) -> None:
    """Tell every user table that user ``user_pk`` changed, once the transaction commits."""

    def send() -> None:
        try:
            live.broadcast(USERS_GROUP, USER_CHANGED, user_id=user_pk)
        except Exception:
            logger.exception("live_admin: could not announce user %s", user_pk)

    transaction.on_commit(send)


def _on_user_init(sender: Any, instance: Any, **kwargs: Any) -> None:
    remember(instance)


def _on_user_saved(
    sender: Any,
    instance: Any,
    created: bool = False,
    raw: bool = False,
    update_fields: Any = None,
    **kwargs: Any,
) -> None:
    if raw:
        return
    actor = audit.current_actor()
    if created:
        audit.record(
            actor.user,
            Action.USER_CREATED,
            instance,
            actor.ip,
            is_staff=bool(getattr(instance, "is_staff", False)),
            is_superuser=bool(getattr(instance, "is_superuser", False)),
        )
        remember(instance)
        announce_user(instance.pk)
        return
    changed = changes_of(instance, update_fields)
    remember(instance)
    if not changed:
        return
    if STATUS_FIELD in changed:
        action = Action.USER_ACTIVATED if changed[STATUS_FIELD][1] else Action.USER_DEACTIVATED
        audit.record(actor.user, action, instance, actor.ip)
    roles = {field: changed[field] for field in ROLE_FIELDS if field in changed}
    if roles:
        audit.record(actor.user, Action.ROLE_CHANGED, instance, actor.ip, **roles)
    profile = {field: changed[field] for field in PROFILE_FIELDS if field in changed}
    if profile:
        audit.record(actor.user, Action.USER_UPDATED, instance, actor.ip, changes=profile)
    announce_user(instance.pk)


def _on_user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    actor = audit.current_actor()
    user = actor.user
    if user is not None and getattr(user, "pk", None) == instance.pk:
        # The row is gone: an entry cannot point at it.
        user = None
    audit.record(user, Action.USER_DELETED, instance, actor.ip)
    announce_user(instance.pk)


def touch(user: Any) -> None:
    """Record that ``user`` was seen now.

    One write statement, not a read then a write in a transaction: on SQLite the
    latter fails at once ("database is locked") while another connection writes.
    """
    now = timezone.now()
    if UserActivity.objects.filter(user=user).update(last_seen=now):
        return
    try:
        with transaction.atomic():
            UserActivity.objects.create(user=user, last_seen=now)
    except IntegrityError:
        # Created meanwhile by another login of the same user.
        UserActivity.objects.filter(user=user).update(last_seen=now)


def _on_logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None or user.pk is None:
        return
    audit.record(user, Action.LOGIN, user, audit.request_ip(request))
    touch(user)


def _on_logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None or user.pk is None:
        return
    audit.record(user, Action.LOGOUT, user, audit.request_ip(request))


def _on_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    field = getattr(get_user_model(), "USERNAME_FIELD", "username")
    username = str(credentials.get(field) or credentials.get("username") or "")[:150]
    audit.record(None, Action.LOGIN_FAILED, username, audit.request_ip(request), username=username)


def connect() -> None:
    """Connect the receivers; called once from ``LiveAdminConfig.ready``."""
    user_model = get_user_model()
    post_init.connect(_on_user_init, sender=user_model, dispatch_uid="live_admin.user_init")
    post_save.connect(_on_user_saved, sender=user_model, dispatch_uid="live_admin.user_saved")
    post_delete.connect(_on_user_deleted, sender=user_model, dispatch_uid="live_admin.user_deleted")
    user_logged_in.connect(_on_logged_in, dispatch_uid="live_admin.logged_in")
    user_logged_out.connect(_on_logged_out, dispatch_uid="live_admin.logged_out")
    user_login_failed.connect(_on_login_failed, dispatch_uid="live_admin.login_failed")
