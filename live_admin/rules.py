"""Who may change whose account status: one rule for the panel and the Django admin."""

from __future__ import annotations

from typing import Any

import live


def may_manage(actor: Any, target: Any) -> bool:
    """Return whether ``actor`` may change or delete ``target``'s account at all."""
    return not target.is_superuser or bool(getattr(actor, "is_superuser", False))


def status_change_refusal(actor: Any, target: Any) -> live.LiveError | None:
    """Return why ``actor`` may not change ``target``'s active status, or ``None``.

    Nobody changes their own status; only superusers change a superuser's.
    """
    if target.pk == getattr(actor, "pk", None):
        return live.InvalidArguments(
            "You cannot change the status of your own account",
            {"user_id": "This is your own account"},
        )
    if not may_manage(actor, target):
        return live.Forbidden("Only superusers can change the status of a superuser")
    return None
