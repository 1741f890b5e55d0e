"""Site URLs: the tour, the live HTTP fallback, login and the Django admin."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("", include("live.demo.urls")),
    path("live/", include("live.urls")),
    path("admin-panel/", include("live_admin.urls")),
    path("shop/", include("live_shop.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
