"""Form components validated by a pydantic ``schema``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pydantic
from django.db import transaction

from live.component import Component, run
from live.model_component import DjangoModelComponent


def errors_by_field(exc: pydantic.ValidationError) -> dict[str, str]:
    """Return readable pydantic messages keyed by field (``__all__`` for model errors)."""
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error["loc"]) or "__all__"
        message = error["msg"]
        for prefix in ("Value error, ", "Assertion failed, "):
            message = message.removeprefix(prefix)
        fields.setdefault(location, message)
    return fields


class FormComponent(Component):
    """A form: ``state["data"]`` keeps what the user typed; ``on_submit`` sees valid data only.

    ``submit`` validates the payload with ``schema``. When valid, the data is
    in ``self.validated_data`` and ``on_submit()`` runs; otherwise
    ``self.errors`` maps each field to its message and nothing else runs.
    ``change`` updates typed values and re-validates the touched fields.
    """

    schema: ClassVar[type[pydantic.BaseModel] | None] = None
    validated_data: pydantic.BaseModel | None = None

    def get_initial(self) -> dict[str, Any]:
        """Return the form's starting values."""
        return {}

    def mount(self) -> Any:
        """Start with the initial values."""
        self.state = {"data": self.get_initial()}

    def field_names(self) -> list[str]:
        """Return the schema's field names."""
        if self.schema is None:
            raise ValueError(f"{type(self).__qualname__} needs a pydantic 'schema'.")
        return list(self.schema.model_fields)

    def keep_typed(self, payload: Mapping[str, Any]) -> None:
        """Store the submitted values of the schema's fields as typed."""
        data = self.state.setdefault("data", {})
        for name in self.field_names():
            if name in payload:
                value = payload[name]
                data[name] = value if isinstance(value, str | int | float | bool) else str(value)

    def validate_event(
        self, event: object, payload: Mapping[str, Any]
    ) -> tuple[Any, dict[str, Any]]:
        """Route ``submit`` and ``change`` through the schema instead of handler annotations."""
        if event == "submit":
            return self._submit, {"payload": dict(payload)}
        if event == "change":
            return self._change, {"payload": dict(payload)}
        return super().validate_event(event, payload)

    def validate_form(self) -> bool:
        """Validate ``state["data"]``: set ``validated_data`` or ``errors``; return success."""
        assert self.schema is not None
        try:
            self.validated_data = self.schema.model_validate(self.state.get("data", {}))
        except pydantic.ValidationError as exc:
            self.validated_data = None
            self.errors = errors_by_field(exc)
            return False
        self.errors = {}
        return True

    def _submit(self, payload: dict[str, Any]) -> Any:
        self.keep_typed(payload)
        if not self.validate_form():
            return None
        return run(self.on_submit())

    def _change(self, payload: dict[str, Any]) -> None:
        self.keep_typed(payload)
        self.validate_form()
        touched = set(payload)
        self.errors = {field: message for field, message in self.errors.items() if field in touched}

    def on_submit(self) -> Any:
        """Called with valid data in ``self.validated_data``; override it."""


class ModelFormComponent(FormComponent, DjangoModelComponent):
    """Edit ``state_fields`` of a model instance through a pydantic ``schema``."""

    def get_initial(self) -> dict[str, Any]:
        """Start from the instance's current values."""
        self.populate_state_from_instance()
        return {field: self.state.pop(field) for field in self.state_fields}

    def mount(self) -> Any:
        """Load the instance and fill the form from it."""
        initial = self.get_initial()
        self.state["data"] = initial

    def on_submit(self) -> Any:
        """Save the validated values onto the instance atomically."""
        assert self.validated_data is not None
        values = self.validated_data.model_dump()
        instance = self.get_instance()
        with transaction.atomic():
            for field in self.state_fields:
                if field in values:
                    setattr(instance, field, values[field])
            instance.save()
        self.state["saved"] = True
