"""The measurements: round trips, throughput, idle memory, fan-out and the HTTP fallback.

Each phase takes a running ``Server`` and returns plain JSON-ready dicts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bench.client import Http, LiveSession, Session, session
from bench.server import Server

#: What a user types into the table's search box, in order; it ends cleared.
QUERIES = ("ma", "mar", "mari", "maria", "", "ol", "ols", "olsen", "zz", "")
#: Rows on the table's first page; the toggle workload walks through them.
ROWS = 25


@dataclass(frozen=True)
class Workload:
    """One kind of event; ``event(i)`` is the i-th event a socket sends."""

    name: str
    widget: str
    # Events after which the data is back where it started (each user toggled twice).
    period: int

    def event(self, i: int) -> tuple[str, dict[str, Any]]:
        """Return ``(event name, payload)`` of event number ``i``."""
        if self.name == "toggle":
            return "toggle_status", {"user_id": i % ROWS + 1}
        if self.name == "search":
            return "search", {"query": QUERIES[i % len(QUERIES)]}
        return "increment", {}


WORKLOADS = {
    "counter": Workload("counter", "counter", 1),
    "toggle": Workload("toggle", "table", 2 * ROWS),
    "search": Workload("search", "table", len(QUERIES)),
}


def percentile(ordered: list[float], pct: float) -> float:
    """Return the nearest-rank percentile of an ascending list."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def summary(seconds: list[float], sizes: list[int]) -> dict[str, Any]:
    """Return latency percentiles (ms) and answer sizes (bytes) of a series of events."""
    ms = sorted(s * 1000 for s in seconds)
    return {
        "events": len(ms),
        "p50_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "mean_ms": round(statistics.fmean(ms), 3) if ms else math.nan,
        "max_ms": round(ms[-1], 3) if ms else math.nan,
        "bytes_mean": round(statistics.fmean(sizes), 1) if sizes else math.nan,
        "bytes_max": max(sizes, default=0),
    }


async def gather_bounded(
    factories: list[Callable[[], Awaitable[Any]]], limit: int = 32
) -> list[Any]:
    """Run the awaitables made by ``factories`` with at most ``limit`` at a time."""
    semaphore = asyncio.Semaphore(limit)

    async def one(factory: Callable[[], Awaitable[Any]]) -> Any:
        async with semaphore:
            return await factory()

    return await asyncio.gather(*(one(factory) for factory in factories))


async def close_all(sessions: list[Session]) -> None:
    """Close every session, a hundred at a time."""
    await gather_bounded([s.close for s in sessions], limit=100)


# Sequential round trips --------------------------------------------------------------


async def round_trip(
    server: Server, target: str, workload: Workload, events: int, warmup: int
) -> dict[str, Any]:
    """Send ``warmup + events`` events one by one on one socket; time the last ``events``."""
    sock = session(target, server.port, workload.widget)
    await sock.open()
    try:
        seconds: list[float] = []
        sizes: list[int] = []
        by_step: dict[int, int] = {}
        total = warmup + events
        total += -total % workload.period
        for i in range(total):
            elapsed, size = await sock.exchange(*workload.event(i))
            if warmup <= i < warmup + events:
                seconds.append(elapsed)
                sizes.append(size)
                step = i % workload.period
                by_step[step] = max(by_step.get(step, 0), size)
        result = summary(seconds, sizes)
        if workload.name == "search":
            result["bytes_by_step"] = [by_step[step] for step in sorted(by_step)]
        if isinstance(sock, LiveSession):
            result["consistent"] = await sock.consistent()
        return result
    finally:
        await sock.close()


# Throughput ----------------------------------------------------------------------------


async def throughput(
    server: Server, target: str, workload: Workload, sockets: int, duration: float
) -> dict[str, Any]:
    """Drive ``sockets`` sockets in closed loops for ``duration`` s; count events and server CPU."""
    sessions = [session(target, server.port, workload.widget) for _ in range(sockets)]
    await gather_bounded([s.open for s in sessions], limit=8)
    try:

        async def drive(sock: Session, offset: int, until: float, limit: int) -> int:
            count = 0
            while count < limit and time.perf_counter() < until:
                await sock.exchange(*workload.event(offset + count))
                count += 1
            return count

        # Warm up every socket, then measure.
        await asyncio.gather(*(drive(s, k * 7, math.inf, 5) for k, s in enumerate(sessions)))
        cpu_start, client_start = server.cpu_seconds(), time.process_time()
        start = time.perf_counter()
        until = start + duration
        counts = await asyncio.gather(
            *(drive(s, k * 7 + 5, until, 10**9) for k, s in enumerate(sessions))
        )
        elapsed = time.perf_counter() - start
        server_cpu = server.cpu_seconds() - cpu_start
        client_cpu = time.process_time() - client_start
        total = sum(counts)
        return {
            "sockets": sockets,
            "events": total,
            "seconds": round(elapsed, 3),
            "events_per_s": round(total / elapsed, 1),
            "server_cpu_s": round(server_cpu, 3),
            "server_cpu_ms_per_event": round(1000 * server_cpu / max(total, 1), 4),
            "server_cpu_util": round(server_cpu / elapsed, 3),
            "client_cpu_s": round(client_cpu, 3),
        }
    finally:
        await close_all(sessions)


# Idle memory -----------------------------------------------------------------------------


async def server_stats(http: Http) -> dict[str, Any]:
    """Return the server's own report (RSS after a garbage collection, consumers alive)."""
    stats: dict[str, Any] = await http.json("GET", "/bench/stats/")
    return stats


async def settle(http: Http, timeout: float = 20.0) -> dict[str, Any]:
    """Wait until the server has let go of every closed socket's consumer; return its stats."""
    deadline = time.monotonic() + timeout
    while True:
        stats = await server_stats(http)
        if stats["consumers"] == 0 or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.25)


async def memory(server: Server, target: str, sockets: int) -> dict[str, Any]:
    """Measure RSS with ``sockets`` idle table sockets, after closing, and with a second wave."""
    http = Http(server.port)
    jars: list[dict[str, str]] = [{} for _ in range(sockets)]

    def make(i: int) -> Session:
        if target == "live":
            return LiveSession(server.port, "table", jar=jars[i])
        return session(target, server.port, "table")

    async def wave(count: int) -> list[Session]:
        opened = [make(i) for i in range(count)]
        await gather_bounded([s.open for s in opened], limit=16)
        return opened

    try:
        # The first few sockets load code and fill caches; keep that out of the baseline.
        await close_all(await wave(min(20, sockets)))
        base = await settle(http)
        first = await wave(sockets)
        opened = await server_stats(http)
        await close_all(first)
        closed = await settle(http)
        second = await wave(sockets)
        opened2 = await server_stats(http)
        await close_all(second)
        closed2 = await settle(http)
    finally:
        await http.close()
    per_socket = (opened["rss_kb"] - base["rss_kb"]) / sockets
    growth = opened2["rss_kb"] - opened["rss_kb"]
    closed_growth = closed2["rss_kb"] - closed["rss_kb"]
    # RSS moves by whole pages and allocator arenas: allow 10 % of the wave, at least 1 MiB.
    tolerance = max(0.1 * (opened["rss_kb"] - base["rss_kb"]), 1024)
    return {
        "sockets": sockets,
        "rss_base_kb": base["rss_kb"],
        "rss_open_kb": opened["rss_kb"],
        "rss_closed_kb": closed["rss_kb"],
        "rss_open2_kb": opened2["rss_kb"],
        "rss_closed2_kb": closed2["rss_kb"],
        "per_socket_kb": round(per_socket, 2),
        "growth_kb": growth,
        "closed_growth_kb": closed_growth,
        "tolerance_kb": round(tolerance),
        "flat": growth <= tolerance and closed_growth <= tolerance,
        "consumers_left": closed2["consumers"],
        "cache_entries": [s["cache_entries"] for s in (base, opened, closed, opened2, closed2)],
    }


# Fan-out ---------------------------------------------------------------------------------


async def fanout(server: Server, target: str, sockets: int, rounds: int) -> dict[str, Any]:
    """Open ``sockets`` tickers, trigger ``rounds`` broadcasts; time the first and last delivery."""
    http = Http(server.port)
    opened = [session(target, server.port, "ticker") for _ in range(sockets)]
    arrivals: list[float | None] = [None] * sockets
    received = 0
    everyone = asyncio.Event()

    async def read(i: int, sock: Session) -> None:
        nonlocal received
        assert sock.ws is not None
        with contextlib.suppress(Exception):
            async for message in sock.ws:
                if arrivals[i] is not None:
                    continue
                if isinstance(sock, LiveSession) and sock.merge(message).get("type") not in (
                    "diff",
                    "full",
                ):
                    continue
                arrivals[i] = time.perf_counter()
                received += 1
                if received == sockets:
                    everyone.set()

    readers: list[asyncio.Task[None]] = []
    try:
        await gather_bounded([s.open for s in opened], limit=16)
        readers = [asyncio.create_task(read(i, s)) for i, s in enumerate(opened)]
        measured = []
        for n in range(rounds + 1):  # round 0 warms up
            arrivals[:] = [None] * sockets
            received = 0
            everyone.clear()
            cpu = server.cpu_seconds()
            start = time.perf_counter()
            await http.json("POST", f"/bench/fanout/{target}/?n={n + 1}")
            sent = time.perf_counter()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(everyone.wait(), timeout=5)
            cpu = server.cpu_seconds() - cpu
            got = sorted(a - start for a in arrivals if a is not None)
            if n:
                measured.append(
                    {
                        "delivered": len(got),
                        "trigger_ms": round(1000 * (sent - start), 2),
                        "first_ms": round(1000 * got[0], 2) if got else None,
                        "median_ms": round(1000 * percentile(got, 50), 2) if got else None,
                        "last_ms": round(1000 * got[-1], 2) if got else None,
                        "server_cpu_ms": round(1000 * cpu, 1),
                    }
                )
            await asyncio.sleep(0.3)
    finally:
        for task in readers:
            task.cancel()
        await close_all(opened)
        await http.close()
    lasts = [r["last_ms"] for r in measured if r["last_ms"] is not None]
    firsts = [r["first_ms"] for r in measured if r["first_ms"] is not None]
    return {
        "sockets": sockets,
        "rounds": rounds,
        "delivered_min": min(r["delivered"] for r in measured),
        "last_ms_p50": round(statistics.median(lasts), 2) if lasts else None,
        "last_ms_max": max(lasts, default=None),
        "first_ms_p50": round(statistics.median(firsts), 2) if firsts else None,
        "trigger_ms_p50": round(statistics.median(r["trigger_ms"] for r in measured), 2),
        "server_cpu_ms_p50": round(statistics.median(r["server_cpu_ms"] for r in measured), 1),
        "per_round": measured,
    }


# HTTP fallback -----------------------------------------------------------------------------


async def http_round_trips(server: Server, events: int, warmup: int) -> dict[str, Any]:
    """Time table toggles over ``live``'s HTTP fallback and over a plain Django view."""
    http = Http(server.port)
    jar: dict[str, str] = {}
    try:
        mounted = await http.json("GET", "/bench/mount/bench_table/?state=1", jar=jar)
        headers = {"X-CSRFToken": mounted["csrf"], "Origin": server.origin}
        token, state = mounted["token"], mounted["state"]
        total = warmup + events
        total += -total % WORKLOADS["toggle"].period
        results = {}
        for kind in ("plain", "live"):
            seconds: list[float] = []
            sizes: list[int] = []
            for i in range(total):
                name, payload = WORKLOADS["toggle"].event(i)
                if kind == "live":
                    path = "/live/components/bench_table/"
                    body = {"token": token, "state": state, "event": name, "payload": payload}
                else:
                    path, body = "/bench/plain/table/", {"event": name, "payload": payload}
                start = time.perf_counter()
                status, answer = await http.request(
                    "POST", path, body=body, jar=jar, headers=headers
                )
                elapsed = time.perf_counter() - start
                if status != 200:
                    raise RuntimeError(f"POST {path}: HTTP {status}: {answer[:300]!r}")
                if kind == "live":
                    data = json.loads(answer)
                    token, state = data["token"], data["state"]
                if warmup <= i < warmup + events:
                    seconds.append(elapsed)
                    sizes.append(len(answer))
            results[kind] = summary(seconds, sizes)
        return results
    finally:
        await http.close()
