"""FormComponent, ModelFormComponent and DjangoModelComponent."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest
from django.contrib.auth import get_user_model

import live
from live import registry
from live.model_component import to_json
from live.testing import LiveClient, make_component

pytestmark = pytest.mark.django_db(transaction=True)


class SignupSchema(pydantic.BaseModel):
    username: str = pydantic.Field(min_length=1)
    email: pydantic.EmailStr
    age: int = 18

    @pydantic.field_validator("username")
    @classmethod
    def no_spaces(cls, value: str) -> str:
        if " " in value:
            raise ValueError("Username cannot contain spaces")
        return value


class Signup(live.FormComponent):
    schema = SignupSchema
    renderer = live.MockRenderer(lambda ctx: f"<form>{sorted(ctx['errors'].items())}</form>")

    def on_submit(self) -> None:
        assert self.validated_data is not None
        self.state["created"] = self.validated_data.model_dump()


class UserEdit(live.ModelFormComponent):
    model = get_user_model()
    state_fields = ["username", "email"]
    schema = pydantic.create_model(  # type: ignore[call-overload]
        "UserEditSchema",
        username=(str, pydantic.Field(min_length=1)),
        email=(pydantic.EmailStr, ...),
    )
    renderer = live.MockRenderer(
        lambda ctx: f"<p>{ctx['data']} {sorted(ctx['errors'].items())}</p>"
    )


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    live.register("t_signup")(Signup)
    live.register("t_user_edit")(UserEdit)
    yield
    registry.unregister("t_signup")
    registry.unregister("t_user_edit")


def test_valid_submit_runs_on_submit_with_validated_data() -> None:
    form: Any = make_component(Signup)
    form.handle_event("submit", {"username": "ada", "email": "ada@example.com", "age": "36"})
    assert form.errors == {}
    assert form.state["created"] == {"username": "ada", "email": "ada@example.com", "age": 36}


def test_invalid_submit_keeps_what_was_typed_and_reports_fields() -> None:
    form: Any = make_component(Signup)
    form.handle_event("submit", {"username": "a b", "email": "nope", "age": "old"})
    assert "created" not in form.state
    assert form.state["data"] == {"username": "a b", "email": "nope", "age": "old"}
    assert form.errors == {
        "username": "Username cannot contain spaces",
        "email": "value is not a valid email address: An email address must have an @-sign.",
        "age": "Input should be a valid integer, unable to parse string as an integer",
    }


def test_change_validates_only_touched_fields() -> None:
    form: Any = make_component(Signup)
    form.handle_event("change", {"email": "bad"})
    assert list(form.errors) == ["email"]


async def test_form_over_the_socket_shows_errors_then_succeeds() -> None:
    async with LiveClient() as client:
        view = await client.mount("t_signup")
        await view.event("submit", username="", email="x@example.com")
        assert "String should have at least 1 character" in view.html
        await view.event("submit", username="ok", email="x@example.com")
        assert view.html == "<form>[]</form>"


def test_model_form_saves_atomically(user: Any) -> None:
    form: Any = make_component(UserEdit, pk=user.pk)
    assert form.state["data"] == {"username": "alice", "email": "alice@example.com"}
    form.handle_event("submit", {"username": "", "email": "still@example.com"})
    user.refresh_from_db()
    assert user.email == "alice@example.com"
    form.handle_event("submit", {"username": "alice2", "email": "new@example.com"})
    user.refresh_from_db()
    assert (user.username, user.email) == ("alice2", "new@example.com")
    assert form.state["saved"] is True


def test_django_model_component(user: Any) -> None:
    class Profile(live.DjangoModelComponent):
        model = get_user_model()
        state_fields = ["username", "date_joined", "is_active"]
        select_related = ()

    profile: Any = make_component(Profile, pk=user.pk)
    assert profile.state["username"] == "alice"
    assert profile.state["date_joined"] == user.date_joined.isoformat()
    profile.state["username"] = ""
    assert profile.validate_and_save() is False
    assert profile.errors == {"username": "This field cannot be blank."}
    profile.state["username"] = "renamed"
    assert profile.validate_and_save() is True
    user.refresh_from_db()
    assert user.username == "renamed"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(datetime.date(2026, 1, 2), "2026-01-02", id="date"),
        pytest.param(decimal.Decimal("29.99"), "29.99", id="decimal"),
        pytest.param(uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001", id="uuid"),
        pytest.param(5, 5, id="int"),
    ],
)
def test_json_safe_values(value: Any, expected: Any) -> None:
    assert to_json(value) == expected
