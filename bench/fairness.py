"""The fairness scenario: ``python -m bench fairness``, a bystander's events while a client floods.

One daphne (``bench.settings``, the production frame budget of 50 frames/s per
socket, ``--proxy-headers`` so that each client names its address in
``X-Forwarded-For``) serves a bystander, who searches the user table run in the
worker threads (``bench_table_sync``) one event at a time, first alone, then
while one hostile address floods within the per-socket limits: ``flood``, one
session on 20 sockets x 40 searches/s; ``slow``, 30 sessions each sending
handlers that hold a thread 80 ms (``bench_slow``). Writes
``fairness-<date>[-mode].json`` and ``.md``; see ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import itertools
import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bench import fairness_report, phases
from bench.client import Http, LiveSession
from bench.run import RESULTS, log, machine, problem_lines, raise_fd_limit
from bench.server import Server

SCHEMA = 1
#: ``X-Forwarded-For`` of each side; daphne runs with ``--proxy-headers``.
BYSTANDER_ADDRESS = "10.1.0.1"
HOSTILE_ADDRESS = "10.66.0.1"
#: The frame budget of a production socket (``SOCKET_FRAMES_PER_SECOND``'s default).
FRAMES_PER_SECOND = 50
#: Longest wait for a flood's unanswered events before its sockets close.
DRAIN_SECONDS = 5.0


@dataclass(frozen=True)
class Config:
    """What one fairness run does; the defaults are the full run."""

    mode: str = "full"
    events: int = 200  # bystander events measured per phase
    warmup: int = 20  # bystander events before the measured ones, alone
    pace: float = 0.05  # seconds from one bystander event to the next (a fast typist)
    flood_sockets: int = 20  # sockets of the one hostile session
    slow_sessions: int = 30  # hostile sessions, one socket each
    rate: float = 40.0  # events per second each hostile socket sends
    window: int = 4  # unanswered events a hostile socket allows itself
    slow_ms: int = 80  # how long one slow handler holds its thread
    ramp: float = 1.0  # seconds of flood before the bystander is measured
    phase_seconds: float = 30.0  # longest a measured phase may last
    settings: str = "{}"  # JSON merged into the server's ``LIVE``


MODES = {
    "full": Config(),
    "smoke": Config(
        mode="smoke",
        events=10,
        warmup=3,
        flood_sockets=3,
        slow_sessions=3,
        slow_ms=20,
        ramp=0.2,
        phase_seconds=10.0,
    ),
}


class Hostile:
    """One flooding socket: sends ``rate`` events/s, at most ``window`` unanswered."""

    def __init__(self, sock: LiveSession, event: str, payloads: itertools.cycle[Any]) -> None:
        self.sock = sock
        self.event = event
        self.payloads = payloads
        self.sent: dict[int, float] = {}
        self.latencies: list[float] = []
        self.answered = 0
        self.limited = 0
        self.errors: dict[str, int] = {}

    async def run(self, rate: float, window: int) -> None:
        """Send until cancelled; answers are read alongside."""
        assert self.sock.ws is not None
        room = asyncio.Semaphore(window)
        reader = asyncio.create_task(self.read(room))
        try:
            due = time.perf_counter()
            while True:
                await room.acquire()
                now = time.perf_counter()
                if due > now:
                    await asyncio.sleep(due - now)
                due = max(due + 1 / rate, time.perf_counter() - 1 / rate)
                text = self.sock.frame(self.event, next(self.payloads))
                self.sent[self.sock.ref] = time.perf_counter()
                await self.sock.ws.send(text)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def drain(self, seconds: float) -> None:
        """Read answers until every sent event has one, for at most ``seconds``."""
        if not self.sent:
            return
        room = asyncio.Semaphore(len(self.sent))
        with contextlib.suppress(TimeoutError, Exception):
            await asyncio.wait_for(self.read(room, until_answered=True), seconds)

    async def read(self, room: asyncio.Semaphore, until_answered: bool = False) -> None:
        """Count every answer: handled, ``rate_limited`` or another error."""
        assert self.sock.ws is not None
        async for message in self.sock.ws:
            frame = json.loads(message)
            started = self.sent.pop(frame.get("ref"), None)
            if started is None:
                continue  # a push, not an answer
            room.release()
            if frame.get("type") == "error":
                code = str(frame.get("code"))
                if code == "rate_limited":
                    self.limited += 1
                else:
                    self.errors[code] = self.errors.get(code, 0) + 1
            else:
                self.answered += 1
                self.latencies.append(time.perf_counter() - started)
            if until_answered and not self.sent:
                return


async def open_hostiles(port: int, config: Config, variant: str) -> list[Hostile]:
    """Open the hostile sockets of ``variant`` (``flood`` or ``slow``), all from one address."""
    headers = {"X-Forwarded-For": HOSTILE_ADDRESS}
    if variant == "flood":
        jar: dict[str, str] = {}
        first = await LiveSession(port, "table_sync", jar=jar, headers=headers).open()
        rest = [
            LiveSession(port, "table_sync", jar=jar, headers=headers)
            for _ in range(config.flood_sockets - 1)
        ]
        await phases.gather_bounded([s.open for s in rest], limit=8)
        queries = [{"query": q} for q in phases.QUERIES]
        return [
            Hostile(sock, "search", itertools.cycle(queries[k % 10 :] + queries[: k % 10]))
            for k, sock in enumerate([first, *rest])
        ]
    slow = [LiveSession(port, "slow", headers=headers) for _ in range(config.slow_sessions)]
    await phases.gather_bounded([s.open for s in slow], limit=8)
    return [Hostile(sock, "work", itertools.cycle([{"ms": config.slow_ms}])) for sock in slow]


async def bystander_events(
    sock: LiveSession, config: Config, count: int, offset: int
) -> dict[str, Any]:
    """Send up to ``count`` searches one by one, one per ``pace``; summarise the round trips."""
    latencies: list[float] = []
    sizes: list[int] = []
    until = time.perf_counter() + config.phase_seconds
    for i in range(count):
        started = time.perf_counter()
        if started > until:
            break
        elapsed, size = await sock.exchange(*phases.WORKLOADS["search"].event(offset + i))
        latencies.append(elapsed)
        sizes.append(size)
        # Within the socket's frame budget, as a person's pace is.
        await asyncio.sleep(max(0.0, started + config.pace - time.perf_counter()))
    return phases.summary(latencies, sizes)


def hostile_summary(hostiles: list[Hostile], seconds: float) -> dict[str, Any]:
    """Return what the flood sent and what it got back."""
    latencies = sorted(s * 1000 for h in hostiles for s in h.latencies)
    errors: dict[str, int] = {}
    for hostile in hostiles:
        for code, n in hostile.errors.items():
            errors[code] = errors.get(code, 0) + n
    answered = sum(h.answered for h in hostiles)
    return {
        "sockets": len(hostiles),
        "sent": sum(h.sock.ref for h in hostiles),
        "answered": answered,
        "answered_per_s": round(answered / seconds, 1) if seconds else None,
        "rate_limited": sum(h.limited for h in hostiles),
        "errors": errors,
        "p50_ms": round(phases.percentile(latencies, 50), 3) if latencies else None,
        "p95_ms": round(phases.percentile(latencies, 95), 3) if latencies else None,
    }


async def under_flood(
    server: Server, config: Config, variant: str, bystander: LiveSession, alone_p50: float
) -> dict[str, Any]:
    """Measure the bystander while ``variant`` floods; return both sides and the p50 ratio."""
    hostiles = await open_hostiles(server.port, config, variant)
    tasks = [asyncio.create_task(h.run(config.rate, config.window)) for h in hostiles]
    try:
        started = time.perf_counter()
        await asyncio.sleep(config.ramp)
        measured = await bystander_events(bystander, config, config.events, offset=1000)
        elapsed = time.perf_counter() - started
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    result = {
        "bystander": measured,
        "ratio_p50": round(measured["p50_ms"] / alone_p50, 2) if alone_p50 else None,
        "hostile": hostile_summary(hostiles, elapsed),
    }
    # Closing with events unanswered would only measure daphne's closed-socket errors.
    await asyncio.gather(*(h.drain(DRAIN_SECONDS) for h in hostiles))
    await phases.close_all([h.sock for h in hostiles])
    return result


async def scenario(server: Server, config: Config) -> dict[str, Any]:
    """The bystander alone, then under each flood, on one server."""
    http = Http(server.port)
    bystander = LiveSession(
        server.port, "table_sync", headers={"X-Forwarded-For": BYSTANDER_ADDRESS}
    )
    await bystander.open()
    try:
        await bystander_events(bystander, config, config.warmup, offset=0)
        alone = await bystander_events(bystander, config, config.events, offset=0)
        results: dict[str, Any] = {"alone": alone}
        for variant in ("flood", "slow"):
            log(f"fairness: {variant}")
            results[variant] = await under_flood(
                server, config, variant, bystander, alone["p50_ms"]
            )
            results[variant]["consumers_after"] = await settle(http)
        results["consistent"] = await bystander.consistent()
        return results
    finally:
        await bystander.close()
        await http.close()


async def settle(http: Http, timeout: float = 15.0) -> int:
    """Wait until the server holds only the bystander's consumer; return how many it holds."""
    deadline = time.monotonic() + timeout
    while True:
        consumers: int = (await phases.server_stats(http))["consumers"]
        if consumers <= 1 or time.monotonic() > deadline:
            return consumers
        await asyncio.sleep(0.25)


def parse(argv: list[str]) -> tuple[Config, Path]:
    """Parse the command line into a ``Config`` and the output directory."""
    parser = argparse.ArgumentParser(prog="python -m bench fairness", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a few events and sockets")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--events", type=int, help="bystander events per phase")
    parser.add_argument("--flood-sockets", type=int, help="sockets of the flooding session")
    parser.add_argument("--slow-sessions", type=int, help="sessions sending slow events")
    parser.add_argument("--slow-ms", type=int, help="milliseconds one slow handler takes")
    parser.add_argument("--rate", type=float, help="events/s per hostile socket")
    parser.add_argument(
        "--settings",
        default="{}",
        help='JSON merged into the server\'s LIVE, e.g. {"SYNC_THREADS": 4}',
    )
    args = parser.parse_args(argv)
    config = replace(MODES["smoke" if args.smoke else "full"], settings=args.settings)
    for field in ("events", "flood_sockets", "slow_sessions", "slow_ms", "rate"):
        if getattr(args, field) is not None:
            config = replace(config, **{field: getattr(args, field)})
    return config, args.output


def main(argv: list[str]) -> int:
    """Run the fairness scenario; return 0, or 1 if it failed."""
    config, output = parse(argv)
    live_settings = {"SOCKET_FRAMES_PER_SECOND": FRAMES_PER_SECOND, **json.loads(config.settings)}
    raise_fd_limit(4 * (config.flood_sockets + config.slow_sessions) + 256)
    results: dict[str, Any] = {
        "schema": SCHEMA,
        "kind": "fairness",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "mode": config.mode,
        "config": asdict(config),
        "live_settings": live_settings,
        "addresses": {"bystander": BYSTANDER_ADDRESS, "hostile": HOSTILE_ADDRESS},
        "machine": machine(),
        "errors": [],
    }
    started = time.monotonic()
    env = {"LIVE_SETTINGS": json.dumps(live_settings)}
    with Server(env=env, args=["--proxy-headers"]) as server:
        try:
            results |= asyncio.run(asyncio.wait_for(scenario(server, config), 100))
        except Exception as exc:
            results["errors"].append(f"{type(exc).__name__}: {exc}")
            log(f"fairness failed: {type(exc).__name__}: {exc}")
        results["server_logs"] = problem_lines(server.output(limit=None))
    results["duration_s"] = round(time.monotonic() - started, 1)
    results["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = fairness_report.evaluate(results)
    table = fairness_report.markdown(results)
    output.mkdir(parents=True, exist_ok=True)
    stem = f"fairness-{results['date'][:10]}" + ("" if config.mode == "full" else f"-{config.mode}")
    path = output / f"{stem}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    path.with_suffix(".md").write_text(table)
    print(table)
    log(f"wrote {path} and {path.with_suffix('.md').name} in {results['duration_s']} s")
    return 1 if results["errors"] else 0
