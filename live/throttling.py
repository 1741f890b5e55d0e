"""Rate limits for HTTP views: ``RateLimitMixin`` and ``rate_limit_component``.

Counters live in the shared cache (see ``live.ratelimit``), so every worker
enforces the same limit. Over the limit: 429 JSON with ``Retry-After``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from live import ratelimit
from live.exceptions import RateLimited


def request_client_key(request: HttpRequest) -> str:
    """Return who a request counts against: the user, else the session, else the address."""
    session = getattr(request, "session", None)
    return ratelimit.client_key(
        getattr(request, "user", None),
        getattr(session, "session_key", None),
        request.META.get("REMOTE_ADDR"),
    )


def counted_components(request: HttpRequest) -> set[str]:
    """Return the names of the components whose ``throttle_rate`` this request counted already.

    A request counts once against each component it renders, however many times.
    """
    counted: set[str] = request.__dict__.setdefault("live_throttled", set())
    return counted


class RateLimitMixin:
    """Limit a view to ``throttle_rate`` (e.g. ``"30/minute"``) per user, session or address.

    With ``throttle_component`` (a registered name) the view counts against that
    component's own ``throttle_rate`` instead: pages, endpoints and the socket share it.
    """

    throttle_rate: ClassVar[str | None] = None
    throttle_component: ClassVar[str | None] = None

    def get_throttle_key(self, request: HttpRequest, **kwargs: Any) -> str:
        """Return the counter key; the view's class and the client by default."""
        return f"view:{type(self).__qualname__}:{request_client_key(request)}"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """Count the request; answer 429 when over the limit."""
        from live import registry
        from live.views import error_response

        try:
            if self.throttle_component:
                component_cls = registry.get(self.throttle_component)
                client = request_client_key(request)
                ratelimit.hit_component(component_cls, client, counted_components(request))
            if self.throttle_rate:
                ratelimit.hit(self.get_throttle_key(request, **kwargs), self.throttle_rate)
        except RateLimited as error:
            return error_response(error)
        response: HttpResponseBase = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return response


def rate_limit_component(
    rate: str, key: Callable[..., str] | None = None
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Decorate a view callable so it answers 429 over ``rate`` per client (or per ``key``)."""
    ratelimit.Rate.parse(rate)

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            from live.views import error_response

            ident = key(request, *args, **kwargs) if key else request_client_key(request)
            try:
                ratelimit.hit(f"view:{view.__module__}.{view.__qualname__}:{ident}", rate)
            except RateLimited as error:
                return error_response(error)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
