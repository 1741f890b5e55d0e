"""The HTTP fallback through Django's test client: same pipeline, JSON answers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

import live
from live import registry

pytestmark = pytest.mark.django_db


class Tally(live.Component):
    url_params = ("n",)
    renderer = live.MockRenderer(lambda ctx: f"<b>{ctx['n']}</b>")

    def mount(self) -> None:
        self.state = {"n": int(self.params.get("n", 0))}

    def on_add(self, by: int = 1) -> None:
        self.state["n"] += by


class Board(live.Component):
    subscriptions = ["t-board"]
    renderer = live.MockRenderer(lambda ctx: f"<i>{ctx['notes']}</i>")

    def mount(self) -> None:
        self.state = {"notes": 0}

    @live.broadcast_only
    def on_noted(self) -> None:
        self.state["notes"] += 1


class Private(Tally):
    permission_classes = (live.IsAuthenticated,)


class StaffOnly(Tally):
    permission_classes = (live.IsStaff,)


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    live.register("t_tally")(Tally)
    live.register("t_private")(Private)
    live.register("t_staff")(StaffOnly)
    live.register("t_board")(Board)
    yield
    for name in ("t_tally", "t_private", "t_staff", "t_board"):
        registry.unregister(name)


def mount(client: Client, name: str, **params: Any) -> dict[str, str]:
    response = client.get(f"/live/components/{name}/", params)
    assert response.status_code == 200, response.content
    html = response.content.decode()
    token = re.search(r'data-live-token="([^"]+)"', html)
    component_id = re.search(r'data-live-id="([^"]+)"', html)
    assert token
    assert component_id
    return {"id": component_id.group(1), "token": token.group(1), "html": html}


def post(client: Client, name: str, body: dict[str, Any]) -> Any:
    return client.post(
        f"/live/components/{name}/", json.dumps(body), content_type="application/json"
    )


def test_get_renders_the_root_with_token() -> None:
    client = Client()
    root = mount(client, "t_tally", n="3")
    assert root["html"].startswith(
        f'<div id="{root["id"]}" data-live-id="{root["id"]}" '
        'data-live-name="t_tally" data-live-token='
    )
    assert root["html"].endswith(
        'data-live-v="1" data-live-url="/live/components/t_tally/"><b>3</b></div>'
    )


def test_post_event_returns_new_html_and_fresh_token_and_state() -> None:
    client = Client()
    root = mount(client, "t_tally")
    response = post(
        client, "t_tally", {"token": root["token"], "event": "add", "payload": {"by": "4"}}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["v"], body["html"]) == (root["id"], 2, "<b>4</b>")
    response = post(
        client,
        "t_tally",
        {"token": body["token"], "event": "add", "payload": {}, "state": body["state"]},
    )
    assert response.json()["html"] == "<b>5</b>"


@pytest.mark.django_db(transaction=True)
def test_a_poll_is_204_until_a_broadcast_changes_the_component(settings: Any) -> None:
    client = Client()
    root = mount(client, "t_board")
    assert 'data-live-poll="5"' in root["html"]
    poll = {"id": root["id"], "token": root["token"], "v": 1}
    response = post(client, "t_board", poll)
    assert (response.status_code, response.content) == (204, b"")
    # Only an integer names a version: ``true`` holds nothing, so it gets the HTML.
    assert post(client, "t_board", {**poll, "v": True}).json()["html"] == "<i>0</i>"
    live.broadcast("t-board", "noted")
    live.broadcast("t-board", "noted")
    body = post(client, "t_board", poll).json()
    assert (body["id"], body["v"], body["html"]) == (root["id"], 2, "<i>2</i>")
    again = post(client, "t_board", {**poll, "token": body["token"], "v": 2})
    assert again.status_code == 204
    # Components that follow no group are never polled; nor anything with polling off.
    assert "data-live-poll" not in mount(client, "t_tally")["html"]
    settings.LIVE = {"HTTP_POLL_INTERVAL": 0}
    assert "data-live-poll" not in mount(client, "t_board")["html"]


def test_signed_state_carries_the_component_when_the_cache_is_gone() -> None:
    from django.core.cache import cache

    client = Client()
    root = mount(client, "t_tally")
    body = post(client, "t_tally", {"token": root["token"], "event": "add"}).json()
    cache.clear()
    body = post(
        client, "t_tally", {"token": body["token"], "event": "add", "state": body["state"]}
    ).json()
    assert body["html"] == "<b>2</b>"


def test_tampered_state_is_rejected() -> None:
    client = Client()
    root = mount(client, "t_tally")
    body = post(client, "t_tally", {"token": root["token"], "event": "add"}).json()
    response = post(
        client,
        "t_tally",
        {"token": body["token"], "event": "add", "state": body["state"][:-2] + "xx"},
    )
    assert response.status_code == 403
    assert response.json() == {
        "error": "Component state was tampered with",
        "code": "token_invalid",
    }


def test_signed_state_older_than_a_token_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import time
    from types import SimpleNamespace

    from django.core import signing

    client = Client()
    root = mount(client, "t_tally")
    body = post(client, "t_tally", {"token": root["token"], "event": "add"}).json()
    # A day and a minute later, with a token just issued: only the state is too old.
    later = time.time() + 24 * 3600 + 60
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: later))
    fresh = client.get("/live/components/t_tally/", {"token": body["token"]}).content.decode()
    token = re.search(r'data-live-token="([^"]+)"', fresh)
    assert token is not None
    response = post(
        client, "t_tally", {"token": token.group(1), "event": "add", "state": body["state"]}
    )
    assert (response.status_code, response.json()) == (
        403,
        {"error": "Component state has expired; reload the component", "code": "token_expired"},
    )


def test_form_encoded_body_works() -> None:
    client = Client()
    root = mount(client, "t_tally")
    response = client.post(
        "/live/components/t_tally/", {"token": root["token"], "event": "add", "by": "2"}
    )
    assert response.json()["html"] == "<b>2</b>"


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        pytest.param(
            {"event": "add"},
            403,
            {"error": "Missing or malformed component token", "code": "token_invalid"},
            id="no-token",
        ),
        pytest.param(
            {"token": "x:y", "event": "add"},
            403,
            {"error": "Invalid component token", "code": "token_invalid"},
            id="forged",
        ),
        pytest.param(
            {"token": "x:y", "event": "add", "payload": {"x": json.loads("[" * 40 + "]" * 40)}},
            400,
            {"error": "Body is nested too deeply", "code": "bad_frame"},
            id="too-deep",
        ),
    ],
)
def test_bad_requests_are_json_errors(
    body: dict[str, Any], status: int, expected: dict[str, Any]
) -> None:
    response = post(Client(), "t_tally", body)
    assert response.status_code == status
    assert response.json() == expected


def test_wrong_arguments_are_400_with_fields() -> None:
    client = Client()
    root = mount(client, "t_tally")
    response = post(
        client, "t_tally", {"token": root["token"], "event": "add", "payload": {"by": "x"}}
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "by": "Input should be a valid integer, unable to parse string as an integer"
    }
    response = post(client, "t_tally", {"token": root["token"], "event": "_secret"})
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_event"


def test_unknown_component_is_404_naming_the_registered_ones_only_under_debug(
    settings: Any,
) -> None:
    response = post(Client(), "nope", {"event": "x"})
    assert response.status_code == 404
    assert response.json() == {"error": "Unknown component 'nope'.", "code": "unknown_component"}
    settings.DEBUG = True
    response = post(Client(), "nope", {"event": "x"})
    assert response.status_code == 404
    assert response.json()["error"].startswith("Unknown component 'nope'. Registered components: ")
    assert "t_tally" in response.json()["error"]


def test_not_json_and_oversized_bodies() -> None:
    client = Client()
    response = client.post("/live/components/t_tally/", "{", content_type="application/json")
    assert (response.status_code, response.json()["error"]) == (400, "Body is not valid JSON")
    response = client.post(
        "/live/components/t_tally/", "x" * 70000, content_type="application/json"
    )
    assert response.status_code == 413


def test_token_for_another_component_is_refused() -> None:
    client = Client()
    root = mount(client, "t_tally")
    response = post(client, "t_staff", {"token": root["token"], "event": "add"})
    assert response.status_code in (401, 403)


def test_permissions_401_and_403(django_user_model: Any) -> None:
    response = Client().get("/live/components/t_private/")
    assert response.status_code == 401
    assert response.json() == {"error": "Authentication required", "code": "unauthenticated"}
    client = Client()
    client.force_login(django_user_model.objects.create_user("u", password="p"))
    assert client.get("/live/components/t_private/").status_code == 200
    response = client.get("/live/components/t_staff/")
    assert response.status_code == 403
    assert response.json() == {"error": "Staff access required", "code": "forbidden"}


def test_csrf_is_enforced_with_a_json_error() -> None:
    client = Client(enforce_csrf_checks=True)
    root = mount(client, "t_tally")
    response = post(client, "t_tally", {"token": root["token"], "event": "add"})
    assert response.status_code == 403
    assert response.json()["error"].startswith("CSRF verification failed")
    csrf = client.cookies["csrftoken"].value
    response = client.post(
        "/live/components/t_tally/",
        json.dumps({"token": root["token"], "event": "add"}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert response.status_code == 200


def test_token_of_another_session_is_refused() -> None:
    root = mount(Client(), "t_tally")
    response = post(Client(), "t_tally", {"token": root["token"], "event": "add"})
    assert response.status_code == 403
    assert response.json()["error"] == "Component token belongs to another session"


def test_get_with_an_expired_token_resumes_the_same_component(settings: Any) -> None:
    client = Client()
    root = mount(client, "t_tally", n="2")
    body = post(client, "t_tally", {"token": root["token"], "event": "add"}).json()
    settings.LIVE = {"TOKEN_MAX_AGE": -1}
    assert post(client, "t_tally", {"token": body["token"], "event": "add"}).status_code == 403
    response = client.get("/live/components/t_tally/", {"token": body["token"]})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-live-id="{root["id"]}"' in html
    assert html.endswith("<b>3</b></div>")
    response = Client().get("/live/components/t_tally/", {"token": body["token"]})
    assert response.json()["error"] == "Component token belongs to another session"


def test_csrf_failure_on_a_form_post_is_json_too() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/live/components/t_tally/", {"event": "add"})
    assert response.status_code == 403
    assert response.json()["error"].startswith("CSRF verification failed")
