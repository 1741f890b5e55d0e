"""The ``{% load live %}`` tag library."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from live import conf
from live.component import Component
from live.exceptions import RateLimited
from live.optimistic import check_patch
from live.views import component_url, render_component

register = template.Library()


@register.simple_tag(takes_context=True)
def live_component(
    context: template.Context, component: str | Component, **params: Any
) -> SafeString:
    """Mount a component (a registered name, or a composed instance) and render its root.

    ``{% live_component "counter" start=3 %}`` or ``{% live_component product %}``
    for a component built by ``compose()`` in the view.
    """
    request = context.get("request")
    try:
        mounted = render_component(request, component, params)
    except RateLimited as error:
        # The rest of the page still renders; this place says why it is empty.
        return format_html(
            '<div class="live-error" role="alert" data-live-code="{}" data-live-retry-after="{}">'
            "{}</div>",
            error.code,
            error.retry_after,
            error.message,
        )
    return mounted.root_html(component_url(mounted.component.name))


@register.simple_tag(takes_context=True)
def live_scripts(context: template.Context) -> SafeString:
    """Render htmx, its WebSocket extension (from django-htmx), ``live.js`` and the CSRF token."""
    request = context.get("request")
    csrf = get_token(request) if request is not None else ""
    return format_html(
        '<meta name="live-csrf" content="{}">'
        '<script src="{}" defer></script>'
        '<script src="{}" defer></script>'
        '<script src="{}" data-ws-path="{}" defer></script>',
        csrf,
        static("django_htmx/htmx-2.min.js"),
        static("django_htmx/ext/hx-ws-2.min.js"),
        static("live/live.js"),
        conf.get("WS_PATH"),
    )


@register.simple_tag
def live_connect() -> SafeString:
    """Render the attributes that open the page's one live socket."""
    return format_html('hx-ext="ws" ws-connect="{}"', conf.get("WS_PATH"))


@register.simple_tag(takes_context=True)
def component_attrs(context: template.Context, component: Component | None = None) -> SafeString:
    """Render the identifying attributes of ``component`` (default: the one being rendered)."""
    target = component if component is not None else context.get("component")
    if not isinstance(target, Component):
        return mark_safe("")
    return target.root_attrs()


@register.filter
def component_state(component: Any, key: str | None = None) -> Any:
    """Return ``component.state[key]``, or the whole state as JSON without a key."""
    state = getattr(component, "state", {})
    if key is None:
        return json.dumps(state, default=str)
    return state.get(key, "")


@register.filter
def component_errors(component: Any, field: str | None = None) -> Any:
    """Return the error for ``field``, or every error as a ``{field: message}`` dict."""
    errors = getattr(component, "errors", {}) or {}
    if field is None:
        return errors
    return errors.get(field, "")


@register.simple_tag(takes_context=True)
def live_event(
    context: template.Context, event: str, trigger: str = "", **payload: Any
) -> SafeString:
    """Render the attributes that send ``event`` with ``payload`` (and its optimistic patch).

    ``<button {% live_event "toggle" user_id=user.pk %}>`` sends on click;
    ``trigger`` sets ``hx-trigger`` (e.g. ``"input changed delay:400ms"``).
    """
    component = context.get("component")
    parts = [format_html('ws-send live-event="{}"', event)]
    if payload:
        parts.append(format_html(' hx-vals="{}"', json.dumps(payload, default=str)))
    if trigger:
        parts.append(format_html(' hx-trigger="{}"', trigger))
    if isinstance(component, Component):
        patch = component.get_optimistic_patch(event, payload)
        if patch:
            parts.append(format_html(' data-live-optimistic="{}"', json.dumps(check_patch(patch))))
    return mark_safe("".join(parts))  # noqa: S308
