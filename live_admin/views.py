"""The panel page and the HTTP endpoints of its components.

The page is for staff; anyone else gets the login page. The component
endpoints answer JSON 401/403 instead, never a redirect.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

import live


def is_staff(user: Any) -> bool:
    """Return whether ``user`` is active staff."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def panel(request: HttpRequest) -> HttpResponse:
    """Render the panel: KPI cards, the user table with its edit form, and the audit feed."""
    if not is_staff(request.user):
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    return render(request, "live_admin/panel.html", {"can_edit": bool(request.user.is_superuser)})


class StaffComponentView(live.ComponentView):
    """A component endpoint for active staff (JSON 401/403 otherwise)."""

    permission_classes: ClassVar[Any] = (live.IsStaff,)


class UsersView(StaffComponentView):
    """The user table over HTTP."""

    component_name = "users"


class MetricsView(StaffComponentView):
    """The KPI cards over HTTP."""

    component_name = "metrics"


class AuditLogView(StaffComponentView):
    """The audit feed over HTTP."""

    component_name = "audit_log"


class UserEditView(live.ComponentView):
    """The user edit form over HTTP, for superusers only."""

    component_name = "user_edit"
    permission_classes: ClassVar[Any] = (live.IsSuperuser,)
