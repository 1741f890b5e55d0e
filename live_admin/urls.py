"""URLs of the admin panel: the page and the HTTP endpoints of its components."""

from __future__ import annotations

from django.urls import path

from live_admin import views

app_name = "live_admin"

urlpatterns = [
    path("", views.panel, name="panel"),
    path("components/users/", views.UsersView.as_view(), name="users"),
    path("components/metrics/", views.MetricsView.as_view(), name="metrics"),
    path("components/audit-log/", views.AuditLogView.as_view(), name="audit_log"),
    path("components/user-edit/", views.UserEditView.as_view(), name="user_edit"),
]
