"""``live``: server-driven UI components over one WebSocket, for Django Channels.

The public API is re-exported here lazily, so that importing ``live`` (for
example from ``INSTALLED_APPS``) does not load Django models early.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from live.caching import CacheMixin
    from live.component import Component, broadcast_only
    from live.composition import compose
    from live.consumer import (
        ComponentConsumer,
        LiveConsumer,
    )
    from live.exceptions import (
        ComponentNotFound,
        EventError,
        ExpiredToken,
        Forbidden,
        FrameTooLarge,
        InvalidArguments,
        InvalidToken,
        LiveError,
        NotAuthenticated,
        NotFound,
        NotJoined,
        OutdatedToken,
        PermissionDenied,
        ProtocolError,
        RateLimited,
        StateLost,
        TokenError,
        TooManyComponents,
        Unavailable,
        UnknownEvent,
    )
    from live.fanout import (
        broadcast,
        broadcast_component_update,
    )
    from live.forms import (
        FormComponent,
        ModelFormComponent,
    )
    from live.model_component import DjangoModelComponent
    from live.optimistic import OptimisticMixin
    from live.origins import OriginValidator
    from live.permissions import (
        AllowAny,
        BasePermission,
        DjangoModelPermission,
        IsAuthenticated,
        IsStaff,
        IsSuperuser,
    )
    from live.registry import register
    from live.renderers import (
        MockRenderer,
        TemplateRenderer,
    )
    from live.throttling import (
        RateLimitMixin,
        rate_limit_component,
        request_client_key,
    )
    from live.views import (
        AuthenticatedComponentView,
        ComponentView,
        component_view,
        render_component,
    )
    from live.visitors import VisitorMiddleware, visitor_key

_EXPORTS = {
    "AllowAny": "live.permissions",
    "AuthenticatedComponentView": "live.views",
    "BasePermission": "live.permissions",
    "CacheMixin": "live.caching",
    "Component": "live.component",
    "ComponentConsumer": "live.consumer",
    "ComponentNotFound": "live.exceptions",
    "ComponentView": "live.views",
    "DjangoModelComponent": "live.model_component",
    "DjangoModelPermission": "live.permissions",
    "EventError": "live.exceptions",
    "ExpiredToken": "live.exceptions",
    "Forbidden": "live.exceptions",
    "FormComponent": "live.forms",
    "FrameTooLarge": "live.exceptions",
    "InvalidArguments": "live.exceptions",
    "InvalidToken": "live.exceptions",
    "IsAuthenticated": "live.permissions",
    "IsStaff": "live.permissions",
    "IsSuperuser": "live.permissions",
    "LiveConsumer": "live.consumer",
    "LiveError": "live.exceptions",
    "MockRenderer": "live.renderers",
    "ModelFormComponent": "live.forms",
    "NotAuthenticated": "live.exceptions",
    "NotFound": "live.exceptions",
    "NotJoined": "live.exceptions",
    "OptimisticMixin": "live.optimistic",
    "OriginValidator": "live.origins",
    "OutdatedToken": "live.exceptions",
    "PermissionDenied": "live.exceptions",
    "ProtocolError": "live.exceptions",
    "RateLimitMixin": "live.throttling",
    "RateLimited": "live.exceptions",
    "StateLost": "live.exceptions",
    "TemplateRenderer": "live.renderers",
    "TokenError": "live.exceptions",
    "TooManyComponents": "live.exceptions",
    "Unavailable": "live.exceptions",
    "UnknownEvent": "live.exceptions",
    "VisitorMiddleware": "live.visitors",
    "broadcast": "live.fanout",
    "broadcast_only": "live.component",
    "broadcast_component_update": "live.fanout",
    "component_view": "live.views",
    "compose": "live.composition",
    "rate_limit_component": "live.throttling",
    "register": "live.registry",
    "render_component": "live.views",
    "request_client_key": "live.throttling",
    "visitor_key": "live.visitors",
}

__all__ = [
    "AllowAny",
    "AuthenticatedComponentView",
    "BasePermission",
    "CacheMixin",
    "Component",
    "ComponentConsumer",
    "ComponentNotFound",
    "ComponentView",
    "DjangoModelComponent",
    "DjangoModelPermission",
    "EventError",
    "ExpiredToken",
    "Forbidden",
    "FormComponent",
    "FrameTooLarge",
    "InvalidArguments",
    "InvalidToken",
    "IsAuthenticated",
    "IsStaff",
    "IsSuperuser",
    "LiveConsumer",
    "LiveError",
    "MockRenderer",
    "ModelFormComponent",
    "NotAuthenticated",
    "NotFound",
    "NotJoined",
    "OptimisticMixin",
    "OriginValidator",
    "OutdatedToken",
    "PermissionDenied",
    "ProtocolError",
    "RateLimitMixin",
    "RateLimited",
    "StateLost",
    "TemplateRenderer",
    "TokenError",
    "TooManyComponents",
    "Unavailable",
    "UnknownEvent",
    "VisitorMiddleware",
    "broadcast",
    "broadcast_component_update",
    "broadcast_only",
    "component_view",
    "compose",
    "rate_limit_component",
    "register",
    "render_component",
    "request_client_key",
    "visitor_key",
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
