"""Internal: URLs of the tour."""

from __future__ import annotations

from django.urls import path

from live.demo import views

urlpatterns = [path("", views.tour, name="tour")]
