"""Internal: one mounted component with its last HTML, version and broadcast positions.

This is the pipeline both transports share: mount, resume from a token, handle
an event, apply a broadcast, render, diff, save the snapshot, build a frame.
It is synchronous; the consumer runs it in a worker thread.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from django.core import signing
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html
from django.utils.safestring import SafeString

from live import (
    arguments,
    catchup,
    conf,
    diff,
    outages,
    protocol,
    ratelimit,
    registry,
    state,
    tokens,
)
from live.component import Component, run
from live.composition import SLOTS_KEY, placeholder
from live.exceptions import (
    ExpiredToken,
    InvalidToken,
    LiveError,
    ProtocolError,
    StateLost,
    Unavailable,
    UnknownEvent,
)
from live.types import Frame, Params

logger = logging.getLogger("live")

STATE_SALT = "live.state"

T = TypeVar("T")


#: How many of the components that changed last keep their HTML as text too: the
#: next event of a busy component skips unpacking it, and idle ones stay packed.
RECENT_TEXTS = 64
# Weak: a closed socket's or a finished request's component is not kept alive here.
_recent: OrderedDict[int, weakref.ref[Mounted]] = OrderedDict()
_recent_lock = threading.Lock()


def dumps_state(value: dict[str, Any]) -> str:
    """Serialise a component state; dates, decimals and UUIDs become strings."""
    return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True)


class Mounted:
    """Internal: a component instance together with what the client last received."""

    # Thousands are held at once, one per open component: no per-instance dict.
    __slots__ = (
        "__weakref__",
        "_html",
        "_text",
        "bound_to",
        "children",
        "client_key",
        "component",
        "groups_changed",
        "ref",
        "seqs",
        "state_json",
        "version",
    )
    _html: str | bytes
    # The same HTML as text, while among the recently changed (see ``keep_text``).
    _text: str | None

    def __init__(
        self,
        component: Component,
        *,
        version: int,
        html: str,
        seqs: dict[str, list[Any]],
        ref: int,
        bound_to: str,
    ) -> None:
        self.component = component
        self.version = version
        self.html = html
        self.seqs = seqs
        self.ref = ref
        self.bound_to = bound_to
        self.state_json = dumps_state(component.state)
        #: Who rate limits count against: the user, else the session or address.
        self.client_key = bound_to
        #: Whether ``groups`` changed since the transport last joined them.
        self.groups_changed = False
        #: Slotted children mounted with this component's first render.
        self.children: list[Mounted] = []

    @property
    def html(self) -> str:
        """The HTML the client holds at ``version`` (kept packed: idle sockets hold many)."""
        return self._text if self._text is not None else state.unpack(self._html)

    @html.setter
    def html(self, html: str) -> None:
        self._html = state.pack(html)
        self._text = None

    def keep_text(self, html: str) -> None:
        """Also keep ``html`` as text while this component is among the recently changed."""
        if isinstance(self._html, str):
            return
        self._text = html
        with _recent_lock:
            _recent[id(self)] = weakref.ref(self)
            _recent.move_to_end(id(self))
            if len(_recent) > RECENT_TEXTS:
                oldest = _recent.popitem(last=False)[1]()
                if oldest is not None:
                    oldest._text = None

    @property
    def component_id(self) -> str:
        """The id shared by the DOM root, the token and the snapshot."""
        return self.component.component_id

    @property
    def groups(self) -> list[str]:
        """The groups this component follows."""
        return list(self.seqs)

    # Creation ------------------------------------------------------------------

    @classmethod
    def mount(
        cls,
        component_cls: type[Component],
        *,
        params: Params,
        user: Any,
        bound_to: str,
        request: Any = None,
        component_id: str | None = None,
        client_key: str | None = None,
    ) -> Mounted:
        """Create, check, mount and render a new component; save its first snapshot."""
        component = component_cls(
            params=params, user=user, request=request, component_id=component_id
        )
        return cls.start(component, bound_to=bound_to, client_key=client_key)

    @classmethod
    def start(
        cls,
        component: Component,
        *,
        bound_to: str,
        client_key: str | None = None,
        counted: set[str] | None = None,
    ) -> Mounted:
        """Check, mount (unless already mounted) and render ``component`` and its slotted children.

        Each child component in a slot becomes a live component of its own. With
        ``client_key``, the render counts against each one's ``throttle_rate``.
        """
        component.check_permissions()
        if client_key is not None:
            ratelimit.hit_component(type(component), client_key, counted)
        children = [
            (slot, cls.start(child, bound_to=bound_to, client_key=client_key, counted=counted))
            for slot, child in component.filled_slots.items()
            if isinstance(child, Component)
        ]
        cached = None if children else component.load_from_cache()
        if cached is not None:
            component.state, html, seqs = cached
        else:
            if not component.is_mounted:
                run(component.mount())
                component.is_mounted = True
            if children:
                component.state[SLOTS_KEY] = {slot: m.component_id for slot, m in children}
            seqs = {group: catchup.position(group) for group in component.get_subscriptions()}
            html = component.render()
            if not children:
                component.store_in_cache(component.state, html, seqs)
        mounted = cls(component, version=1, html=html, seqs=seqs, ref=0, bound_to=bound_to)
        if client_key is not None:
            mounted.client_key = client_key
        mounted.children = [child for _, child in children]
        if cached is not None and mounted.catch_up():
            # Broadcasts since the render was cached: apply them now.
            mounted.html = component.render()
            mounted.state_json = dumps_state(component.state)
        # Until it is joined or used: a page fetched and never opened is soon forgotten.
        mounted.save(ttl=conf.get("UNJOINED_STATE_TTL"))
        return mounted

    @classmethod
    def resume(
        cls,
        token: object,
        *,
        user: Any,
        bound_to: str,
        signed_state: object = None,
        for_reload: bool = False,
    ) -> tuple[Mounted, bool]:
        """Rebuild a component from its token and snapshot; return it and whether it was remounted.

        Broadcasts logged since the snapshot are applied before returning.
        """
        data = tokens.verify(token, bound_to=bound_to, for_reload=for_reload)
        component_cls = registry.get(data.name)
        snapshot = state.load(data.component_id)
        blob = _load_signed_state(signed_state, data.component_id, bound_to)
        if blob is not None and (snapshot is None or blob.version > snapshot.version):
            snapshot = blob
        if snapshot is None or snapshot.name != data.name:
            logger.info("live: no snapshot for %s, mounting again", data.component_id)
            mounted = cls.mount(
                component_cls,
                params=data.params,
                user=user,
                bound_to=bound_to,
                component_id=data.component_id,
            )
            if not for_reload:
                state.touch(mounted.component_id)
            return mounted, True
        component = component_cls(
            params=snapshot.params,
            state=json.loads(snapshot.state_json),
            component_id=data.component_id,
            user=user,
        )
        component.check_permissions()
        run(component.hydrate())
        mounted = cls(
            component,
            version=snapshot.version,
            html=state.unpack(snapshot.html),
            seqs=snapshot.seqs,
            ref=snapshot.ref,
            bound_to=bound_to,
        )
        mounted.sync_subscriptions()
        if mounted.catch_up():
            mounted.commit(None)
        elif not for_reload:
            state.touch(mounted.component_id)  # joined or used: kept as long as any
        return mounted, False

    # Frames ----------------------------------------------------------------------

    def token(self) -> str:
        """Return a fresh signed token for this component."""
        return tokens.sign(
            name=self.component.name,
            component_id=self.component_id,
            params=self.component.params,
            version=self.version,
            bound_to=self.bound_to,
        )

    def full_frame(self, ref: int | None = None, html: str | None = None) -> Frame:
        """Return a frame with the whole inner HTML and a fresh token (``html`` if at hand)."""
        frame: Frame = {
            protocol.KEY_TYPE: protocol.FULL,
            protocol.KEY_ID: self.component_id,
            protocol.KEY_VERSION: self.version,
            protocol.KEY_HTML: self.html if html is None else html,
            protocol.KEY_TOKEN: self.token(),
        }
        if ref is not None:
            frame[protocol.KEY_REF] = ref
        return frame

    def ack_frame(self, ref: int | None = None) -> Frame:
        """Return a frame saying the event was handled and the HTML did not change."""
        frame: Frame = {
            protocol.KEY_TYPE: protocol.ACK,
            protocol.KEY_ID: self.component_id,
            protocol.KEY_VERSION: self.version,
        }
        if ref is not None:
            frame[protocol.KEY_REF] = ref
        return frame

    def is_current(self, client_version: object) -> bool:
        """Return whether a client holding ``client_version`` holds this version's HTML."""
        # Only an integer names a version: ``true`` and ``1.0`` equal 1 in Python, not here.
        return type(client_version) is int and client_version == self.version

    def join_frame(self, client_version: object, remounted: bool) -> Frame:
        """Return the answer to a join: an ack when the client is current, else the HTML."""
        if not remounted and self.is_current(client_version):
            frame = self.ack_frame()
            frame[protocol.KEY_TOKEN] = self.token()
            return frame
        return self.full_frame()

    def root_html(self, url: str | None = None) -> SafeString:
        """Return the component's HTML inside its root element, for the first page render."""
        poll = conf.get("HTTP_POLL_INTERVAL") if self.seqs else None
        attrs = self.component.root_attrs(
            data_live_token=self.token(),
            data_live_v=self.version,
            data_live_url=url,
            data_live_poll=poll or None,
        )
        tag = self.component.root_tag
        inner = self.html
        for child in self.children:
            # The page gets each child's full root; the tracked string keeps the empty one.
            inner = inner.replace(
                placeholder(child.component_id), child.root_html(url_for(child.component.name))
            )
        return format_html("<{} {}>{}</{}>", tag, attrs, SafeString(inner), tag)

    def signed_state(self) -> str:
        """Return the snapshot signed for the HTTP fallback, bound like the token."""
        payload = {
            "i": self.component_id,
            "b": self.bound_to,
            "s": self.snapshot().__dict__,
        }
        return signing.dumps(payload, salt=STATE_SALT, compress=True)

    # Changes ---------------------------------------------------------------------

    def handle_event(self, event: object, payload: object, ref: object) -> Frame:
        """Apply one client event and return the frame that answers it."""
        if ref is not None and (not isinstance(ref, int) or isinstance(ref, bool)):
            raise ProtocolError("Event ref must be an integer")
        if ref is not None and abs(ref) > protocol.MAX_REF:
            # It is stored and compared with the next refs: keep it a number JS can hold.
            raise ProtocolError(
                f"Event ref must be an integer from -{protocol.MAX_REF} to {protocol.MAX_REF}"
            )
        if not isinstance(payload, dict):
            raise ProtocolError("Event payload must be an object")
        if isinstance(ref, int) and ref <= self.ref:
            # Already applied (the answer was lost with a connection): never twice.
            return self.ack_frame(ref)
        self.component.check_permissions()
        handler, kwargs = self.component.validate_event(event, payload)
        if getattr(handler, "live_broadcast_only", False):
            raise self.component.unknown_event(event)
        # Also here: ``validate_event`` may be overridden (forms) and skip ``arguments.validate``.
        arguments.check_payload(event, payload)
        self.check_rate(str(event))
        self.component.errors = {}
        self.guarded(lambda: run(handler(**kwargs)))
        return self.commit(ref)

    def check_rate(self, event: str) -> None:
        """Count this event against the component's rate limits; raise ``RateLimited``."""
        ratelimit.hit_component(type(self.component), self.client_key)
        limits = self.component.rate_limits
        rate = limits.get(event) or limits.get("*")
        if rate:
            ratelimit.hit(f"{self.component.name}:{event}:{self.client_key}", rate)

    def guarded(self, change: Any) -> None:
        """Run ``change``; on any error put the state back and re-raise a safe error."""
        try:
            change()
        except LiveError:
            self.restore()
            raise
        except Exception as exc:
            self.restore()
            logger.exception("live: error in component %r", self.component.name)
            raise LiveError() from exc

    def restore(self) -> None:
        """Put the component state back to the last committed one."""
        self.component.state = json.loads(self.state_json)

    def commit(self, ref: int | None) -> Frame:
        """Render, diff against the last HTML, save the snapshot and return the frame."""
        try:
            html = self.component.render()
            state_json = dumps_state(self.component.state)
        except Exception as exc:
            self.restore()
            logger.exception("live: error rendering component %r", self.component.name)
            raise LiveError() from exc
        if ref is not None:
            self.ref = ref
        self.sync_subscriptions()
        old = self.html
        if html == old:
            self.state_json = state_json
            self.save()
            return self.ack_frame(ref)
        return self.advance(html, state_json, ref, old)

    def advance(self, html: str, state_json: str, ref: int | None, old: str | None = None) -> Frame:
        """Make ``html`` the next version, save the snapshot and return the cheaper frame."""
        if old is None:
            old = self.html
        self.html = html
        self.keep_text(html)
        self.state_json = state_json
        self.version += 1
        self.save()
        ops = diff.diff(old, html)
        if diff.ops_size(ops) >= len(html):
            return self.full_frame(ref, html)
        frame: Frame = {
            protocol.KEY_TYPE: protocol.DIFF,
            protocol.KEY_ID: self.component_id,
            protocol.KEY_VERSION: self.version,
            protocol.KEY_OPS: ops,
        }
        if ref is not None:
            frame[protocol.KEY_REF] = ref
        return frame

    def apply_broadcast(self, entry: catchup.Entry) -> bool:
        """Apply a delivered broadcast, and logged ones it shows were missed; return if any."""
        position = self.seqs.get(entry.group)
        if position is None:
            return False
        epoch, last = position
        if epoch == entry.epoch:
            if entry.seq <= last:
                return False
            missed = catchup.since(entry.group, entry.epoch, last, entry.seq - 1)
        else:
            missed = catchup.since(entry.group, entry.epoch, 0, entry.seq - 1)
        if missed is None:
            self.guarded(lambda: run(self.component.on_missed_broadcasts(entry.group)))
        else:
            for earlier in missed:
                self._apply_one(earlier)
        self._apply_one(entry)
        self.seqs[entry.group] = [entry.epoch, entry.seq]
        return True

    def catch_up(self) -> bool:
        """Apply every broadcast logged since this component's positions; return if any."""
        changed = False
        for group, (epoch, last) in list(self.seqs.items()):
            current_epoch, current = catchup.position(group)
            if current_epoch is None or (current_epoch == epoch and current <= last):
                continue
            after = last if current_epoch == epoch else 0
            missed = catchup.since(group, current_epoch, after, current)
            if missed is None:
                self.guarded(lambda g=group: run(self.component.on_missed_broadcasts(g)))
            else:
                for entry in missed:
                    self._apply_one(entry)
            self.seqs[group] = [current_epoch, current]
            changed = True
        return changed

    def _apply_one(self, entry: catchup.Entry) -> None:
        try:
            handler, kwargs = self.component.validate_event(entry.event, entry.payload)
        except UnknownEvent:
            return
        except LiveError as exc:
            logger.warning("live: broadcast %r to %s rejected: %s", entry.event, entry.group, exc)
            return
        try:
            self.guarded(lambda: run(handler(**kwargs)))
        except LiveError:
            return

    def replace(self, html: str | None, new_state: dict[str, Any] | None) -> Frame:
        """Replace state and/or HTML from a direct server push; return the frame."""
        if new_state is not None:
            self.component.state = dict(new_state)
        if html is None:
            return self.commit(None)
        return self.advance(html, dumps_state(self.component.state), None)

    def sync_subscriptions(self) -> None:
        """Follow new groups from ``get_subscriptions()`` and drop the ones no longer named.

        Sets ``groups_changed`` so the transport re-syncs its group memberships.
        """
        wanted = self.component.get_subscriptions()
        for group in wanted:
            if group not in self.seqs:
                self.seqs[group] = catchup.position(group)
                self.groups_changed = True
        for group in list(self.seqs):
            if group not in wanted:
                del self.seqs[group]
                self.groups_changed = True

    # Persistence -------------------------------------------------------------------

    def snapshot(self) -> state.Snapshot:
        """Return the persisted form of this component."""
        return state.Snapshot(
            name=self.component.name,
            params=self.component.params,
            state_json=self.state_json,
            version=self.version,
            html=self.html,
            seqs=self.seqs,
            ref=self.ref,
        )

    def save(self, ttl: int | None = None) -> None:
        """Write the snapshot to the state store (with the HTML as packed already)."""
        state.save(
            self.component_id,
            state.Snapshot(
                name=self.component.name,
                params=self.component.params,
                state_json=self.state_json,
                version=self.version,
                html=self._html,
                seqs=self.seqs,
                ref=self.ref,
            ),
            ttl,
        )

    # Outages -----------------------------------------------------------------------

    def atomic(self, change: Callable[[], T]) -> T:
        """Run ``change``; if the state store or channel layer fails, undo it all.

        Raises ``Unavailable``: the client is told, and this component is exactly as
        it was, so the same event can be sent again.
        """
        before = (self._html, self._text, self.version, self.state_json, self.ref)
        seqs = {group: list(position) for group, position in self.seqs.items()}
        try:
            return change()
        except outages.ERRORS as exc:
            self._html, self._text, self.version, self.state_json, self.ref = before
            self.seqs = seqs
            self.restore()
            outages.report("Redis", exc)
            raise Unavailable() from exc

    def after_outage(self) -> Frame:
        """Save this component again after Redis came back, and re-read what it follows.

        Broadcasts sent during the outage may be lost, so each followed group counts
        as missed (``on_missed_broadcasts``, a fresh ``mount()`` by default).
        """
        for group in list(self.seqs):
            self.guarded(lambda g=group: run(self.component.on_missed_broadcasts(g)))
            self.seqs[group] = catchup.position(group)
        return self.commit(None)


def url_for(name: str) -> str | None:
    """Return the HTTP fallback URL of component ``name``, when ``live.urls`` is installed."""
    from django.urls import NoReverseMatch, reverse

    try:
        return str(reverse("live:component", kwargs={"name": name}))
    except NoReverseMatch:
        return None


def _load_signed_state(blob: object, component_id: str, bound_to: str) -> state.Snapshot | None:
    if blob is None or blob == "":
        return None
    if not isinstance(blob, str):
        raise InvalidToken("Malformed component state")
    try:
        # No older than a token: a saved copy cannot bring back a long-gone state.
        payload = signing.loads(blob, salt=STATE_SALT, max_age=conf.get("TOKEN_MAX_AGE"))
    except signing.SignatureExpired as exc:
        raise ExpiredToken("Component state has expired; reload the component") from exc
    except (signing.BadSignature, ValueError) as exc:
        raise InvalidToken("Component state was tampered with") from exc
    if payload.get("i") != component_id or payload.get("b") != bound_to:
        raise InvalidToken("Component state belongs to another component")
    try:
        return state.Snapshot(**payload["s"])
    except (KeyError, TypeError) as exc:
        raise StateLost() from exc
