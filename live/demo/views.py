"""Internal: the tour page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def tour(request: HttpRequest) -> HttpResponse:
    """Render the tour page with its two live components."""
    return render(request, "live_demo/tour.html")
