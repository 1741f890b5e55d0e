"""Internal: the tour's data, a plain table of people."""

from __future__ import annotations

from django.db import models


class Person(models.Model):
    """A row of the tour's table."""

    name = models.CharField(max_length=100)
    email = models.EmailField()
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.name
