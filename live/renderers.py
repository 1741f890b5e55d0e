"""Renderers turn a component's context into HTML; ``Component.renderer`` picks one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.template.loader import get_template
from django.utils.html import escape

if TYPE_CHECKING:
    from live.component import Component


class Renderer(Protocol):
    """Anything that renders a component's inner HTML."""

    def render(self, component: Component, context: dict[str, Any]) -> str:
        """Return the inner HTML of ``component`` for ``context``."""


class TemplateRenderer:
    """Render ``component.template_name`` with Django's template engine (the default)."""

    def render(self, component: Component, context: dict[str, Any]) -> str:
        """Render the component's template with ``context``."""
        if not component.template_name:
            raise ImproperlyConfigured(
                f"{type(component).__qualname__} has no template_name; set it or use "
                "another renderer."
            )
        return get_template(component.template_name).render(context)


class MockRenderer:
    """Render without templates, for pure-Python tests.

    With a callable it returns ``func(context)``; without one, a stable text
    rendering of the component's state that tests can assert on.
    """

    def __init__(self, func: Callable[[dict[str, Any]], str] | None = None) -> None:
        self.func = func
        self.calls: list[dict[str, Any]] = []

    def render(self, component: Component, context: dict[str, Any]) -> str:
        """Record the call and return the mock HTML."""
        self.calls.append(context)
        if self.func is not None:
            return self.func(context)
        items = " ".join(f"{key}={value!r}" for key, value in sorted(component.state.items()))
        return f"<div>{escape(items)}</div>"
