"""The WebSocket transport: one ``LiveConsumer`` per page, many components on it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar, TypeVar

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from live import (
    conf,
    frames,
    limits,
    outages,
    protocol,
    ratelimit,
    registry,
    revocation,
    scheduling,
    state,
    tokens,
    visitors,
)
from live.arguments import is_encodable
from live.catchup import Entry
from live.exceptions import (
    InvalidToken,
    LiveError,
    NotAuthenticated,
    NotJoined,
    ProtocolError,
    RateLimited,
    TooManyComponents,
    Unavailable,
)
from live.fanout import component_group, remember_loop
from live.mounted import Mounted
from live.types import Frame

logger = logging.getLogger("live")

try:  # what daphne's WebSocket library raises for a send after the client closed
    from autobahn.exception import Disconnected as _Disconnected

    SOCKET_CLOSED: tuple[type[BaseException], ...] = (_Disconnected,)
except ImportError:  # another server
    SOCKET_CLOSED = ()

T = TypeVar("T")


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Serve every live component of one page over one socket.

    Frames are JSON objects (see ``live.protocol``); a failing frame gets an
    ``error`` frame and never affects the other components or the socket.
    """

    async def connect(self) -> None:
        """Called when the socket opens; accept it and start with no components."""
        self.mounted: dict[str, Mounted] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        self.followers: dict[str, set[str]] = {}
        self.pending: dict[str, asyncio.TimerHandle | asyncio.Task[None]] = {}
        self.last_push: dict[str, float] = {}
        self.revoked: dict[str, LiveError] = {}
        self.user_checked = time.monotonic()
        # One user re-check at a time; paths that send HTML wait for one under way.
        self.user_lock = asyncio.Lock()
        #: Set once this socket's session ended: its components and joins get this error.
        self.signed_out: LiveError | None = None
        self.session_key: str | None = getattr(self.scope.get("session"), "session_key", None)
        self.user_pk = getattr(self.user, "pk", None)
        self.bucket = frames.FrameBucket(conf.get("SOCKET_FRAMES_PER_SECOND"))
        self.slow = False
        self.holding = limits.Holding(self.limits_client())
        try:
            self.holding.take(limits.SOCKETS)
        except RateLimited as error:
            # Accepted first: a refused handshake reaches the page as a bare 1006.
            # The frame too: daphne does not pass a close reason on.
            self.refused = True
            await self.accept()
            await self.send_error(error)
            await self.close(code=protocol.CLOSE_TOO_MANY_SOCKETS, reason=error.message)
            return
        self.refused = False
        remember_loop()
        outages.watch(self)
        await self.accept()
        await self.check_cookie()
        pk = getattr(self.user, "pk", None)
        if pk is not None:
            self.user_group = revocation.user_group(pk)
            try:
                await self.channel_layer.group_add(self.user_group, self.channel_name)
            except outages.ERRORS as exc:
                outages.report("channel layer", exc)  # joined again when it answers

    async def disconnect(self, code: int) -> None:
        """Called when the socket closes; leave every group."""
        outages.forget(self)
        for handle in getattr(self, "pending", {}).values():
            handle.cancel()
        with contextlib.suppress(*outages.ERRORS):  # a lost Redis forgot the groups anyway
            for group in self.all_groups():
                await self.channel_layer.group_discard(group, self.channel_name)
        self.followers = {}
        self.mounted = {}
        holding = getattr(self, "holding", None)
        if holding is not None:
            holding.close()

    def all_groups(self) -> list[str]:
        """Return every channel-layer group this socket is in."""
        groups = list(getattr(self, "followers", {}))
        if getattr(self, "user_group", None):
            groups.append(self.user_group)
        return groups

    # Outages -----------------------------------------------------------------------

    @property
    def channel_receive(self) -> Any:
        """What Channels awaits for channel-layer messages: the layer's, riding out outages."""
        return self.receive_from_layer

    @channel_receive.setter
    def channel_receive(self, receive: Any) -> None:
        self.layer_receive = receive

    async def receive_from_layer(self) -> dict[str, Any]:
        """Return the next channel-layer message; while the layer is down, wait for it."""
        while True:
            await outages.wait_until_up()
            try:
                message: dict[str, Any] = await self.layer_receive()
                return message
            except outages.ERRORS as exc:
                # Without this, the error would close the socket (1011) and lose its state.
                outages.report("channel layer", exc)
                await asyncio.sleep(0)

    async def probe(self) -> None:
        """Raise one of ``outages.ERRORS`` unless the state store and the channel layer answer."""

        def touch_store() -> None:
            state.cache().set("live:probe", 1, 10)

        await database_sync_to_async(touch_store, thread_sensitive=False)()
        await self.channel_layer.group_add("live-probe", self.channel_name)
        await self.channel_layer.group_discard("live-probe", self.channel_name)

    async def recover(self) -> None:
        """Called after an outage: join the groups again, save every component, push changes."""
        for group in self.all_groups():
            await self.channel_layer.group_add(group, self.channel_name)
        await self.maybe_refresh_user()
        for component_id, mounted in list(self.mounted.items()):
            async with self.lock(component_id):
                frame = await self.run_sync(mounted.after_outage)
                if not await self.still_joined(mounted):
                    continue
                await self.refollow(mounted)
                if frame[protocol.KEY_TYPE] != protocol.ACK:
                    await self.send_frame(frame)

    # Helpers -----------------------------------------------------------------

    @property
    def user(self) -> Any:
        """The user of this connection (anonymous without ``AuthMiddlewareStack``)."""
        from django.contrib.auth.models import AnonymousUser

        return self.scope.get("user") or AnonymousUser()

    def binding(self) -> str:
        """Return the token binding of this connection's user and session."""
        session = self.scope.get("session")
        session_key = getattr(session, "session_key", None)
        pk = getattr(self.user, "pk", None)
        return tokens.binding(
            pk, visitors.identity(pk, session_key, visitors.from_scope(self.scope))
        )

    def client_address(self) -> str | None:
        """Return the client's IP address (daphne's ``--proxy-headers`` sets it behind a proxy)."""
        client = self.scope.get("client") or (None, 0)
        return str(client[0]) if client[0] is not None else None

    def limits_client(self) -> limits.Client:
        """Return who this socket's sockets, components and events count against."""
        session_key = getattr(self.scope.get("session"), "session_key", None)
        visitor = visitors.from_scope(self.scope)
        return limits.Client.of(self.user, session_key, visitor, self.client_address())

    def client_key(self) -> str:
        """Return who rate limits count against: the user, else the session, else the address."""
        return ratelimit.client_key(
            self.user,
            getattr(self.scope.get("session"), "session_key", None),
            self.client_address(),
        )

    async def check_cookie(self) -> None:
        """Treat a socket opened with a signed-out session cookie as signed out."""
        cookie = self.cookie()
        if not cookie:
            return
        try:
            if await self.run_sync(lambda: revocation.is_signed_out(cookie)):
                self.sign_out()
        except outages.ERRORS as exc:
            outages.report("Redis", exc)
            self.user_checked = 0.0  # asked again before anything is sent

    def cookie(self) -> str | None:
        """Return the session cookie this socket was opened with."""
        cookie: str | None = (self.scope.get("cookies") or {}).get(settings.SESSION_COOKIE_NAME)
        return cookie

    def sign_out(self) -> None:
        """Make this socket anonymous for good: its session ended."""
        from django.contrib.auth.models import AnonymousUser

        anonymous: Any = AnonymousUser()
        self.scope["user"] = anonymous
        self.user_pk = None
        if self.signed_out is None:
            self.signed_out = NotAuthenticated(revocation.SIGNED_OUT)

    async def refresh_user(self, *, due_only: bool = False) -> None:
        """Reload the user from the session store and re-check every component.

        ``due_only``: unless another re-check made it fresh in the meantime.
        """
        async with self.user_lock:
            started = time.monotonic()
            if due_only and not self.user_check_due():
                return
            if self.user_pk is not None:
                session_key = self.session_key
                user = await self.run_sync(lambda: revocation.load_user(session_key))
                if getattr(user, "pk", None) != self.user_pk:
                    self.sign_out()  # logged out, session deleted or expired, user deactivated
                else:
                    self.scope["user"] = user
            self.user_checked = started
            await self.recheck_components()

    def user_check_due(self) -> bool:
        """Return whether the user was last checked longer than the recheck interval ago."""
        interval: float = conf.get("USER_RECHECK_INTERVAL")
        return time.monotonic() - self.user_checked >= interval

    async def recheck_components(self) -> None:
        """Revoke every component the user may no longer use: an error frame, its groups left."""
        user, signed_out, joined = self.user, self.signed_out, list(self.mounted.items())

        def check() -> dict[str, LiveError]:
            errors: dict[str, LiveError] = {}
            for component_id, mounted in joined:
                mounted.component.user = user
                try:
                    mounted.component.check_permissions()
                except LiveError as error:
                    errors[component_id] = error
            return errors

        if signed_out is not None:
            errors = {component_id: signed_out for component_id, _ in joined}
        else:
            errors = await self.run_sync(check) if joined else {}
        for component_id, error in errors.items():
            self.drop(component_id)
            self.revoked[component_id] = error
        for component_id, error in errors.items():
            await self.send_error(error, component_id)
        with contextlib.suppress(*outages.ERRORS):  # nothing is sent to them either way
            for component_id in errors:
                await self.follow(component_id, [])

    async def maybe_refresh_user(self) -> None:
        """Reload the user if it is authenticated and was last checked too long ago.

        First waits for a re-check under way, so nothing goes out on a user about to change.
        """
        if self.user_lock.locked():
            async with self.user_lock:
                pass
        if self.user_pk is not None and self.user_check_due():
            await self.refresh_user(due_only=True)

    async def check_signed_out(self) -> None:
        """Re-check the user as ``maybe_refresh_user`` does, and ask at once whether it logged out.

        For joins and resyncs: a logout in another tab counts before its message arrives.
        """
        due = self.user_pk is not None and self.user_check_due()
        await self.maybe_refresh_user()
        if due or self.user_pk is None:
            return
        session_key = self.session_key
        if await self.run_sync(lambda: revocation.is_signed_out(session_key)):
            await self.refresh_user()

    async def still_joined(self, mounted: Mounted) -> bool:
        """Return whether ``mounted`` may still be sent to, after any re-check under way."""
        if self.user_lock.locked():
            async with self.user_lock:
                pass
        return self.mounted.get(mounted.component_id) is mounted

    def gone(self, component_id: str) -> LiveError:
        """Return the error for a frame naming ``component_id``, no longer joined here."""
        if component_id in self.revoked:
            return self.revoked[component_id]
        if self.signed_out is not None:
            return self.signed_out
        return NotJoined("Component is not joined on this connection; join it first")

    async def run_sync(
        self, func: Callable[[], T], mounted: Mounted | None = None, *, bounded: bool = False
    ) -> T:
        """Run blocking component code off the event loop, with fresh DB connections.

        Jobs wait their client's turn (``live.scheduling``); ``bounded`` ones (what the
        client asked for) get ``RateLimited`` when its queue is full. A component with
        ``run_in_thread = False`` runs in the loop instead: no thread hop.
        """
        if mounted is not None and not mounted.component.run_in_thread:
            return func()
        return await scheduling.run(func, self.sync_client(), bounded)

    def sync_client(self) -> scheduling.Client:
        """Return whose turn this socket's sync work waits for."""
        session_key = getattr(self.scope.get("session"), "session_key", None)
        return scheduling.client_of(self.user, session_key, self.client_address())

    async def send_frame(self, frame: Frame) -> None:
        """Send one frame as compact JSON; close a client that stopped reading."""
        if self.slow:
            return
        pending = self.unsent_bytes()
        if pending is not None and pending > conf.get("MAX_SEND_BUFFER"):
            # The client does not read: stop buffering for it. It resyncs when it rejoins.
            self.slow = True
            logger.warning("live: closing a socket with %d unsent bytes (slow client)", pending)
            await self.close(code=protocol.CLOSE_SLOW_CONSUMER)
            return
        text = json.dumps(frame, separators=(",", ":"), ensure_ascii=False)
        if not is_encodable(text):
            # Client text is checked on the way in; this is server text. daphne would fail
            # to encode it and close the socket (1011): send it escaped instead.
            logger.warning(
                "live: a %s frame held a lone surrogate; sent escaped", frame.get("type")
            )
            text = json.dumps(frame, separators=(",", ":"))
        try:
            await self.send(text_data=text)
        except SOCKET_CLOSED:
            # The client closed while this was on its way; its disconnect comes next.
            self.slow = True

    def unsent_bytes(self) -> int | None:
        """Return the bytes written to this socket but not yet taken by the client, if known.

        Read from daphne's transport; ``None`` under a server that does not expose it.
        """
        transport = self.transport()
        try:
            return int(len(transport.dataBuffer) - transport.offset + transport._tempDataLen)
        except (AttributeError, TypeError):
            return None

    def transport(self) -> Any:
        """Return daphne's transport under this socket (found once), or ``None``."""
        if not hasattr(self, "_transport"):
            send: Any = getattr(self, "base_send", None)
            # Middleware (sessions) wrap daphne's send; daphne's is a partial on its protocol.
            for _ in range(5):
                wrapper = getattr(send, "__self__", None)
                if wrapper is None or not hasattr(wrapper, "real_send"):
                    break
                send = wrapper.real_send
            server_protocol = getattr(send, "args", (None,))[0]
            self._transport = getattr(server_protocol, "transport", None)
        return self._transport

    async def send_error(
        self, error: LiveError, component_id: object = None, ref: object = None
    ) -> None:
        """Send an error frame for ``error``."""
        frame: Frame = {protocol.KEY_TYPE: protocol.ERROR, **error.as_frame()}
        if isinstance(component_id, str) and len(component_id) <= 64 and is_encodable(component_id):
            frame[protocol.KEY_ID] = component_id
        if isinstance(ref, int) and not isinstance(ref, bool) and abs(ref) <= protocol.MAX_REF:
            frame[protocol.KEY_REF] = ref
        await self.send_frame(frame)

    def lock(self, component_id: str) -> asyncio.Lock:
        """Return the lock that serialises work on one component."""
        return self.locks.setdefault(component_id, asyncio.Lock())

    # Receiving -----------------------------------------------------------------

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """Called with each client frame; parse, check and dispatch it."""
        frame: Any = None
        try:
            try:
                frame = frames.parse(text_data if text_data is not None else bytes_data or b"")
            except LiveError:
                self.bucket.take()  # a flood of bad frames is a flood all the same
                raise
            # Parsed first, so that a refused event is answered with its ref and settles.
            self.bucket.take()
            await self.receive_json(frame)
        except LiveError as error:
            await self.send_error(error, *self.id_and_ref(frame))
        except outages.ERRORS as exc:
            outages.report("Redis", exc)
            await self.send_error(Unavailable(), *self.id_and_ref(frame))
        except Exception:
            logger.exception("live: unexpected error handling a frame")
            await self.send_error(LiveError())

    @staticmethod
    def id_and_ref(frame: Any) -> tuple[object, object]:
        """Return the component id and ref a (possibly malformed) frame names."""
        if not isinstance(frame, dict):
            return None, None
        return frame.get(protocol.KEY_ID), frame.get(protocol.KEY_REF)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Dispatch a parsed frame by its ``type``."""
        kind = content.get(protocol.KEY_TYPE)
        if kind == protocol.EVENT:
            await self.handle_event(content)
        elif kind == protocol.JOIN:
            await self.handle_join(content)
        elif kind == protocol.LEAVE:
            await self.handle_leave(content)
        elif kind == protocol.RESYNC:
            await self.handle_resync(content)
        elif kind == protocol.PING:
            await self.send_frame({protocol.KEY_TYPE: protocol.PONG})
        else:
            valid = ", ".join(protocol.CLIENT_TYPES)
            shown = str(kind)[:40]
            raise ProtocolError(f"Unknown frame type {shown!r}; expected one of: {valid}")

    def get_mounted(self, component_id: object) -> Mounted:
        """Return a component this socket has joined, or raise ``NotJoined``."""
        mounted = self.mounted.get(component_id) if isinstance(component_id, str) else None
        if mounted is None and isinstance(component_id, str):
            raise self.gone(component_id)
        if mounted is None:
            raise self.signed_out or NotJoined(
                "Component is not joined on this connection; join it first"
            )
        return mounted

    async def handle_join(self, content: Frame) -> None:
        """Resume a component from its token and answer with an ack or its HTML."""
        await self.check_signed_out()
        if self.signed_out is not None:
            raise self.signed_out
        token = content.get(protocol.KEY_TOKEN)
        client_version = content.get(protocol.KEY_VERSION)
        bound_to = self.binding()
        user = self.user
        claimed = content.get(protocol.KEY_ID)
        fresh = not isinstance(claimed, str) or claimed not in self.mounted
        if fresh:
            # Cheap refusal before the token is even read; checked again with the real id.
            self.check_room(None)
            self.holding.take(limits.COMPONENTS)

        def resume() -> tuple[Mounted, Frame]:
            try:
                mounted, remounted = Mounted.resume(token, user=user, bound_to=bound_to)
            except InvalidToken as exc:
                session, cookie = self.scope.get("session"), self.cookie()
                if revocation.session_ended(token, session=session, cookie=cookie, user=user):
                    raise NotAuthenticated(revocation.SIGNED_OUT) from exc
                raise
            return mounted, mounted.join_frame(client_version, remounted)

        try:
            mounted, frame = await self.run_sync(resume, bounded=True)
            component_id = mounted.component_id
            # The claimed id is the client's word: a token for another component must not
            # ride on the id of one already joined past the limit.
            self.check_room(component_id)
            if not fresh and component_id not in self.mounted:
                self.holding.take(limits.COMPONENTS)
                fresh = True
            if not await self.user_unchanged(user):
                # Re-checked while it resumed: resumed for a user that is no longer current.
                if self.signed_out is not None:
                    raise self.signed_out
                mounted.component.user = self.user
                await self.run_sync(mounted.component.check_permissions)
        except BaseException:
            if fresh:
                self.holding.give(limits.COMPONENTS)
            raise
        if fresh and component_id in self.mounted:
            self.holding.give(limits.COMPONENTS)  # joined already, under another claimed id
        mounted.client_key = self.client_key()
        mounted.component.client_address = self.client_address()
        self.revoked.pop(component_id, None)
        async with self.lock(component_id):
            self.mounted[component_id] = mounted
            added = await self.follow(
                component_id, [*mounted.groups, component_group(component_id)]
            )
            if not await self.still_joined(mounted):
                await self.follow(component_id, [])
                raise self.gone(component_id)
            await self.send_frame(frame)
            if added:
                # Broadcasts sent between the catch-up and joining the group.
                late = await self.run_sync(
                    lambda: mounted.commit(None) if mounted.catch_up() else None
                )
                if late is not None and await self.still_joined(mounted):
                    await self.send_frame(late)

    async def user_unchanged(self, user: Any) -> bool:
        """Return whether the user is still ``user``, after any re-check under way."""
        if self.user_lock.locked():
            async with self.user_lock:
                pass
        return self.user is user

    def check_room(self, component_id: str | None) -> None:
        """Raise ``TooManyComponents`` unless ``component_id`` is joined or there is room."""
        limit = conf.get("MAX_COMPONENTS")
        if component_id not in self.mounted and len(self.mounted) >= limit:
            raise TooManyComponents(f"At most {limit} components per connection")

    async def handle_event(self, content: Frame) -> None:
        """Apply a client event to one component and send the diff."""
        await self.maybe_refresh_user()
        mounted = self.get_mounted(content.get(protocol.KEY_ID))
        event = content.get(protocol.KEY_EVENT)
        payload = content.get(protocol.KEY_PAYLOAD, {})
        ref = content.get(protocol.KEY_REF)
        client = self.holding.client
        # A logout in another tab counts at once, not a recheck window later.
        session_key = self.session_key if self.user_pk is not None else None

        def handle() -> Frame | None:
            limits.count_event(client)  # over every socket of the client, before any work
            if session_key is not None and revocation.is_signed_out(session_key):
                return None
            return mounted.atomic(lambda: mounted.handle_event(event, payload, ref))

        async with self.lock(mounted.component_id):
            self.cancel_push(mounted.component_id)
            frame = await self.run_sync(handle, mounted, bounded=True)
            if frame is None:
                await self.refresh_user()
            if frame is None or not await self.still_joined(mounted):
                raise self.gone(mounted.component_id)
            await self.refollow(mounted)
            await self.send_frame(frame)

    async def handle_resync(self, content: Frame) -> None:
        """Send the whole HTML of one component again."""
        await self.check_signed_out()
        mounted = self.get_mounted(content.get(protocol.KEY_ID))
        async with self.lock(mounted.component_id):
            frame = await self.run_sync(mounted.full_frame, mounted, bounded=True)
            if not await self.still_joined(mounted):
                raise self.gone(mounted.component_id)
            await self.send_frame(frame)

    async def handle_leave(self, content: Frame) -> None:
        """Forget one component on this socket (its snapshot stays for a rejoin)."""
        mounted = self.get_mounted(content.get(protocol.KEY_ID))
        await self.follow(self.drop(mounted.component_id), [])

    def drop(self, component_id: str) -> str:
        """Forget ``component_id`` on this socket; return it (its groups are left by ``follow``)."""
        self.cancel_push(component_id)
        if self.mounted.pop(component_id, None) is not None:
            self.holding.give(limits.COMPONENTS)
        self.locks.pop(component_id, None)
        return component_id

    async def refollow(self, mounted: Mounted) -> None:
        """Join and leave groups after a change of ``mounted``'s subscriptions, if there was one."""
        if mounted.groups_changed:
            mounted.groups_changed = False
            await self.follow(mounted.component_id, mounted.groups)

    async def follow(self, component_id: str, groups: list[str]) -> bool:
        """Make ``component_id`` follow exactly ``groups``; return whether any group was added."""
        added = False
        wanted = set(groups)
        if component_id in self.mounted:
            wanted.add(component_group(component_id))
        for group in wanted:
            members = self.followers.setdefault(group, set())
            if not members:
                await self.channel_layer.group_add(group, self.channel_name)
                added = True
            members.add(component_id)
        for group, members in list(self.followers.items()):
            if group not in wanted and component_id in members:
                members.discard(component_id)
                if not members:
                    del self.followers[group]
                    await self.channel_layer.group_discard(group, self.channel_name)
        return added

    # Channel-layer messages ------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Route a message; one without a handler is logged instead of killing the socket.

        Channels' own dispatch first hops to the sync thread to close old database
        connections, for every message; here code that uses the database runs
        through ``database_sync_to_async``, which closes them itself.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            logger.warning("live: no handler for message type %r", message.get("type"))
            return
        try:
            await handler(message)
        except Unavailable:
            pass  # Redis is down: ``recover`` brings every component up to date when it answers.
        except outages.ERRORS as exc:
            outages.report("Redis", exc)

    async def live_broadcast(self, message: dict[str, Any]) -> None:
        """Called for each ``live.broadcast(...)``; apply it to every following component."""
        entry = Entry(
            group=message["group"],
            epoch=message["epoch"],
            seq=message["seq"],
            event=message["event"],
            payload=message["payload"],
        )
        await self.maybe_refresh_user()
        for component_id in list(self.followers.get(entry.group, ())):
            mounted = self.mounted.get(component_id)
            if mounted is None:
                continue
            if component_id not in self.pending and self.push_due(component_id):
                # Nothing to coalesce with: apply and render in one trip to the worker thread.
                async with self.lock(component_id):
                    self.last_push[component_id] = time.monotonic()
                    frame = await self.run_sync(
                        partial(self._apply_and_commit, mounted, entry), mounted
                    )
                    if frame is not None:
                        # Saved with the other sockets' snapshots, before the frame goes.
                        await state.flushed()
                        if not await self.still_joined(mounted):
                            continue
                        await self.refollow(mounted)
                        if frame[protocol.KEY_TYPE] != protocol.ACK:
                            await self.send_frame(frame)
                continue
            async with self.lock(component_id):
                applied = await self.run_sync(partial(mounted.apply_broadcast, entry), mounted)
            if applied:
                self.schedule_push(component_id)

    def push_due(self, component_id: str) -> bool:
        """Return whether a push of ``component_id`` may happen now (its interval has passed)."""
        interval: float = conf.get("PUSH_INTERVAL")
        return self.last_push.get(component_id, 0.0) + interval <= time.monotonic()

    @staticmethod
    def _apply_and_commit(mounted: Mounted, entry: Entry) -> Frame | None:
        with state.deferred():
            return mounted.atomic(
                lambda: mounted.commit(None) if mounted.apply_broadcast(entry) else None
            )

    async def live_revoke(self, message: dict[str, Any]) -> None:
        """Called when the user logged out or their roles changed: re-check everything."""
        await self.refresh_user()

    async def live_update(self, message: dict[str, Any]) -> None:
        """Called for ``broadcast_component_update``: replace one component's HTML/state."""
        await self.maybe_refresh_user()
        mounted = self.mounted.get(message["component_id"])
        if mounted is None:
            return
        async with self.lock(mounted.component_id):
            frame = await self.run_sync(
                lambda: mounted.replace(message.get("html"), message.get("state"))
            )
            if await self.still_joined(mounted):
                await self.send_frame(frame)

    # Coalesced pushes ---------------------------------------------------------------

    def schedule_push(self, component_id: str) -> None:
        """Render ``component_id`` now, or once its push interval has passed."""
        if component_id in self.pending:
            return
        interval = conf.get("PUSH_INTERVAL")
        wait = self.last_push.get(component_id, 0.0) + interval - time.monotonic()
        loop = asyncio.get_running_loop()
        if wait <= 0:
            self.pending[component_id] = loop.create_task(self.push(component_id))
        else:
            self.pending[component_id] = loop.call_later(
                wait, lambda: self._start_push(component_id)
            )

    def _start_push(self, component_id: str) -> None:
        self.pending[component_id] = asyncio.get_running_loop().create_task(self.push(component_id))

    def cancel_push(self, component_id: str) -> None:
        """Drop a scheduled push; the caller is about to render anyway."""
        handle = self.pending.pop(component_id, None)
        if handle is not None and not isinstance(handle, asyncio.Task):
            handle.cancel()

    async def push(self, component_id: str) -> None:
        """Render one component after broadcasts and send the diff."""
        try:
            await self.maybe_refresh_user()
            mounted = self.mounted.get(component_id)
            if mounted is None:
                return
            async with self.lock(component_id):
                if self.pending.get(component_id) is not asyncio.current_task():
                    return
                self.last_push[component_id] = time.monotonic()
                frame = await self.run_sync(
                    lambda: mounted.atomic(lambda: mounted.commit(None)), mounted
                )
                if not await self.still_joined(mounted):
                    return
                await self.refollow(mounted)
                if frame[protocol.KEY_TYPE] != protocol.ACK:
                    await self.send_frame(frame)
        except Unavailable:
            pass  # Pushed again when Redis answers (``recover``).
        except outages.ERRORS as exc:
            outages.report("Redis", exc)  # the user re-check could not ask; pushed at ``recover``
        except LiveError as error:
            await self.send_error(error, component_id)
        except Exception:
            logger.exception("live: error pushing component %s", component_id)
        finally:
            if self.pending.get(component_id) is asyncio.current_task():
                del self.pending[component_id]


class ComponentConsumer(LiveConsumer):
    """A socket dedicated to one component, mounted at connect.

    Set ``component_name``; frames ``{"event": ..., "payload": ...}`` go to
    ``dispatch_event``. Group handlers such as ``audit_entry(self, event)`` can
    be added as methods, as in any Channels consumer: each channel-layer message
    reaches them only while the component is mounted and its permissions pass.
    """

    component_name: ClassVar[str] = ""

    def get_component_params(self) -> dict[str, Any]:
        """Return the component's params; the URL route's kwargs by default."""
        return dict(self.scope.get("url_route", {}).get("kwargs", {}))

    async def connect(self) -> None:
        """Accept, mount ``component_name`` and send its HTML."""
        await super().connect()
        if self.refused:
            return
        component_cls = registry.get(self.component_name)
        params = self.get_component_params()
        user, bound_to, client_key = self.user, self.binding(), self.client_key()

        def mount() -> Mounted:
            mounted = Mounted.mount(
                component_cls,
                params=params,
                user=user,
                bound_to=bound_to,
                client_key=client_key,
            )
            state.touch(mounted.component_id)  # joined at once: kept as long as any
            return mounted

        try:
            limits.count_render(self.holding.client)
            self.holding.take(limits.COMPONENTS)
            try:
                mounted = await self.run_sync(mount, bounded=True)
            except BaseException:
                self.holding.give(limits.COMPONENTS)
                raise
        except LiveError as error:
            await self.send_error(error)
            await self.close(code=4000 + error.status)
            return
        mounted.client_key = self.client_key()
        mounted.component.client_address = self.client_address()
        self.component_id = mounted.component_id
        self.mounted[mounted.component_id] = mounted
        await self.follow(mounted.component_id, mounted.groups)
        await self.send_frame(mounted.full_frame())

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Accept the short ``{"event", "payload"}`` form next to the full protocol."""
        if protocol.KEY_TYPE not in content and protocol.KEY_EVENT in content:
            await self.dispatch_event(
                event=content[protocol.KEY_EVENT],
                payload=content.get(protocol.KEY_PAYLOAD, {}),
                ref=content.get(protocol.KEY_REF),
            )
            return
        await super().receive_json(content, **kwargs)

    async def dispatch_event(self, event: str, payload: Any = None, ref: Any = None) -> None:
        """Handle ``event`` on this socket's component and send the result."""
        await self.handle_event(
            {
                protocol.KEY_ID: getattr(self, "component_id", None),
                protocol.KEY_EVENT: event,
                protocol.KEY_PAYLOAD: payload if payload is not None else {},
                protocol.KEY_REF: ref,
            }
        )

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Route a message; a channel-layer one only while the component may still be used.

        A subclass may join groups before the component is checked (or keep them after
        it was refused): its handlers must never push to a client that is not allowed.
        """
        if str(message.get("type", "")).startswith("websocket."):
            await super().dispatch(message)
            return
        if not await self.still_allowed():
            return
        try:
            await super().dispatch(message)
        except LiveError as error:
            await self.send_error(error, getattr(self, "component_id", None))

    async def still_allowed(self) -> bool:
        """Return whether the component is mounted and its permissions pass; else close."""
        component_id: str | None = getattr(self, "component_id", None)
        if component_id is None or component_id not in self.mounted:
            return False  # refused at connect, or already revoked and closed
        await self.maybe_refresh_user()
        mounted = self.mounted.get(component_id)
        error = self.revoked.get(component_id)
        if mounted is not None:
            try:
                await self.run_sync(mounted.component.check_permissions, mounted)
                return True
            except LiveError as refused:
                error = refused
                self.drop(component_id)
                self.revoked[component_id] = error
                await self.send_error(error, component_id)
        await self.close(code=4000 + (error.status if error is not None else 403))
        return False
