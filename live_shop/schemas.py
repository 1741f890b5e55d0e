"""Pydantic schemas of the storefront's forms: a review and a shipping address."""

from __future__ import annotations

from typing import Any

import pydantic

REVIEW_MAX = 2000


class ReviewIn(pydantic.BaseModel):
    """A review as posted: a rating from 1 to 5 and a few words."""

    model_config = pydantic.ConfigDict(str_strip_whitespace=True)

    rating: int
    body: str

    @pydantic.field_validator("rating", mode="before")
    @classmethod
    def _rating(cls, value: Any) -> int:
        try:
            rating = int(value)
        except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
            raise ValueError("Choose a rating from 1 to 5.") from None
        if not 1 <= rating <= 5:
            raise ValueError("Choose a rating from 1 to 5.")
        return rating

    @pydantic.field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        if len(value) < 3:
            raise ValueError("Write at least 3 characters.")
        if len(value) > REVIEW_MAX:
            raise ValueError(f"Keep it under {REVIEW_MAX} characters.")
        return value


class AddressIn(pydantic.BaseModel):
    """A shipping address; every field is required."""

    model_config = pydantic.ConfigDict(str_strip_whitespace=True)

    full_name: str = pydantic.Field(max_length=200)
    address_line: str = pydantic.Field(max_length=200)
    city: str = pydantic.Field(max_length=100)
    postcode: str = pydantic.Field(max_length=20)
    country: str = pydantic.Field(max_length=100)

    @pydantic.field_validator("*")
    @classmethod
    def _required(cls, value: str) -> str:
        if not value:
            raise ValueError("This field is required.")
        return value

    def as_text(self) -> str:
        """Return the address as lines, the way a label prints it."""
        return "\n".join(
            [self.full_name, self.address_line, f"{self.postcode} {self.city}", self.country]
        )
