"""Live components on Django admin pages: ``LiveWidgetsMixin`` for a ``ModelAdmin``.

Each entry of ``change_list_widgets`` / ``change_form_widgets`` is a live
component class, rendered above the changelist or the change form (the
change-form ones receive ``object_id``). Optional class attributes: ``label``,
``size`` (``"sm"``, ``"md"``, ``"lg"``: the grid span) and
``permission_required`` (users without it do not see the widget).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.core import checks
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from live.component import Component
from live.exceptions import LiveError
from live.mounted import url_for
from live.views import render_component

SIZES = ("sm", "md", "lg")

logger = logging.getLogger("live")


class LiveWidgetsMixin:
    """Render live widget components above a ModelAdmin's changelist and change form."""

    change_list_widgets: Sequence[type[Component]] = ()
    change_form_widgets: Sequence[type[Component]] = ()
    change_list_template = "live/admin/change_list.html"
    change_form_template = "live/admin/change_form.html"

    def get_live_widgets(
        self, request: HttpRequest, entries: Sequence[type[Component]], **params: Any
    ) -> list[dict[str, Any]]:
        """Return the widgets ``request.user`` may see, each mounted and rendered."""
        widgets = []
        for cls in entries:
            required = getattr(cls, "permission_required", None)
            needed = [required] if isinstance(required, str) else list(required or ())
            if not all(request.user.has_perm(perm) for perm in needed):
                continue
            try:
                mounted = render_component(request, cls, params)
            except LiveError as error:
                # A widget the user may not use is left out, like a missing permission.
                logger.info("live: widget %s left out: %s", cls.__qualname__, error.message)
                continue
            size = getattr(cls, "size", "md")
            widgets.append(
                {
                    "label": getattr(cls, "label", cls.__name__),
                    "size": size if size in SIZES else "md",
                    "html": mounted.root_html(url_for(cls.name)),
                }
            )
        return widgets

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponseBase:
        """Add the change-list widgets to the changelist."""
        widgets = self.get_live_widgets(request, self.change_list_widgets)
        context = {**(extra_context or {}), "live_widgets": widgets}
        return super().changelist_view(request, context)  # type: ignore[misc,no-any-return]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponseBase:
        """Add the change-form widgets, with ``object_id``, to the change form."""
        widgets = self.get_live_widgets(request, self.change_form_widgets, object_id=object_id)
        context = {**(extra_context or {}), "live_widgets": widgets}
        return super().change_view(request, object_id, form_url, context)  # type: ignore[misc,no-any-return]


def check_widgets(**kwargs: Any) -> list[checks.CheckMessage]:
    """System check: every widget entry of every admin is a registered live component."""
    from django.contrib.admin.sites import all_sites

    errors: list[checks.CheckMessage] = []
    for site in all_sites:
        for model, model_admin in site._registry.items():
            if not isinstance(model_admin, LiveWidgetsMixin):
                continue
            for attribute in ("change_list_widgets", "change_form_widgets"):
                for entry in getattr(model_admin, attribute):
                    if isinstance(entry, type) and issubclass(entry, Component) and entry.name:
                        continue
                    errors.append(
                        checks.Error(
                            f"{type(model_admin).__name__} for model "
                            f"{model._meta.label!r} lists {entry!r} in {attribute}, "
                            "which is not a registered live component.",
                            hint="Use a live.Component subclass decorated with "
                            "@live.register(...).",
                            obj=model_admin,
                            id="live.E001",
                        )
                    )
    return errors
