"""Internal: signed component tokens, bound to one session and user.

A token names a component (registered name, id, params) and the state version
it was issued at. Verification fails closed and tells invalid, expired and
outdated tokens apart.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing

from live import conf
from live.exceptions import ExpiredToken, InvalidToken, OutdatedToken
from live.types import Params

SALT = "live.token"
#: Format of the signed payload; tokens of an older format are ``OutdatedToken``.
TOKEN_FORMAT = 1


@dataclass(frozen=True)
class TokenData:
    """What a verified token says."""

    name: str
    component_id: str
    params: Params
    version: int


def binding(user_pk: Any, session_key: str | None) -> str:
    """Return the opaque binding of a token to a user and a session."""
    message = f"{user_pk if user_pk is not None else ''}|{session_key or ''}"
    key = hashlib.sha256(f"{SALT}{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:24]


def sign(*, name: str, component_id: str, params: Params, version: int, bound_to: str) -> str:
    """Return a signed token for a component instance."""
    payload = {
        "f": TOKEN_FORMAT,
        "n": name,
        "i": component_id,
        "p": params,
        "v": version,
        "b": bound_to,
    }
    return signing.dumps(payload, salt=SALT, compress=True)


def verify(
    token: object, *, bound_to: str, max_age: int | None = None, for_reload: bool = False
) -> TokenData:
    """Return the data of a valid ``token`` or raise a ``TokenError`` subclass.

    ``for_reload`` accepts expired and outdated tokens (still signed and bound):
    enough to mount the same component again with a fresh token.
    """
    if not isinstance(token, str) or not token or len(token) > 8192:
        raise InvalidToken("Missing or malformed component token")
    age = conf.get("TOKEN_MAX_AGE") if max_age is None else max_age
    try:
        payload = signing.loads(token, salt=SALT, max_age=None if for_reload else age)
    except signing.SignatureExpired as exc:
        raise ExpiredToken() from exc
    except (signing.BadSignature, ValueError) as exc:
        raise InvalidToken() from exc
    if not isinstance(payload, dict):
        raise InvalidToken()
    if payload.get("f") != TOKEN_FORMAT and not for_reload:
        raise OutdatedToken()
    name, component_id = payload.get("n"), payload.get("i")
    params, version = payload.get("p"), payload.get("v")
    if not (
        isinstance(name, str)
        and isinstance(component_id, str)
        and isinstance(params, dict)
        and isinstance(version, int)
    ):
        raise InvalidToken()
    if not hmac.compare_digest(str(payload.get("b", "")), bound_to):
        raise InvalidToken("Component token belongs to another session")
    return TokenData(name=name, component_id=component_id, params=params, version=version)
