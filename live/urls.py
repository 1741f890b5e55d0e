"""URLs of the HTTP fallback; include with ``path("live/", include("live.urls"))``."""

from __future__ import annotations

from django.urls import path

from live.views import component_view, job_page

app_name = "live"

urlpatterns = [
    path("components/<str:name>/", component_view, name="component"),
    path("jobs/<uuid:job_id>/", job_page, name="job"),
]
