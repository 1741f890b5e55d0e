"""The admin panel's live components: users, user edit, metrics and the audit log.

Each component is independent and staff-only; the edit form is for superusers.
The page puts them side by side; how the table opens the edit form is
described on ``UserEditComponent``.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

import live
from live_admin import audit, metrics, rules, signals
from live_admin.models import AuditEntry
from live_admin.schemas import BOOLEAN_FIELDS, UserEditSchema, normalise_submission

User = get_user_model()

#: Rows per page of the user table.
PAGE_SIZE = 25
#: Entries the audit feed shows (and keeps).
AUDIT_LIMIT = 50
#: Longest search the table accepts.
MAX_QUERY = 100
#: The user columns the table reads; nothing else is loaded.
LIST_FIELDS = (
    "id",
    "username",
    "email",
    "first_name",
    "last_name",
    "is_active",
    "is_staff",
    "is_superuser",
    "date_joined",
    "last_login",
)
USERNAME_TAKEN = "A user with that username already exists."
EDIT_FIELDS = ("username", "email", "first_name", "last_name", *BOOLEAN_FIELDS)


def no_such_user(user_id: int, argument: str = "user_id") -> live.InvalidArguments:
    """Return the error for an id that names no user."""
    return live.InvalidArguments(f"No user with id {user_id}", {argument: "No such user"})


@live.register("users")
class UserListComponent(live.OptimisticMixin, live.DjangoModelComponent):
    """The user table: search, 25 newest first per page, and an instant status toggle.

    It follows ``admin-users``, so a change made anywhere (another admin, the
    edit form) shows up at once. Only the current page of users is ever loaded.
    """

    model = User
    template_name = "live_admin/components/users.html"
    permission_classes = (live.IsStaff,)
    subscriptions = [signals.USERS_GROUP]

    def mount(self) -> None:
        """Start on page one with no search."""
        self.state = {"query": "", "page": 1}

    def get_queryset(self) -> QuerySet[Any]:
        """Return the users matching the search, newest first, with the listed columns only."""
        users = super().get_queryset().only(*LIST_FIELDS).order_by("-date_joined", "-pk")
        query = self.state.get("query", "")
        if query:
            users = users.filter(Q(username__icontains=query) | Q(email__icontains=query))
        return users

    def page_count(self, total: int) -> int:
        """Return how many pages ``total`` users fill (at least one)."""
        return max(1, -(-total // PAGE_SIZE))

    def on_search(self, query: str = "") -> None:
        """Filter by username or email and go back to page one."""
        self.state.update(query=query.strip()[:MAX_QUERY], page=1)

    def on_page(self, page: int) -> None:
        """Go to ``page``, clamped to the pages that exist."""
        pages = self.page_count(self.get_queryset().count())
        self.state["page"] = min(max(1, page), pages)

    def on_toggle(self, user_id: int, active: bool | None = None) -> None:
        """Set a user's status to ``active`` (flip it when not given); audited.

        Nobody can change their own status, and only superusers can change a
        superuser's.
        """
        with transaction.atomic():
            target = (
                User._default_manager.select_for_update()
                .only("id", User.USERNAME_FIELD, "is_active", "is_superuser")
                .filter(pk=user_id)
                .first()
            )
            if target is None:
                raise no_such_user(user_id)
            refusal = rules.status_change_refusal(self.user, target)
            if refusal is not None:
                raise refusal
            wanted = (not target.is_active) if active is None else active
            if wanted == target.is_active:
                return
            target.is_active = wanted
            with audit.acting_as(self.user, self.client_address):
                target.save(update_fields=["is_active"])

    @live.broadcast_only
    def on_user_changed(self, user_id: int) -> None:
        """Called when any user changes; the next render reads the page again."""

    def get_optimistic_patch(self, event: str, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        """Flip the row's status badge the instant the toggle is clicked."""
        if event == "toggle" and "active" in payload:
            on = bool(payload["active"])
            return {
                f"#user-{payload['user_id']} .status": {
                    "text": "active" if on else "inactive",
                    "class_add": "on" if on else "off",
                    "class_remove": "off" if on else "on",
                }
            }
        return super().get_optimistic_patch(event, payload)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Add the current page of users and the pagination figures (two queries)."""
        users = self.get_queryset()
        total = users.count()
        pages = self.page_count(total)
        page = min(max(1, int(self.state.get("page", 1))), pages)
        start = (page - 1) * PAGE_SIZE
        rows = list(users[start : start + PAGE_SIZE])
        return super().get_context_data(
            rows=rows,
            total=total,
            pages=pages,
            page=page,
            first=start + 1 if rows else 0,
            last=start + len(rows),
            has_prev=page > 1,
            has_next=page < pages,
            me=self.user.pk,
            can_edit=bool(self.user.is_superuser),
            **kwargs,
        )


@live.register("user_edit")
class UserEditComponent(live.OptimisticMixin, live.FormComponent):
    """Inline edit of one user, for superusers; validated by ``UserEditSchema``.

    How it opens for a row: the table's "Edit" buttons carry
    ``data-edit-user="<pk>"``; the page's ``live_admin/panel.js`` sends
    ``open(user_id)`` to this component with ``window.live.send``, which uses
    the socket or, without one, the HTTP fallback. The two components stay
    independent; ``{% live_component "user_edit" pk=7 %}`` opens one directly.
    """

    template_name = "live_admin/components/user_edit.html"
    permission_classes = (live.IsSuperuser,)
    #: ``?pk=7`` on the HTTP endpoint opens the form on that user.
    url_params = ("pk",)
    schema = UserEditSchema
    optimistic = {
        "submit": {
            ".save-button": {"text": "Saving…", "disabled": True},
            ".save-status": {"text": "Saving…", "class_add": "busy", "class_remove": "ok"},
        }
    }

    def mount(self) -> None:
        """Start closed, or open on the ``pk`` param."""
        self.state = {"pk": None, "label": "", "data": {}, "saved": False}
        pk = self.params.get("pk")
        if pk not in (None, ""):
            try:
                user_id = int(pk)
            except (TypeError, ValueError):
                raise live.InvalidArguments(
                    f"Invalid user id {pk!r}", {"pk": "Enter a whole number"}
                ) from None
            self.load(user_id, argument="pk")

    def load(self, user_id: int, argument: str = "user_id") -> None:
        """Fill the form from user ``user_id``."""
        user = User._default_manager.only("id", *EDIT_FIELDS).filter(pk=user_id).first()
        if user is None:
            raise no_such_user(user_id, argument)
        self.state = {
            "pk": user.pk,
            "label": audit.describe(user)[0],
            "data": {field: getattr(user, field) for field in EDIT_FIELDS},
            "saved": False,
        }
        self.errors = {}

    def on_open(self, user_id: int) -> None:
        """Open the form for user ``user_id``."""
        self.load(user_id)

    def on_close(self, **form: Any) -> None:
        """Close the form without saving (the button sits in the form, so its fields come along)."""
        self.state = {"pk": None, "label": "", "data": {}, "saved": False}

    def validate_event(
        self, event: object, payload: Mapping[str, Any]
    ) -> tuple[Any, dict[str, Any]]:
        """Read the checkboxes of a submitted form as booleans (unchecked ones are absent)."""
        if event == "submit":
            payload = normalise_submission(payload)
        return super().validate_event(event, payload)

    def on_submit(self) -> None:
        """Save the valid data, unless it would lock the editor out or reuse a username."""
        assert isinstance(self.validated_data, UserEditSchema)
        data = self.validated_data
        pk = self.state.get("pk")
        if pk is None:
            raise live.InvalidArguments(
                "No user is open for editing", {"user_id": "Open a user first"}
            )
        if pk == self.user.pk:
            if not data.is_superuser:
                self.errors["is_superuser"] = "You cannot remove your own superuser status."
            if not data.is_active:
                self.errors["is_active"] = "You cannot deactivate your own account."
            if self.errors:
                return
        if User._default_manager.filter(username=data.username).exclude(pk=pk).exists():
            self.errors["username"] = USERNAME_TAKEN
            return
        try:
            user = self.save_user(pk, data.model_dump())
        except IntegrityError:
            # Taken between the check and the save.
            self.errors["username"] = USERNAME_TAKEN
            return
        self.state.update(
            label=audit.describe(user)[0],
            data={field: getattr(user, field) for field in EDIT_FIELDS},
            saved=True,
        )

    def save_user(self, pk: int, values: dict[str, Any]) -> Any:
        """Save the changed fields of user ``pk`` atomically (audited as the editor); return it."""
        with transaction.atomic():
            user = (
                User._default_manager.select_for_update()
                .only("id", *EDIT_FIELDS)
                .filter(pk=pk)
                .first()
            )
            if user is None:
                raise no_such_user(pk)
            changed = [field for field in EDIT_FIELDS if getattr(user, field) != values[field]]
            for field in changed:
                setattr(user, field, values[field])
            if changed:
                with audit.acting_as(self.user, self.client_address):
                    user.save(update_fields=changed)
        return user

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Add whether the form is open and whether it edits the viewer's own account."""
        pk = self.state.get("pk")
        return super().get_context_data(
            is_open=pk is not None, is_self=pk is not None and pk == self.user.pk, **kwargs
        )


@live.register("metrics")
class MetricsComponent(live.CacheMixin, live.Component):
    """KPI cards: MAU, MRR and churn, cached for five minutes; Refresh recomputes."""

    template_name = "live_admin/components/metrics.html"
    permission_classes = (live.IsStaff,)
    cache_ttl = 300

    def mount(self) -> None:
        """Compute the figures (two queries); a cached render skips this entirely."""
        self.state = metrics.compute().as_state()

    def on_refresh(self) -> None:
        """Forget the cached render and compute the figures again."""
        self.invalidate_cache()
        self.mount()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Add the refresh time as a datetime and MRR with thousands separators."""
        refreshed = datetime.datetime.fromisoformat(self.state["refreshed_at"])
        mrr_display = f"{Decimal(self.state['mrr']):,.2f}"
        return super().get_context_data(refreshed=refreshed, mrr_display=mrr_display, **kwargs)


@live.register("audit_log")
class AuditLogComponent(live.CacheMixin, live.Component):
    """The live audit feed: the 50 newest entries, new ones on top as they happen.

    The first render is cached for 30 seconds; broadcasts logged since it was
    stored are replayed when it is served, and after a reconnect.
    """

    template_name = "live_admin/components/audit_log.html"
    permission_classes = (live.IsStaff,)
    subscriptions = [audit.AUDIT_GROUP]
    cache_ttl = 30

    _loaded: dict[int, AuditEntry] | None = None

    def mount(self) -> None:
        """Load the newest entries (one query, reused by the first render)."""
        entries = list(AuditEntry.objects.order_by("-timestamp", "-id")[:AUDIT_LIMIT])
        self._loaded = {entry.pk: entry for entry in entries}
        self.state = {"ids": [entry.pk for entry in entries]}

    @live.broadcast_only
    def on_entry_created(self, entry_id: int) -> None:
        """Called for every new entry: put it on top and keep the newest 50."""
        ids: list[int] = self.state.setdefault("ids", [])
        if entry_id not in ids:
            ids.insert(0, entry_id)
            del ids[AUDIT_LIMIT:]

    def entries(self) -> list[AuditEntry]:
        """Return the entries to show, in order; loads only those not loaded yet (one query)."""
        ids: list[int] = self.state.get("ids", [])
        loaded = self._loaded if self._loaded is not None else {}
        missing = [pk for pk in ids if pk not in loaded]
        if missing:
            loaded.update((entry.pk, entry) for entry in AuditEntry.objects.filter(pk__in=missing))
        self._loaded = {pk: loaded[pk] for pk in ids if pk in loaded}
        return list(self._loaded.values())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Add the entries."""
        return super().get_context_data(entries=self.entries(), **kwargs)
