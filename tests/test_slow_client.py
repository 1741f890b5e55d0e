"""A client that stops reading is closed with 4008, costs bounded memory, and resyncs."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from live.demo.seed import seed
from tests.conftest import Server, start_server
from tests.wire import Session

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(django_db_blocker: Any) -> Iterator[Server]:
    settings = {"SOCKET_FRAMES_PER_SECOND": 100000, "MAX_SEND_BUFFER": 256 * 1024}
    with django_db_blocker.unblock():
        started = start_server({"LIVE_SETTINGS": json.dumps(settings)})
    yield started
    started.stop()


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match
    return int(match.group(1))


def test_a_stalled_reader_is_closed_and_others_are_not_held_up(server: Server) -> None:
    with contextlib.ExitStack() as stack:
        stalled_reader_scenario(server, stack)


def stalled_reader_scenario(server: Server, stack: contextlib.ExitStack) -> None:
    seed()
    slow_tab = Session().tab(server.url + "/")
    other_tab, watcher = Session().tab(server.url + "/"), Session().tab(server.url + "/")
    # A tiny receive buffer and a one-message queue: the client soon stops reading.
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
    raw.connect(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
    slow_tab.connect(server.url, sock=raw, max_queue=1, ping_interval=None)
    stack.callback(slow_tab.drop)
    joined = slow_tab.join("people")
    assert joined["type"] == "full"
    people_id = slow_tab.root("people").id
    before = rss_kib(server.process.pid)
    # Each resync answers the whole table (~8 KB) from the snapshot, without rendering.
    # Keep asking (bounded) until the server's backlog for this socket passes the limit.
    for _ in range(40):
        for _ in range(500):
            slow_tab.send({"type": "resync", "id": people_id})
        time.sleep(0.2)
        if "slow client" in server.output():
            break
    # Meanwhile a toggle by someone else reaches a third viewer.
    for tab in (other_tab, watcher):
        tab.connect(server.url)
        stack.callback(tab.close)
        tab.join("people")
    first_row = re.search(r'"person_id": (\d+)', other_tab.root("people").html or "")
    assert first_row
    watched = watcher.root("people")
    other_tab.send_event("people", "toggle", person_id=int(first_row.group(1)))
    pushed = watcher.receive()
    assert (pushed["type"], pushed["id"]) in {("diff", watched.id), ("full", watched.id)}
    # The stalled socket was closed: with 4008 when the client reads up to the close
    # frame in time, else the server drops the connection (an abnormal close, 1006).
    from websockets.exceptions import ConnectionClosed

    def drain() -> None:
        while True:
            slow_tab.socket.recv(timeout=10)

    with pytest.raises(ConnectionClosed) as closed:
        drain()
    assert closed.value.rcvd is None or closed.value.rcvd.code == 4008
    assert "slow client" in server.output()
    assert rss_kib(server.process.pid) - before < 64 * 1024
    # Coming back, the client rejoins with the version it had and gets the whole HTML.
    slow_tab.drop()
    slow_tab.connect(server.url)
    stack.callback(slow_tab.close)
    frame = slow_tab.join("people")
    assert frame["type"] == "full"
