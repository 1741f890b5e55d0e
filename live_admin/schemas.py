"""Validation of the user edit form (pydantic), with Django's own messages where they exist."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pydantic
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

_USERNAME = re.compile(r"^[\w.@+-]+\Z")
#: The form's checkboxes: an unchecked box is absent from the submitted data.
BOOLEAN_FIELDS = ("is_active", "is_staff", "is_superuser")
_TRUE = frozenset({"1", "on", "true", "yes"})


class UserEditSchema(pydantic.BaseModel):
    """What a superuser may change about a user."""

    model_config = pydantic.ConfigDict(str_strip_whitespace=True, extra="ignore")

    username: str = pydantic.Field(default="", max_length=150)
    email: str = pydantic.Field(default="", max_length=254)
    first_name: str = pydantic.Field(default="", max_length=150)
    last_name: str = pydantic.Field(default="", max_length=150)
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False

    @pydantic.field_validator("username")
    @classmethod
    def username_is_valid(cls, value: str) -> str:
        """Refuse a blank username and characters Django's user model does not accept."""
        if not value:
            raise ValueError("Username cannot be blank.")
        if not _USERNAME.match(value):
            raise ValueError(
                "Enter a valid username. This value may contain only letters, numbers, "
                "and @/./+/-/_ characters."
            )
        return value

    @pydantic.field_validator("email")
    @classmethod
    def email_is_valid(cls, value: str) -> str:
        """Accept a blank email or a valid address."""
        if value:
            try:
                validate_email(value)
            except ValidationError as exc:
                raise ValueError("Enter a valid email address.") from exc
        return value


def as_checkbox(value: Any) -> bool:
    """Return what a submitted checkbox value means (a list holds a hidden default first)."""
    if isinstance(value, list | tuple):
        value = value[-1] if value else False
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def normalise_submission(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``payload`` with every checkbox as a bool; an absent box means unchecked."""
    data = dict(payload)
    for field in BOOLEAN_FIELDS:
        data[field] = as_checkbox(data.get(field, False))
    return data
