"""The panel page and its component endpoints over HTTP: access, JSON errors, query budgets."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from live_admin.models import AuditEntry
from live_admin.seed import seed

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()


@pytest.fixture
def user(django_user_model: Any) -> Any:
    """A customer: logged in, not staff (no password: hashing one is slow)."""
    return django_user_model.objects.create_user("alice", "alice@example.com")


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def root(html: str, name: str) -> dict[str, str]:
    match = re.search(
        rf'data-live-id="(lv[0-9a-f]+)" data-live-name="{name}" data-live-token="([^"]+)"', html
    )
    assert match, f"no root for {name}"
    return {"id": match.group(1), "token": match.group(2)}


# The page --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who",
    [pytest.param("anonymous", id="anonymous"), pytest.param("customer", id="not-staff")],
)
def test_panel_sends_everyone_but_staff_to_the_login_page(user: Any, who: str) -> None:
    client = client_for(user if who == "customer" else None)
    response = client.get("/admin-panel/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin-panel/"


def test_inactive_staff_is_sent_to_the_login_page(staff: Any) -> None:
    client = client_for(staff)
    User.objects.filter(pk=staff.pk).update(is_active=False)
    assert client.get("/admin-panel/").status_code == 302


def test_superuser_gets_the_four_components(boss: Any) -> None:
    html = client_for(boss).get("/admin-panel/").content.decode()
    names = re.findall(r'data-live-name="(\w+)" data-live-token=', html)
    assert names == ["metrics", "users", "user_edit", "audit_log"]
    assert 'hx-ext="ws" ws-connect="/ws/live/"' in html
    assert "/static/live_admin/panel.css" in html
    assert "/static/live_admin/panel.js" in html
    assert "Choose <strong>Edit</strong> on a row" in html


def test_superuser_rows_have_edit_buttons(boss: Any, staff: Any) -> None:
    html = client_for(boss).get("/admin-panel/").content.decode()
    assert f'data-edit-user="{staff.pk}"' in html
    assert f'data-edit-user="{boss.pk}"' in html


def test_staff_gets_a_read_only_panel(staff: Any, user: Any) -> None:
    html = client_for(staff).get("/admin-panel/").content.decode()
    names = re.findall(r'data-live-name="(\w+)" data-live-token=', html)
    assert names == ["metrics", "users", "audit_log"]
    assert "Read-only: only superusers can edit users." in html
    assert "data-edit-user=" not in html


# Component endpoints -----------------------------------------------------------------------------

UNAUTHENTICATED = {"error": "Authentication required", "code": "unauthenticated"}
STAFF_REQUIRED = {"error": "Staff access required", "code": "forbidden"}
SUPERUSER_REQUIRED = {"error": "Superuser access required", "code": "forbidden"}


@pytest.mark.parametrize(
    ("url", "who", "status", "body"),
    [
        pytest.param("/admin-panel/components/users/", None, 401, UNAUTHENTICATED, id="users-anon"),
        pytest.param(
            "/admin-panel/components/users/", "customer", 403, STAFF_REQUIRED, id="users-customer"
        ),
        pytest.param(
            "/admin-panel/components/metrics/", None, 401, UNAUTHENTICATED, id="metrics-anon"
        ),
        pytest.param(
            "/admin-panel/components/metrics/",
            "customer",
            403,
            STAFF_REQUIRED,
            id="metrics-customer",
        ),
        pytest.param(
            "/admin-panel/components/audit-log/",
            "customer",
            403,
            STAFF_REQUIRED,
            id="audit-customer",
        ),
        pytest.param(
            "/admin-panel/components/user-edit/", None, 401, UNAUTHENTICATED, id="edit-anon"
        ),
        pytest.param(
            "/admin-panel/components/user-edit/",
            "customer",
            403,
            SUPERUSER_REQUIRED,
            id="edit-customer",
        ),
        pytest.param(
            "/admin-panel/components/user-edit/",
            "staff",
            403,
            SUPERUSER_REQUIRED,
            id="edit-staff",
        ),
    ],
)
@pytest.mark.parametrize("method", [pytest.param("get", id="GET"), pytest.param("post", id="POST")])
def test_component_endpoints_answer_json_never_a_redirect(
    user: Any,
    staff: Any,
    url: str,
    who: str | None,
    status: int,
    body: dict[str, str],
    method: str,
) -> None:
    client = client_for({"customer": user, "staff": staff, None: None}[who])
    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, "{}", content_type="application/json")
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == body


@pytest.mark.parametrize(
    ("url", "who", "status", "body"),
    [
        pytest.param("/live/components/user_edit/", "staff", 403, SUPERUSER_REQUIRED, id="edit"),
        pytest.param("/live/components/users/", None, 401, UNAUTHENTICATED, id="users"),
        pytest.param("/live/components/audit_log/", "customer", 403, STAFF_REQUIRED, id="audit"),
    ],
)
def test_generic_endpoints_apply_the_components_permissions(
    user: Any, staff: Any, url: str, who: str | None, status: int, body: dict[str, str]
) -> None:
    response = client_for({"customer": user, "staff": staff, None: None}[who]).get(url)
    assert response.status_code == status
    assert response.json() == body


@pytest.mark.parametrize(
    ("url", "marker"),
    [
        pytest.param("/admin-panel/components/users/", 'data-live-name="users"', id="users"),
        pytest.param("/admin-panel/components/metrics/", 'id="kpi-mau"', id="metrics"),
        pytest.param("/admin-panel/components/audit-log/", "Audit log", id="audit-log"),
    ],
)
def test_staff_endpoints_render_for_staff(staff: Any, url: str, marker: str) -> None:
    response = client_for(staff).get(url)
    assert response.status_code == 200
    assert marker in response.content.decode()


def test_edit_endpoint_opens_a_user_for_a_superuser(boss: Any, user: Any) -> None:
    response = client_for(boss).get("/admin-panel/components/user-edit/", {"pk": user.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Edit alice (#{user.pk})" in html
    assert 'value="alice@example.com"' in html


def test_edit_endpoint_bad_pk_is_a_json_400(boss: Any) -> None:
    response = client_for(boss).get("/admin-panel/components/user-edit/", {"pk": "x"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "Invalid user id 'x'",
        "code": "invalid_args",
        "fields": {"pk": "Enter a whole number"},
    }


def post_event(
    client: Client, url: str, mounted: dict[str, str], event: str, **payload: Any
) -> Any:
    return client.post(
        url,
        json.dumps({"token": mounted["token"], "event": event, "payload": payload}),
        content_type="application/json",
    )


def test_toggle_over_the_http_fallback(staff: Any, user: Any) -> None:
    client = client_for(staff)
    url = "/admin-panel/components/users/"
    mounted = root(client.get(url).content.decode(), "users")
    response = post_event(client, url, mounted, "toggle", user_id=user.pk, active=False)
    assert response.status_code == 200
    html = response.json()["html"]
    assert re.search(rf'<tr id="user-{user.pk}">.*?>inactive</span>', html, re.S)
    user.refresh_from_db()
    assert user.is_active is False
    entry = AuditEntry.objects.get(action="user.deactivated")
    assert (entry.actor_id, entry.target) == (staff.pk, f"alice (#{user.pk})")


def test_edit_over_the_http_fallback(boss: Any, user: Any) -> None:
    client = client_for(boss)
    url = "/admin-panel/components/user-edit/"
    mounted = root(client.get(url).content.decode(), "user_edit")
    opened = post_event(client, url, mounted, "open", user_id=user.pk).json()
    assert f"Edit alice (#{user.pk})" in opened["html"]
    mounted["token"] = opened["token"]
    response = client.post(
        url,
        json.dumps(
            {
                "token": opened["token"],
                "state": opened["state"],
                "event": "submit",
                "payload": {"username": "alice", "email": "bad", "is_active": "on"},
            }
        ),
        content_type="application/json",
    )
    assert "Enter a valid email address." in response.json()["html"]
    saved = client.post(
        url,
        json.dumps(
            {
                "token": response.json()["token"],
                "state": response.json()["state"],
                "event": "submit",
                "payload": {"username": "alice", "email": "a@example.org", "is_active": "on"},
            }
        ),
        content_type="application/json",
    )
    assert "Saved." in saved.json()["html"]
    user.refresh_from_db()
    assert user.email == "a@example.org"


# Query budgets ------------------------------------------------------------------------------------


def test_page_load_query_budget(boss: Any) -> None:
    seed()
    client = client_for(boss)
    with CaptureQueriesContext(connection) as cold:
        response = client.get("/admin-panel/")
    assert response.status_code == 200
    html = response.content.decode()
    assert len(re.findall(r'<tr id="user-\d+">', html)) == 25
    # Session and user (2), user table count and page (2), metrics (2), audit feed (1).
    assert len(cold) == 7
    with CaptureQueriesContext(connection) as warm:
        client.get("/admin-panel/")
    # Metrics and the audit feed now come from the cache.
    assert len(warm) == 4


def test_user_table_endpoint_never_loads_more_than_a_page(staff: Any) -> None:
    seed()
    client = client_for(staff)
    with CaptureQueriesContext(connection) as queries:
        client.get("/admin-panel/components/users/")
    user_queries = [q["sql"] for q in queries if 'FROM "auth_user"' in q["sql"]]
    # The session's user, the count and the page.
    assert len(user_queries) == 3
    assert "LIMIT 25" in user_queries[-1]
