"""A client that stops reading is closed with 4008, costs bounded memory, and resyncs."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import re
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from live.demo.seed import seed
from tests.conftest import Server, start_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(django_db_blocker: Any) -> Iterator[Server]:
    settings = {"SOCKET_FRAMES_PER_SECOND": 100000, "MAX_SEND_BUFFER": 256 * 1024}
    with django_db_blocker.unblock():
        started = start_server({"LIVE_SETTINGS": json.dumps(settings)})
    yield started
    started.process.terminate()
    started.process.wait(timeout=10)


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match
    return int(match.group(1))


class Page:
    """The tour page as a browser session sees it: cookies and component tokens."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.html = opener.open(url + "/").read().decode()
        roots = re.findall(
            r'data-live-id="(lv\w+)" data-live-name="(\w+)" data-live-token="([^"]+)"', self.html
        )
        self.roots = {name: (cid, token) for cid, name, token in roots}

    def connect(self, **kwargs: Any) -> Any:
        from websockets.sync.client import connect

        cookie = "; ".join(f"{c.name}={c.value}" for c in self.jar)
        ws_url = self.url.replace("http://", "ws://") + "/ws/live/"
        return connect(ws_url, additional_headers={"Cookie": cookie, "Origin": self.url}, **kwargs)

    def join(self, ws: Any, name: str, version: int | None = None) -> dict[str, Any]:
        cid, token = self.roots[name]
        ws.send(json.dumps({"type": "join", "id": cid, "token": token, "v": version}))
        return json.loads(ws.recv(timeout=10))


def test_a_stalled_reader_is_closed_and_others_are_not_held_up(server: Server) -> None:
    with contextlib.ExitStack() as stack:
        stalled_reader_scenario(server, stack)


def stalled_reader_scenario(server: Server, stack: contextlib.ExitStack) -> None:
    seed()
    slow_page, other_page, watcher_page = Page(server.url), Page(server.url), Page(server.url)
    # A tiny receive buffer and a one-message queue: the client soon stops reading.
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
    raw.connect(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
    slow = stack.enter_context(slow_page.connect(sock=raw, max_queue=1, ping_interval=None))
    joined = slow_page.join(slow, "people")
    assert joined["type"] == "full"
    people_id = slow_page.roots["people"][0]
    before = rss_kib(server.process.pid)
    # Each resync answers the whole table (~8 KB) from the snapshot, without rendering.
    # Keep asking (bounded) until the server's backlog for this socket passes the limit.
    for _ in range(40):
        for _ in range(500):
            slow.send(json.dumps({"type": "resync", "id": people_id}))
        time.sleep(0.2)
        if "slow client" in server.output():
            break
    # Meanwhile a toggle by someone else reaches a third viewer.
    other = stack.enter_context(other_page.connect())
    watcher = stack.enter_context(watcher_page.connect())
    other_page.join(other, "people")
    watched = watcher_page.join(watcher, "people")
    first_row = re.search(r'"person_id": (\d+)', other_page.html)
    assert first_row
    other.send(
        json.dumps(
            {
                "type": "event",
                "id": other_page.roots["people"][0],
                "event": "toggle",
                "payload": {"person_id": first_row.group(1)},
                "ref": 1,
            }
        )
    )
    pushed = json.loads(watcher.recv(timeout=10))
    assert (pushed["type"], pushed["id"]) in {("diff", watched["id"]), ("full", watched["id"])}
    # The stalled socket was closed: with 4008 when the client reads up to the close
    # frame in time, else the server drops the connection (an abnormal close, 1006).
    from websockets.exceptions import ConnectionClosed

    def drain() -> None:
        while True:
            slow.recv(timeout=10)

    with pytest.raises(ConnectionClosed) as closed:
        drain()
    assert closed.value.rcvd is None or closed.value.rcvd.code == 4008
    assert "slow client" in server.output()
    assert rss_kib(server.process.pid) - before < 64 * 1024
    # Coming back, the client rejoins with the version it had and gets the whole HTML.
    again = stack.enter_context(slow_page.connect())
    frame = slow_page.join(again, "people", version=joined["v"])
    assert frame["type"] == "full"
