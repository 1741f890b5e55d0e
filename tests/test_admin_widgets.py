"""Live widgets on Django admin pages, and the system check for them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import include, path

import live
from live import registry
from live.admin_widgets import LiveWidgetsMixin, check_widgets

pytestmark = pytest.mark.django_db


class SignupsToday(live.Component):
    label = "Sign-ups today"
    size = "sm"
    renderer = live.MockRenderer(lambda ctx: f"<b>{ctx['count']}</b>")

    def mount(self) -> None:
        self.state = {"count": get_user_model().objects.count()}


class UserHistory(live.Component):
    label = "History"
    size = "lg"
    permission_required = "auth.view_user"
    renderer = live.MockRenderer(lambda ctx: f"<i>user {ctx['params']['object_id']}</i>")


class Admin(LiveWidgetsMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    change_list_widgets: ClassVar[list[Any]] = [SignupsToday]
    change_form_widgets: ClassVar[list[Any]] = [UserHistory]


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    live.register("t_signups")(SignupsToday)
    live.register("t_history")(UserHistory)
    yield
    registry.unregister("t_signups")
    registry.unregister("t_history")


test_site = admin.AdminSite(name="t_admin")
test_site.register(get_user_model(), Admin)
urlpatterns = [path("t-admin/", test_site.urls), path("live/", include("live.urls"))]


@pytest.fixture
def site() -> admin.AdminSite:
    return test_site


def request_for(user: Any, path: str = "/") -> Any:
    from django.contrib.sessions.backends.db import SessionStore

    request = RequestFactory().get(path)
    request.user = user
    request.session = SessionStore()
    return request


def test_widgets_render_with_label_size_and_object_id(
    site: admin.AdminSite, admin_user: Any
) -> None:
    model_admin = site._registry[get_user_model()]
    widgets = model_admin.get_live_widgets(request_for(admin_user), model_admin.change_list_widgets)  # type: ignore[attr-defined]
    assert [(w["label"], w["size"]) for w in widgets] == [("Sign-ups today", "sm")]
    assert "<b>1</b>" in widgets[0]["html"]
    assert 'data-live-name="t_signups"' in widgets[0]["html"]
    widgets = model_admin.get_live_widgets(  # type: ignore[attr-defined]
        request_for(admin_user), model_admin.change_form_widgets, object_id="7"
    )
    assert "<i>user 7</i>" in widgets[0]["html"]


def test_users_without_the_permission_do_not_see_the_widget(
    site: admin.AdminSite, django_user_model: Any
) -> None:
    staff = django_user_model.objects.create_user("s", password="p", is_staff=True)
    model_admin = site._registry[get_user_model()]
    widgets = model_admin.get_live_widgets(request_for(staff), model_admin.change_form_widgets)  # type: ignore[attr-defined]
    assert widgets == []


def test_system_check_names_admin_model_and_entry(site: admin.AdminSite) -> None:
    from django.contrib.admin import sites

    class Broken(LiveWidgetsMixin, admin.ModelAdmin):  # type: ignore[type-arg]
        change_list_widgets: ClassVar[list[Any]] = [SignupsToday, dict]

    bad_site = admin.AdminSite(name="t_bad")
    bad_site.register(get_user_model(), Broken)
    try:
        errors = [e for e in check_widgets() if e.obj.admin_site is bad_site]
    finally:
        sites.all_sites.discard(bad_site)
    assert [e.id for e in errors] == ["live.E001"]
    assert errors[0].msg == (
        "Broken for model 'auth.User' lists <class 'dict'> in change_list_widgets, "
        "which is not a registered live component."
    )


@pytest.mark.urls("tests.test_admin_widgets")
def test_changelist_and_change_form_pages_show_the_widgets(admin_client: Any) -> None:
    html = admin_client.get("/t-admin/auth/user/").content.decode()
    assert 'class="live-widgets" hx-ext="ws" ws-connect="/ws/live/"' in html
    assert '<section class="live-widget live-widget-sm"><h3>Sign-ups today</h3>' in html
    assert "/static/live/live.js" in html
    pk = get_user_model().objects.get().pk
    html = admin_client.get(f"/t-admin/auth/user/{pk}/change/").content.decode()
    assert f"<i>user {pk}</i>" in html
