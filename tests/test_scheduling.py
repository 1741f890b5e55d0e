"""Fair scheduling of sync work: turn order, per-client limits and queue caps.

Order is asserted, never time: how fast a bystander is served is measured by
``python -m bench fairness``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

import live
from live import registry, scheduling
from live.exceptions import RateLimited
from live.scheduling import Client, Scheduler
from live.testing import LiveClient

HOSTILE = Client("ip:10.66.0.1", "s:hostile")
BYSTANDER = Client("ip:10.1.0.1", "s:bystander")


async def settle() -> None:
    """Let every task that can run, run (granted waiters resume)."""
    for _ in range(5):
        await asyncio.sleep(0)


class Jobs:
    """Jobs waiting on one scheduler; ``granted`` lists their labels in the order they started."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.granted: list[str] = []
        self.finished: list[str] = []
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.clients: dict[str, Client] = {}

    async def submit(self, label: str, client: Client, bounded: bool = True) -> None:
        """Ask for a slot for job ``label``; it records its start."""

        async def job() -> None:
            await self.scheduler.acquire(client, bounded)
            self.granted.append(label)

        self.clients[label] = client
        self.tasks[label] = asyncio.create_task(job())
        await settle()

    async def finish(self, label: str) -> None:
        """End running job ``label``: its slot goes to the next in turn."""
        assert label in self.granted, f"{label} has not started"
        assert label not in self.finished, f"{label} has finished already"
        self.finished.append(label)
        self.scheduler.release(self.clients[label])
        await settle()

    async def run_all(self) -> None:
        """Finish jobs in the order they start until none is left."""
        while len(self.finished) < len(self.granted):
            await self.finish(next(j for j in self.granted if j not in self.finished))


async def test_a_flood_delays_another_client_by_one_job_not_by_its_length() -> None:
    jobs = Jobs(Scheduler(workers=1, per_client=1, max_queued=100))
    for n in range(10):
        await jobs.submit(f"h{n}", HOSTILE)
    await jobs.submit("b", BYSTANDER)
    assert jobs.granted == ["h0"]
    assert jobs.scheduler.queued(HOSTILE.key) == 9

    await jobs.finish("h0")
    assert jobs.granted == ["h0", "b"]
    await jobs.run_all()
    assert jobs.granted == ["h0", "b", *(f"h{n}" for n in range(1, 10))]
    assert (jobs.scheduler.running, jobs.scheduler.queued()) == (0, 0)


async def test_a_client_at_its_limit_leaves_the_other_threads_free() -> None:
    jobs = Jobs(Scheduler(workers=2, per_client=1, max_queued=100))
    for n in range(5):
        await jobs.submit(f"h{n}", HOSTILE)
    await jobs.submit("b", BYSTANDER)
    # The bystander starts at once although four hostile jobs were queued before it.
    assert jobs.granted == ["h0", "b"]
    assert jobs.scheduler.running == 2
    assert jobs.scheduler.queued(HOSTILE.key) == 4
    await jobs.finish("b")
    assert jobs.granted == ["h0", "b"]  # the hostile client stays at one job


async def test_waiting_clients_are_served_in_turn() -> None:
    jobs = Jobs(Scheduler(workers=1, per_client=1, max_queued=100))
    await jobs.submit("first", Client("u:9", "u:9"))
    for n in range(3):
        for name in ("a", "b", "c"):
            await jobs.submit(f"{name}{n}", Client(f"u:{name}", f"u:{name}"))
    await jobs.run_all()
    assert jobs.granted == ["first", "a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]


async def test_sessions_of_one_client_take_turns_within_its_share() -> None:
    jobs = Jobs(Scheduler(workers=1, per_client=1, max_queued=100))
    await jobs.submit("first", BYSTANDER)
    for n in range(3):
        await jobs.submit(f"flood{n}", Client("ip:10.0.0.1", "s:flood"))
    await jobs.submit("neighbour", Client("ip:10.0.0.1", "s:neighbour"))
    await jobs.run_all()
    assert jobs.granted == ["first", "flood0", "neighbour", "flood1", "flood2"]


async def test_more_than_one_job_per_client_when_allowed() -> None:
    jobs = Jobs(Scheduler(workers=3, per_client=2, max_queued=100))
    for n in range(4):
        await jobs.submit(f"h{n}", HOSTILE)
    await jobs.submit("b", BYSTANDER)
    assert jobs.granted == ["h0", "h1", "b"]
    await jobs.finish("h0")
    assert jobs.granted == ["h0", "h1", "b", "h2"]


async def test_a_full_queue_refuses_what_the_client_asks_but_not_server_work() -> None:
    scheduler = Scheduler(workers=1, per_client=1, max_queued=2)
    jobs = Jobs(scheduler)
    for n in range(3):
        await jobs.submit(f"h{n}", HOSTILE)
    with pytest.raises(RateLimited) as refused:
        await scheduler.acquire(HOSTILE)
    assert refused.value.retry_after == 1
    assert refused.value.as_frame() == {
        "code": "rate_limited",
        "message": "Too much work queued for this client (2 events); retry later",
        "retry_after": 1,
    }
    # Pushes and permission checks are never refused; another client is not affected.
    await jobs.submit("push", HOSTILE, bounded=False)
    await jobs.submit("b", BYSTANDER)
    assert scheduler.queued(HOSTILE.key) == 3
    await jobs.run_all()
    assert jobs.granted == ["h0", "b", "h1", "h2", "push"]


async def test_a_cancelled_waiting_job_leaves_its_queue_and_no_slot_behind() -> None:
    jobs = Jobs(Scheduler(workers=1, per_client=1, max_queued=100))
    await jobs.submit("h0", HOSTILE)
    await jobs.submit("h1", HOSTILE)
    await jobs.submit("b", BYSTANDER)
    jobs.tasks["h1"].cancel()
    await settle()
    assert jobs.scheduler.queued() == 1
    await jobs.run_all()
    assert jobs.granted == ["h0", "b"]
    assert (jobs.scheduler.running, jobs.scheduler.queued()) == (0, 0)


async def test_a_job_cancelled_just_before_its_turn_is_skipped() -> None:
    jobs = Jobs(Scheduler(workers=1, per_client=1, max_queued=100))
    await jobs.submit("h0", HOSTILE)
    await jobs.submit("h1", HOSTILE)
    await jobs.submit("h2", Client(HOSTILE.key, "s:other"))
    jobs.tasks["h1"].cancel()
    await jobs.finish("h0")  # its turn comes before its task has seen the cancellation
    assert jobs.granted == ["h0", "h2"]
    await jobs.submit("h3", HOSTILE)
    jobs.tasks["h3"].cancel()
    await jobs.finish("h2")  # only a cancelled job waits: nothing starts
    assert jobs.granted == ["h0", "h2"]
    assert (jobs.scheduler.running, jobs.scheduler.queued()) == (0, 0)


async def test_a_job_cancelled_after_its_grant_gives_the_slot_back() -> None:
    scheduler = Scheduler(workers=1, per_client=1, max_queued=100)
    jobs = Jobs(scheduler)
    await jobs.submit("h0", HOSTILE)
    waiter = asyncio.create_task(scheduler.acquire(BYSTANDER))
    await settle()
    scheduler.release(HOSTILE)  # grants the bystander's slot ...
    waiter.cancel()  # ... which is cancelled before it resumes
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert (scheduler.running, scheduler.queued()) == (0, 0)


def test_clients_are_users_else_addresses_with_sessions_taking_turns(
    django_user_model: Any,
) -> None:
    user = django_user_model(pk=7, username="u")
    anonymous = AnonymousUser()
    assert scheduling.client_of(user, "abc", "10.0.0.1") == Client("u:7", "s:abc")
    assert scheduling.client_of(user, None, "10.0.0.1") == Client("u:7", "u:7")
    assert scheduling.client_of(anonymous, "abc", "10.0.0.1") == Client("ip:10.0.0.1", "s:abc")
    assert scheduling.client_of(anonymous, None, "10.0.0.1") == Client("ip:10.0.0.1", "ip:10.0.0.1")
    assert scheduling.client_of(anonymous, "abc", None) == Client("s:abc", "s:abc")
    assert scheduling.client_of(None, None, None) == Client("ip:unknown", "ip:unknown")


@pytest.mark.parametrize(
    ("settings_live", "expected"),
    [
        pytest.param({}, (8, 1, 32), id="defaults"),
        pytest.param({"SYNC_THREADS": 3, "SYNC_PER_CLIENT": 2}, (3, 2, 32), id="pool"),
        pytest.param({"THREAD_SENSITIVE": True}, (1, 1, 32), id="one-shared-thread"),
    ],
)
async def test_the_scheduler_follows_the_settings(
    settings: Any, settings_live: dict[str, Any], expected: tuple[int, int, int]
) -> None:
    settings.LIVE = settings_live
    assert scheduling.scheduler().limits == expected
    assert scheduling.scheduler() is scheduling.scheduler()


# Through the real consumer ---------------------------------------------------------------

GATE = threading.Event()
ENTERED = threading.Event()


class Gate(live.Component):
    renderer = live.MockRenderer(lambda ctx: f"<p>n={ctx['n']}</p><p>a tail that stays</p>")

    def mount(self) -> None:
        self.state = {"n": 0}

    def on_wait(self) -> None:
        """Hold a worker thread until the test opens the gate."""
        ENTERED.set()
        GATE.wait(10)
        self.state["n"] += 1

    def on_increment(self) -> None:
        self.state["n"] += 1


@pytest.fixture
def gate(settings: Any) -> Iterator[threading.Event]:
    settings.LIVE = {"SYNC_THREADS": 2, "SYNC_PER_CLIENT": 1, "SYNC_QUEUE_PER_CLIENT": 1}
    live.register("t_gate")(Gate)
    GATE.clear()
    ENTERED.clear()
    yield GATE
    GATE.set()
    registry.unregister("t_gate")


async def until(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds (the consumers run in this loop), at most 5 s."""
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.mark.django_db(transaction=True)
async def test_a_flooding_user_is_refused_past_its_queue_while_another_is_served(
    gate: threading.Event, user: Any, other_user: Any
) -> None:
    sockets = [LiveClient(user=user) for _ in range(3)]
    bystander = LiveClient(user=other_user)
    for client in [*sockets, bystander]:
        await client.connect()
    try:
        views = [await client.mount("t_gate") for client in sockets]
        mine = await bystander.mount("t_gate")
        scheduler = scheduling.scheduler()
        refs = []
        for n, (client, view) in enumerate(zip(sockets, views, strict=True)):
            refs.append(1000 + n)
            await client.send(
                {"type": "event", "id": view.id, "event": "wait", "payload": {}, "ref": refs[-1]}
            )
            if n == 0:
                await until(ENTERED.is_set)
        await until(lambda: scheduler.queued(f"u:{user.pk}") == 1)

        # The third socket's event is over the user's queue: refused with its ref.
        assert await sockets[2].receive() == {
            "type": "error",
            "code": "rate_limited",
            "message": "Too much work queued for this client (1 events); retry later",
            "retry_after": 1,
            "id": views[2].id,
            "ref": refs[2],
        }
        # The other user is served while the flooding user's job still holds its thread.
        frame = await bystander.send_event(mine.id, "increment", {})
        assert frame["type"] == "diff"
        assert "n=1" in mine
        assert not gate.is_set()
        assert scheduler.queued(f"u:{user.pk}") == 1

        gate.set()
        for client, view, ref in zip(sockets[:2], views[:2], refs[:2], strict=True):
            answer = await client.receive_until(lambda f, r=ref: f.get("ref") == r)
            assert answer["type"] == "diff"
            assert "n=1" in view
        await until(lambda: scheduler.running == 0)
    finally:
        gate.set()
        for client in [*sockets, bystander]:
            await client.close()


@pytest.mark.django_db(transaction=True)
async def test_events_run_on_the_one_shared_thread_when_thread_sensitive(
    gate: threading.Event, settings: Any, user: Any
) -> None:
    settings.LIVE = {**settings.LIVE, "THREAD_SENSITIVE": True}
    async with LiveClient(user=user) as client:
        view = await client.mount("t_gate")
        frame = await client.send_event(view.id, "increment", {})
        assert frame["type"] == "diff"
        assert "n=1" in view
        assert scheduling.scheduler().limits == (1, 1, 1)


class GateConsumer(live.ComponentConsumer):
    component_name = "t_gate"


@pytest.mark.django_db(transaction=True)
async def test_a_component_socket_over_the_clients_queue_is_closed_with_4429(
    gate: threading.Event, settings: Any
) -> None:
    settings.LIVE = {**settings.LIVE, "SYNC_QUEUE_PER_CLIENT": 0}
    scheduler = scheduling.scheduler()
    # Two anonymous sockets without an address or a saved session: one client.
    async with LiveClient() as busy:
        view = await busy.mount("t_gate")
        await busy.send({"type": "event", "id": view.id, "event": "wait", "payload": {}})
        await until(ENTERED.is_set)
        assert scheduler.running == 1
        communicator = WebsocketCommunicator(GateConsumer.as_asgi(), "/ws/gate/")
        connected, _ = await communicator.connect()
        assert connected
        assert json.loads(await communicator.receive_from()) == {
            "type": "error",
            "code": "rate_limited",
            "message": "Too much work queued for this client (0 events); retry later",
            "retry_after": 1,
        }
        assert await communicator.receive_output() == {"type": "websocket.close", "code": 4429}
        gate.set()
        await busy.receive_until(lambda f: f.get("id") == view.id)
        assert "n=1" in view
