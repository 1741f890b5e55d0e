"""Anonymous visitors without a stored session: ``VisitorMiddleware`` and ``visitor_key``.

A cookieless visitor gets a random id in a signed, HttpOnly cookie; their
component tokens are bound to it as they would be to a session key, so the
first render of a component stores nothing but its snapshot. Logged-in users
are still bound to their session.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.crypto import salted_hmac

COOKIE = "live_visitor"
SALT = "live.visitor"
#: Seconds the visitor cookie lives in the browser (as long as a session cookie).
MAX_AGE = 14 * 24 * 3600
_NEW = "_live_new_visitor"
_CAN_SET = "_live_visitor_cookie"


def identity(user_pk: Any, session_key: str | None, visitor: str | None) -> str | None:
    """Return what a token is bound to besides the user: the session, or the visitor's id.

    Logged-in users keep their session; an anonymous visitor's cookie wins over a
    session created later (for a cart), so their tokens stay valid.
    """
    if user_pk is None and visitor:
        return f"v:{visitor}"
    return session_key


def _unsign(value: object) -> str | None:
    if not isinstance(value, str) or not value or len(value) > 200:
        return None
    try:
        return signing.TimestampSigner(salt=SALT).unsign(value, max_age=MAX_AGE)
    except signing.BadSignature:
        return None


def from_request(request: HttpRequest) -> str | None:
    """Return the visitor id of ``request``: from its cookie, or minted for it in this request."""
    minted: str | None = getattr(request, _NEW, None)
    return minted or _unsign(request.COOKIES.get(COOKIE))


def from_scope(scope: Mapping[str, Any]) -> str | None:
    """Return the visitor id a socket's cookie carries (Channels' ``CookieMiddleware`` sets it)."""
    cookies = scope.get("cookies")
    return _unsign(cookies.get(COOKIE)) if isinstance(cookies, Mapping) else None


def can_set_cookie(request: HttpRequest) -> bool:
    """Return whether the answer to ``request`` will carry a newly minted visitor cookie."""
    return bool(getattr(request, _CAN_SET, False))


def allow_cookie(request: HttpRequest) -> None:
    """Promise that ``set_cookie`` runs on the answer to ``request``."""
    setattr(request, _CAN_SET, True)


def mint_visitor(request: HttpRequest) -> str:
    """Return the visitor id of ``request``, minting one (sent by ``set_cookie``) if it has none."""
    visitor = from_request(request)
    if visitor is None:
        visitor = secrets.token_urlsafe(18)
        setattr(request, _NEW, visitor)
    return visitor


def visitor_key(request: HttpRequest, mint: bool = True) -> str | None:
    """Return a stable key naming the browser's visitor cookie, or ``None`` without one.

    Not the cookie's secret: safe to store (e.g. an anonymous cart's owner) and sign into
    params. With ``mint``, an anonymous visitor known by no session gets a cookie, if the
    answer can carry it.
    """
    visitor = from_request(request)
    if visitor is None and mint and can_set_cookie(request):
        user = getattr(request, "user", None)
        session_key = getattr(getattr(request, "session", None), "session_key", None)
        if session_key is None and not (user is not None and user.is_authenticated):
            visitor = mint_visitor(request)
    if visitor is None:
        return None
    return salted_hmac(SALT + ".key", visitor, algorithm="sha256").hexdigest()[:32]


def set_cookie(request: HttpRequest, response: HttpResponseBase) -> None:
    """Send the visitor id minted for ``request``, if one was."""
    visitor = getattr(request, _NEW, None)
    if visitor is None:
        return
    response.set_cookie(
        COOKIE,
        signing.TimestampSigner(salt=SALT).sign(visitor),
        max_age=MAX_AGE,
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite=settings.SESSION_COOKIE_SAMESITE or "Lax",
    )


class VisitorMiddleware:
    """Let pages that render components bind anonymous visitors by cookie, not by a session.

    Without it, a page's ``{% live_component %}`` saves a session for a cookieless
    visitor (component endpoints set the cookie themselves).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Called for each request; send the visitor cookie if the page minted one."""
        allow_cookie(request)
        response = self.get_response(request)
        set_cookie(request, response)
        return response
