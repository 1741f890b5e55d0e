"""Internal: the registry of component names; the client only ever names these."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from django.utils.module_loading import autodiscover_modules

from live.exceptions import ComponentNotFound

if TYPE_CHECKING:
    from live.component import Component

C = TypeVar("C", bound="type[Component]")

_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,63}$")
_components: dict[str, type[Component]] = {}


def register(name: str) -> Callable[[C], C]:
    """Register the decorated component class under ``name``."""
    if not _NAME.match(name):
        raise ValueError(
            f"Invalid component name {name!r}: use lowercase letters, digits, '_' and '-', "
            "starting with a letter (at most 64 characters)."
        )

    def decorator(cls: C) -> C:
        existing = _components.get(name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ValueError(
                f"Component name {name!r} is already registered to "
                f"{existing.__module__}.{existing.__qualname__}."
            )
        from live.ratelimit import Rate

        # A typo in a limit fails at import, not at the first request it should limit.
        for rate in [cls.throttle_rate, *cls.rate_limits.values()]:
            if rate is not None:
                Rate.parse(rate)
        cls.name = name
        _components[name] = cls
        return cls

    return decorator


def unregister(name: str) -> None:
    """Remove ``name`` from the registry (tests use this for inline components)."""
    _components.pop(name, None)


def get(name: object) -> type[Component]:
    """Return the component registered as ``name``, or raise ``ComponentNotFound``."""
    if isinstance(name, str):
        cls = _components.get(name)
        if cls is not None:
            return cls
    from django.conf import settings

    if not settings.DEBUG:
        # The list would tell a stranger every component the site has.
        raise ComponentNotFound(f"Unknown component {name!r}.")
    known = ", ".join(sorted(_components)) or "(none)"
    raise ComponentNotFound(f"Unknown component {name!r}. Registered components: {known}.")


def names() -> list[str]:
    """Return the registered component names, sorted."""
    return sorted(_components)


def autodiscover() -> None:
    """Import the ``components`` module of every installed app."""
    autodiscover_modules("components")
