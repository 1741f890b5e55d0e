"""Revocation: logout, deactivation and role changes reach every live socket of a user.

Signals send a ``live.revoke`` message to the user's group on every worker;
each consumer reloads the user (``load_user``) and drops the components the
user may no longer use. Logout also marks the session key as signed out in the
shared cache first, because Django flushes the session only after its signal:
every worker then treats that session as anonymous at once (sockets and HTTP).
Consumers also reload the user when the last check is older than
``LIVE["USER_RECHECK_INTERVAL"]``, so a change without a signal (``update()``,
deleted or expired sessions) or a lost message is seen within that interval.
"""

from __future__ import annotations

import contextlib
import hashlib
from types import SimpleNamespace
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model, user_logged_out
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from live import conf, outages, state, tokens
from live.exceptions import LiveError, NotAuthenticated
from live.fanout import send_soon

REVOKE_TYPE = "live.revoke"
#: Cache key prefix of signed-out session keys (hashed: keys are credentials).
SIGNED_OUT_PREFIX = "live:out:"
#: The message of the ``unauthenticated`` error a signed-out socket or request gets.
SIGNED_OUT = "Your session ended; reload the page"


def mark_key(session_key: str) -> str:
    """Return the cache key marking ``session_key`` as signed out."""
    digest = hashlib.sha256(f"{settings.SECRET_KEY}|{session_key}".encode()).hexdigest()
    return SIGNED_OUT_PREFIX + digest[:40]


def mark_signed_out(session_key: str | None, user_pk: Any = None) -> None:
    """Remember in the shared cache that ``session_key`` was signed out, as long as it could live.

    The tokens bound to that session and user are marked too: the browser drops the
    cookie at logout, and its page still holds them. A cache that does not answer is
    logged: the session is flushed all the same, and the periodic re-check sees that.
    """
    if not session_key:
        return
    ttl = max(int(settings.SESSION_COOKIE_AGE), int(conf.get("TOKEN_MAX_AGE")))
    marks = {
        mark_key(session_key): 1,
        mark_key(f"token:{tokens.binding(user_pk, session_key)}"): 1,
    }
    try:
        state.cache().set_many(marks, ttl)
    except outages.ERRORS as exc:
        outages.report("Redis", exc)


def is_signed_out(session_key: str | None) -> bool:
    """Return whether ``session_key`` was signed out (see ``mark_signed_out``)."""
    return bool(session_key) and state.cache().get(mark_key(str(session_key))) is not None


def load_user(session_key: str | None) -> Any:
    """Return the user session ``session_key`` holds now; anonymous once signed out or gone.

    Blocking (cache, session store, database): run it in a worker thread.
    """
    from django.contrib.auth import get_user
    from django.contrib.auth.models import AnonymousUser
    from django.utils.module_loading import import_string

    if not session_key or is_signed_out(session_key):
        return AnonymousUser()
    store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")(session_key)
    # Django's own rules: the backend, an active user, the session's auth hash.
    return get_user(SimpleNamespace(session=store))  # type: ignore[arg-type]


def check_request(request: Any) -> None:
    """Raise ``NotAuthenticated`` for an HTTP request whose session cookie was signed out."""
    if is_signed_out(request.COOKIES.get(settings.SESSION_COOKIE_NAME)):
        raise NotAuthenticated(SIGNED_OUT)


def session_ended(token: object, *, session: Any, cookie: str | None, user: Any) -> bool:
    """Return whether the signed ``token`` is refused because the session it was bound to ended.

    Its session logged out (the cookie may be gone with it), or the anonymous client's
    cookie names a session that is gone (deleted, expired), or that session's user can no
    longer sign in (deactivated): then ``unauthenticated`` rather than ``token_invalid``.
    """
    from django.contrib.auth import SESSION_KEY
    from django.core import signing

    if session is None or getattr(user, "is_authenticated", False):
        return False
    if not isinstance(token, str) or len(token) > 8192:
        return False
    try:
        payload = signing.loads(token, salt=tokens.SALT)  # forged ones stay token_invalid
    except (signing.BadSignature, ValueError):
        return False
    bound_to = payload.get("b") if isinstance(payload, dict) else None
    if isinstance(bound_to, str) and state.cache().get(mark_key(f"token:{bound_to}")) is not None:
        return True
    if not cookie:
        return False
    if cookie != session.session_key:
        return True
    former = session.get(SESSION_KEY)
    if former is None:
        return False
    with contextlib.suppress(LiveError):
        tokens.verify(token, bound_to=tokens.binding(former, session.session_key), for_reload=True)
        return True
    return False


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
    # Sent before Django flushes the session: mark it first, so a socket that re-checks
    # on the message below does not find the session still alive.
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    mark_signed_out(session_key, getattr(user, "pk", None))
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
