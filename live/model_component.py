"""``DjangoModelComponent``: a component backed by one model instance."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import models, transaction

from live.component import Component


def to_json(value: Any) -> Any:
    """Return a JSON-safe form of a model field value (dates, decimals, UUIDs as strings)."""
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


class DjangoModelComponent(Component):
    """Mirror ``state_fields`` of one ``model`` instance in ``state``.

    The instance is found by the ``pk`` param (``pk_param`` names another);
    ``get_queryset()`` applies ``select_related`` and ``prefetch_related``.
    """

    model: ClassVar[type[models.Model] | None] = None
    state_fields: ClassVar[Sequence[str]] = ()
    select_related: ClassVar[Sequence[str]] = ()
    prefetch_related: ClassVar[Sequence[str]] = ()
    pk_param: ClassVar[str] = "pk"

    _instance: models.Model | None = None

    def get_queryset(self) -> models.QuerySet[Any]:
        """Return the model's queryset with the configured related lookups."""
        if self.model is None:
            raise ValueError(f"{type(self).__qualname__} needs a 'model'.")
        queryset = self.model._default_manager.all()
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        if self.prefetch_related:
            queryset = queryset.prefetch_related(*self.prefetch_related)
        return queryset

    def get_instance(self) -> models.Model:
        """Return the instance named by the ``pk`` param (or ``state["pk"]``), loaded once."""
        if self._instance is None:
            pk = self.params.get(self.pk_param, self.state.get("pk"))
            self._instance = self.get_queryset().get(pk=pk)
        return self._instance

    @property
    def instance(self) -> models.Model:
        """The model instance this component shows."""
        return self.get_instance()

    def mount(self) -> Any:
        """Load the instance and copy its ``state_fields`` into ``state``."""
        self.populate_state_from_instance()

    def populate_state_from_instance(self) -> None:
        """Copy ``state_fields`` (and the pk) from the instance into ``state``, JSON-safe."""
        instance = self.get_instance()
        self.state["pk"] = to_json(instance.pk)
        for field in self.state_fields:
            self.state[field] = to_json(getattr(instance, field))

    def update_instance_from_state(self) -> None:
        """Copy ``state_fields`` back onto the instance, converted by each model field."""
        instance = self.get_instance()
        for name in self.state_fields:
            field = instance._meta.get_field(name)
            value = self.state.get(name)
            setattr(instance, field.attname, field.to_python(value))  # type: ignore[union-attr]

    def save_instance(self) -> None:
        """Save the instance in a transaction."""
        with transaction.atomic():
            self.get_instance().save()

    def validate_and_save(self) -> bool:
        """Update, ``full_clean`` and save; on failure fill ``errors`` and return ``False``."""
        try:
            self.update_instance_from_state()
            self.get_instance().full_clean()
        except ValidationError as exc:
            self.errors = {
                field: " ".join(messages) for field, messages in exc.message_dict.items()
            }
            return False
        self.save_instance()
        return True
