"""HTTP routes of the bench server: mounting, the plain view, fan-out triggers, stats."""

from __future__ import annotations

from django.urls import include, path

from bench import views

urlpatterns = [
    path("bench/mount/<str:name>/", views.mount, name="bench-mount"),
    path("bench/plain/table/", views.plain_table, name="bench-plain-table"),
    path("bench/fanout/<str:target>/", views.fanout, name="bench-fanout"),
    path("bench/stats/", views.stats, name="bench-stats"),
    path("live/", include("live.urls")),
]
