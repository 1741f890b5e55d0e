"""Internal: the tour's components, the smallest real examples of ``live``."""

from __future__ import annotations

import time
from typing import Any

from django.db.models import Q

import live
from live.demo.models import Person

PAGE_SIZE = 25


@live.register("counter")
class Counter(live.Component):
    """A number with buttons: state on the server, diffs on the wire."""

    template_name = "live_demo/components/counter.html"
    # No database, nothing blocking: run in the event loop, without a thread hop.
    run_in_thread = False

    def mount(self) -> None:
        """Start at the ``start`` param, or 0."""
        self.state = {"count": int(self.params.get("start", 0))}

    def on_increment(self, by: int = 1) -> None:
        """Add ``by``."""
        self.state["count"] += by

    def on_decrement(self) -> None:
        """Subtract one."""
        self.state["count"] -= 1

    def on_reset(self) -> None:
        """Back to zero."""
        self.state["count"] = 0


@live.register("likes")
class Likes(live.OptimisticMixin, live.Component):
    """A like button on a deliberately slow server: the count moves before the answer.

    At most 3 likes per 10 seconds: the fourth is refused and its optimistic
    update rolled back.
    """

    template_name = "live_demo/components/likes.html"
    rate_limits = {"like": "3/10s"}

    def mount(self) -> None:
        """Start at zero; ``delay`` (seconds) slows every answer down."""
        self.state = {"likes": 0, "delay": float(self.params.get("delay", 0.6))}

    def on_like(self) -> None:
        """Count one like, slowly."""
        time.sleep(min(self.state["delay"], 5.0))
        self.state["likes"] += 1

    def get_optimistic_patch(self, event: str, payload: Any) -> dict[str, Any] | None:
        """Show the next count and a pending style the instant the button is pressed."""
        if event == "like":
            return {"this": {"text": f"♥ {self.state['likes'] + 1}", "class_add": "pending"}}
        return super().get_optimistic_patch(event, payload)


@live.register("people")
class PeopleTable(live.Component):
    """A searchable, paginated table with per-row toggles, shared live by every viewer."""

    template_name = "live_demo/components/people.html"
    subscriptions = ["demo-people"]

    def mount(self) -> None:
        """Start on page one with no search."""
        self.state = {"query": "", "page": 1}

    def queryset(self) -> Any:
        """Return the people matching the current search."""
        people = Person.objects.all()
        query = self.state["query"].strip()
        if query:
            people = people.filter(Q(name__icontains=query) | Q(email__icontains=query))
        return people

    def on_search(self, query: str = "") -> None:
        """Filter by name or email and go back to page one."""
        self.state.update(query=query[:100], page=1)

    def on_page(self, page: int) -> None:
        """Go to ``page``, clamped to the pages that exist."""
        pages = max(1, -(-self.queryset().count() // PAGE_SIZE))
        self.state["page"] = min(max(1, page), pages)

    def on_toggle(self, person_id: int) -> None:
        """Flip one person's active flag and tell every other viewer."""
        person = Person.objects.filter(pk=person_id).first()
        if person is None:
            raise live.InvalidArguments(
                f"No person with id {person_id}", {"person_id": "No such person"}
            )
        person.active = not person.active
        person.save(update_fields=["active"])
        live.broadcast("demo-people", "person_changed", person_id=person_id)

    @live.broadcast_only
    def on_person_changed(self, person_id: int) -> None:
        """Called when anyone toggles a row; the next render reads the new value."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Add the current page of rows and the pagination figures."""
        people = self.queryset()
        total = people.count()
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(self.state["page"], pages)
        start = (page - 1) * PAGE_SIZE
        rows = list(people[start : start + PAGE_SIZE])
        return super().get_context_data(
            rows=rows, total=total, pages=pages, page=page, has_prev=page > 1, has_next=page < pages
        )
