"""Internal: reading what a client sent to a component endpoint, within the limits.

The body is read here, before anything else does (the CSRF check reads forms
too): JSON objects, urlencoded and multipart forms without files. Django's own
refusals (``RequestDataTooBig``, ``TooManyFieldsSent``, a broken multipart body)
become live errors (``as_live_error``), answered as JSON rather than with
Django's HTML pages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    SuspiciousMultipartForm,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.module_loading import import_string

from live import conf, frames
from live.component import short_repr
from live.exceptions import FrameTooLarge, LiveError, ProtocolError, UnsupportedMediaType

JSON = "application/json"
URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
#: Form fields that are the frame's envelope; the others make the payload.
ENVELOPE = {"id", "token", "event", "v", "ref", "state", "payload", "csrfmiddlewaretoken"}


def limit() -> int:
    """Return the largest body accepted, in bytes: ``MAX_FRAME_BYTES`` or Django's, if lower."""
    django_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    ours: int = conf.get("MAX_FRAME_BYTES")
    return ours if django_limit is None else min(ours, django_limit)


def declared_length(request: HttpRequest) -> int:
    """Return the request's ``Content-Length`` (0 when absent), or raise ``ProtocolError``."""
    raw = request.META.get("CONTENT_LENGTH") or "0"
    if not (isinstance(raw, str) and raw.isascii() and raw.isdigit()):
        raise ProtocolError("Content-Length must be a number of bytes")
    if len(raw) > 18:  # int() refuses more than 4300 digits; no body is this large anyway
        raise FrameTooLarge(f"Body is over the limit of {limit()} bytes")
    return int(raw)


#: Django's refusals of a request's data, raised where ``request.body``, ``POST`` or ``GET``
#: are read (``SuspiciousMultipartForm`` and the size and count limits are kinds of
#: ``SuspiciousOperation``).
REFUSALS = (SuspiciousOperation, MultiPartParserError, BadRequest)


def as_live_error(exc: Exception) -> LiveError:
    """Return the ``LiveError`` answering one of ``REFUSALS``."""
    if isinstance(exc, RequestDataTooBig):
        return FrameTooLarge(f"Body is over the limit of {limit()} bytes")
    if isinstance(exc, TooManyFieldsSent):
        return ProtocolError(
            f"Request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields"
        )
    if isinstance(exc, TooManyFilesSent):
        return ProtocolError(f"Request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files")
    if isinstance(exc, MultiPartParserError | SuspiciousMultipartForm):
        return ProtocolError("Body is not a valid multipart form")
    return ProtocolError("Malformed request")


def read(request: HttpRequest) -> dict[str, Any]:
    """Return a POSTed frame: a JSON object, or form fields with ``payload`` built from the rest.

    Raises ``FrameTooLarge`` (413), ``UnsupportedMediaType`` (415), ``ProtocolError``,
    or one of ``REFUSALS`` from Django's parsers.
    """
    most = limit()
    length = declared_length(request)
    if length > most:
        raise FrameTooLarge(f"Body of {length} bytes is over the limit of {most}")
    kind = request.content_type or ""
    if kind not in (JSON, URLENCODED, MULTIPART, ""):
        raise UnsupportedMediaType(
            f"Unsupported content type {short_repr(kind)}; send {JSON}, {URLENCODED} or {MULTIPART}"
        )
    body = request.body  # read once: the form parsers below reuse it
    if len(body) > most:  # a chunked or understated body
        raise FrameTooLarge(f"Body of {len(body)} bytes is over the limit of {most}")
    if kind == JSON:
        return frames.parse(body or b"{}", "Body")
    if kind == "":
        if body:
            raise UnsupportedMediaType(
                f"Missing content type; send {JSON}, {URLENCODED} or {MULTIPART}"
            )
        return {}
    if kind == URLENCODED and request.encoding and request.encoding.lower() != "utf-8":
        raise ProtocolError("Form bodies must be UTF-8 encoded")  # Django's parser says 400
    data: dict[str, Any] = {key: request.POST.get(key) for key in request.POST}
    if request.FILES:
        raise ProtocolError(
            f"File uploads are not accepted here: {short_repr(next(iter(request.FILES)))}"
        )
    payload: Any = data.get("payload")
    if isinstance(payload, str):
        payload = frames.parse(payload, "Field 'payload'", envelope=False)
    elif payload is None:
        payload = {key: value for key, value in data.items() if key not in ENVELOPE}
    data["payload"] = payload
    ref = data.get("ref")
    if isinstance(ref, str) and ref.isdecimal():
        # isdecimal, not isdigit: int() refuses digits such as "²"; past 4300 digits it
        # refuses any, and the string stays a string: "Event ref must be an integer".
        with contextlib.suppress(ValueError):
            data["ref"] = int(ref)
    return data


def _never_called(request: HttpRequest) -> HttpResponse:
    raise AssertionError("only process_view of the CSRF middleware runs here")


def csrf_refusal(request: HttpRequest) -> HttpResponseBase | None:
    """Return the CSRF failure response for ``request``, or ``None`` when it passes.

    The view is exempt from the middleware so that the body is read here first, within
    the limits; this applies the installed ``CsrfViewMiddleware`` (if any) just the same.
    """
    middleware: type[CsrfViewMiddleware] | None = None
    for path in settings.MIDDLEWARE:
        candidate = import_string(path)
        if isinstance(candidate, type) and issubclass(candidate, CsrfViewMiddleware):
            middleware = candidate
            break
    if middleware is None:
        return None
    check: Callable[..., HttpResponseBase | None] = middleware(_never_called).process_view
    return check(request, None, (), {})
