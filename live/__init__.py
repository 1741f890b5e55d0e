"""``live``: server-driven UI components over one WebSocket, for Django Channels.

The public API is re-exported here lazily, so that importing ``live`` (for
example from ``INSTALLED_APPS``) does not load Django models early.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from live.broadcast import broadcast, broadcast_component_update
    from live.component import Component
    from live.consumer import ComponentConsumer, LiveConsumer
    from live.exceptions import (
        ComponentNotFound,
        ExpiredToken,
        Forbidden,
        InvalidArguments,
        InvalidToken,
        LiveError,
        NotAuthenticated,
        OutdatedToken,
        PermissionDenied,
        ProtocolError,
        RateLimited,
        StateLost,
        TokenError,
        UnknownEvent,
    )
    from live.permissions import (
        AllowAny,
        BasePermission,
        DjangoModelPermission,
        IsAuthenticated,
        IsStaff,
        IsSuperuser,
    )
    from live.registry import register
    from live.renderers import MockRenderer, TemplateRenderer
    from live.views import AuthenticatedComponentView, ComponentView, component_view

_EXPORTS = {
    "AllowAny": "live.permissions",
    "AuthenticatedComponentView": "live.views",
    "BasePermission": "live.permissions",
    "Component": "live.component",
    "ComponentConsumer": "live.consumer",
    "ComponentNotFound": "live.exceptions",
    "ComponentView": "live.views",
    "DjangoModelPermission": "live.permissions",
    "ExpiredToken": "live.exceptions",
    "Forbidden": "live.exceptions",
    "InvalidArguments": "live.exceptions",
    "InvalidToken": "live.exceptions",
    "IsAuthenticated": "live.permissions",
    "IsStaff": "live.permissions",
    "IsSuperuser": "live.permissions",
    "LiveConsumer": "live.consumer",
    "LiveError": "live.exceptions",
    "MockRenderer": "live.renderers",
    "NotAuthenticated": "live.exceptions",
    "OutdatedToken": "live.exceptions",
    "PermissionDenied": "live.exceptions",
    "ProtocolError": "live.exceptions",
    "RateLimited": "live.exceptions",
    "StateLost": "live.exceptions",
    "TemplateRenderer": "live.renderers",
    "TokenError": "live.exceptions",
    "UnknownEvent": "live.exceptions",
    "broadcast": "live.broadcast",
    "broadcast_component_update": "live.broadcast",
    "component_view": "live.views",
    "register": "live.registry",
}

__all__ = [
    "AllowAny",
    "AuthenticatedComponentView",
    "BasePermission",
    "Component",
    "ComponentConsumer",
    "ComponentNotFound",
    "ComponentView",
    "DjangoModelPermission",
    "ExpiredToken",
    "Forbidden",
    "InvalidArguments",
    "InvalidToken",
    "IsAuthenticated",
    "IsStaff",
    "IsSuperuser",
    "LiveConsumer",
    "LiveError",
    "MockRenderer",
    "NotAuthenticated",
    "OutdatedToken",
    "PermissionDenied",
    "ProtocolError",
    "RateLimited",
    "StateLost",
    "TemplateRenderer",
    "TokenError",
    "UnknownEvent",
    "broadcast",
    "broadcast_component_update",
    "component_view",
    "register",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'live' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
