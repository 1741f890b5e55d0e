"""The soak: ``python -m bench soak``, many live sockets under mixed load for minutes.

One daphne (``bench.settings``) serves ``--sockets`` pages, each a counter or a
table plus a broadcast ticker on one socket. For ``--duration`` seconds a few
active sockets send events at ``--rate`` while broadcasts reach every ticker;
every ``--window`` seconds RSS, CPU, round trips, broadcasts and faults are
recorded. Then the pages are checked against the server's HTML, closed, and a
second wave is opened. Writes ``soak-<date>.json`` and ``.md``; see ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import random
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from bench import phases, soak_report
from bench.client import Http
from bench.page import Broadcasts, Faults, Page
from bench.run import (
    RESULTS,
    log,
    machine,
    problem_lines,
    problem_samples,
    raise_fd_limit,
    redis_available,
    redis_cleanup,
)
from bench.server import Server

SCHEMA = 1


@dataclass(frozen=True)
class Config:
    """What one soak does; the defaults are the documented long soak."""

    sockets: int = 1000
    duration: float = 300.0  # seconds of load
    rate: float = 50.0  # events per second, over all active sockets
    active: int = 20  # sockets sending events at any time
    burst: int = 5  # events an active socket sends before the next one takes over
    broadcast_every: float = 5.0  # seconds between two broadcasts to every ticker
    window: float = 10.0  # seconds per recorded window
    # Seconds of load left out of the memory trend; by default until every socket has had
    # its first turn (its first events allocate for good), at most half the duration.
    warmup: float | None = None
    sample: int = 100  # pages whose HTML is compared with the server's at the end
    event_timeout: float = 30.0  # seconds before an unanswered event is a fault
    redis_url: str | None = None
    redis_layer: str = "core"


@dataclass
class Window:
    """What happened during one window of the load."""

    index: int
    start: float
    latencies: list[float] = field(default_factory=list)
    rss_samples: list[int] = field(default_factory=list)
    faults_before: int = 0


def event_for(page: Page, index: int) -> tuple[str, dict[str, Any]]:
    """Return the next event of ``page`` (its ``index``-th page overall seeds the rows)."""
    i = page.events
    if page.widget == "counter":
        return ("decrement", {}) if i % 5 == 4 else ("increment", {})
    if i % 4 == 3:
        return "search", {"query": phases.QUERIES[(i // 4 + index) % len(phases.QUERIES)]}
    return "toggle_status", {"user_id": (index + i) % phases.ROWS + 1}


class Soak:
    """One soak on one server."""

    def __init__(self, config: Config, server: Server) -> None:
        self.config = config
        self.server = server
        self.faults = Faults()
        self.broadcasts = Broadcasts()
        self.windows: list[dict[str, Any]] = []
        self.stats: dict[str, dict[str, Any]] = {}
        self.current: Window | None = None
        self.stop = False

    async def open_pages(self, count: int, http_pool: int = 8) -> list[Page]:
        """Open ``count`` pages, alternately counters and tables, ``http_pool`` at a time."""
        pages = [
            Page(
                self.server.port,
                "counter" if i % 2 == 0 else "table",
                self.faults,
                on_tick=self.broadcasts.on_tick,
                tick=self.broadcasts.count,
            )
            for i in range(count)
        ]
        queue: asyncio.Queue[Page] = asyncio.Queue()
        for page in pages:
            queue.put_nowait(page)

        async def opener() -> None:
            http = Http(self.server.port)
            try:
                while not queue.empty():
                    await queue.get_nowait().open(http)
            finally:
                await http.close()

        await asyncio.gather(*(opener() for _ in range(http_pool)))
        return pages

    async def close_pages(self, pages: list[Page]) -> None:
        """Close every page, a hundred at a time."""
        await phases.gather_bounded([page.close for page in pages], limit=100)

    async def record(self, label: str, settle: bool = False) -> dict[str, Any]:
        """Ask the server for its RSS after a collection (waiting for consumers to go if asked)."""
        # A connection of its own each time: daphne drops keep-alive connections left idle.
        http = Http(self.server.port)
        try:
            stats = await (phases.settle(http) if settle else phases.server_stats(http))
        finally:
            await http.close()
        stats["at_s"] = round(time.monotonic() - self.started, 1)
        self.stats[label] = stats
        log(f"{label}: RSS {stats['rss_kb'] / 1024:.1f} MiB, {stats['consumers']} consumers")
        return stats

    async def worker(self, j: int, pages: list[Page]) -> None:
        """Send events from every ``active``-th page in turn, ``burst`` per page, at the rate."""
        c = self.config
        mine = pages[j :: c.active]
        interval = c.active / c.rate
        next_at = time.monotonic() + j * interval / c.active
        k = 0
        while not self.stop and mine:
            index = j + c.active * (k % len(mine))
            page = mine[k % len(mine)]
            k += 1
            for _ in range(c.burst):
                delay = next_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if self.stop:
                    return
                # A late event does not make the next ones crowd in to catch up.
                next_at = max(next_at + interval, time.monotonic())
                assert page.main is not None
                event, payload = event_for(page, index)
                elapsed = await page.send(page.main, event, payload, c.event_timeout)
                if elapsed is not None and self.current is not None:
                    self.current.latencies.append(elapsed)

    async def broadcaster(self, pages: int) -> None:
        """Send a broadcast to every ticker each ``broadcast_every`` seconds."""
        next_at = time.monotonic() + self.config.broadcast_every / 2
        while True:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if self.stop:
                return
            next_at += self.config.broadcast_every
            await self.broadcast(self.current.index if self.current is not None else -1, pages)

    async def broadcast(self, window: int, pages: int) -> None:
        """Send the next broadcast through the bench's fan-out view (``live.broadcast``)."""
        n = self.broadcasts.send(window, pages)
        # A connection of its own each time: daphne drops keep-alive connections left idle.
        http = Http(self.server.port)
        try:
            await http.json("POST", f"/bench/fanout/live/?n={n}")
        finally:
            await http.close()

    def close_window(self, window: Window, end: float, cpu: float, client_cpu: float) -> None:
        """Turn one window's raw figures into a row."""
        span = end - window.start
        ms = sorted(1000 * s for s in window.latencies)
        rss = sorted(window.rss_samples)
        self.windows.append(
            {
                "window": window.index,
                "t_end_s": round(end - self.load_start, 1),
                "rss_kb": int(statistics.median(rss)) if rss else None,
                "rss_min_kb": rss[0] if rss else None,
                "rss_max_kb": rss[-1] if rss else None,
                "server_cpu_pct": round(100 * cpu / span, 1),
                "client_cpu_pct": round(100 * client_cpu / span, 1),
                "events": len(ms),
                "events_per_s": round(len(ms) / span, 1),
                "p50_ms": round(phases.percentile(ms, 50), 2) if ms else None,
                "p99_ms": round(phases.percentile(ms, 99), 2) if ms else None,
                "max_ms": round(ms[-1], 2) if ms else None,
                "faults": self.faults.total - window.faults_before,
            }
        )

    async def load(self, pages: list[Page]) -> None:
        """Run the mixed traffic for ``duration`` seconds, one row per window."""
        c = self.config
        self.load_start = time.monotonic()
        workers = [asyncio.create_task(self.worker(j, pages)) for j in range(c.active)]
        sender = asyncio.create_task(self.broadcaster(len(pages)))
        count = max(1, round(c.duration / c.window))
        try:
            for index in range(count):
                window = Window(index, time.monotonic(), faults_before=self.faults.total)
                self.current = window
                cpu, client_cpu = self.server.cpu_seconds(), time.process_time()
                end = self.load_start + (index + 1) * c.duration / count
                while (now := time.monotonic()) < end:
                    window.rss_samples.append(self.server.rss_kb())
                    await asyncio.sleep(min(1.0, max(0.0, end - now)))
                window.rss_samples.append(self.server.rss_kb())
                self.close_window(
                    window,
                    time.monotonic(),
                    self.server.cpu_seconds() - cpu,
                    time.process_time() - client_cpu,
                )
                row = self.windows[-1]
                log(
                    f"window {index + 1}/{count}: RSS {row['rss_kb'] / 1024:.1f} MiB, "
                    f"{row['events']} events, p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, "
                    f"CPU {row['server_cpu_pct']} %, faults {row['faults']}"
                )
        finally:
            self.stop = True
            self.current = None
            await asyncio.gather(*workers, sender, return_exceptions=False)
        await self.broadcasts.wait(timeout=30)
        for row in self.windows:
            numbers = range(self.broadcasts.count)
            mine = [n for n in numbers if self.broadcasts.window[n] == row["window"]]
            row["broadcasts"] = len(mine)
            row["delivered"] = sum(self.broadcasts.reached[n] for n in mine)
            row["expected"] = sum(self.broadcasts.expected[n] for n in mine)
            lasts = self.broadcasts.last_ms(range(mine[0], mine[-1] + 1)) if mine else []
            row["broadcast_last_ms"] = round(statistics.median(lasts), 1) if lasts else None

    async def check(self, pages: list[Page]) -> dict[str, Any]:
        """Compare a sample of pages' HTML with the server's (``resync``)."""
        chosen = random.Random(0).sample(pages, min(self.config.sample, len(pages)))
        checks = [(page, tracked) for page in chosen for tracked in list(page.components.values())]
        results = await phases.gather_bounded(
            [partial(page.consistent, tracked) for page, tracked in checks], limit=16
        )
        mismatched = [
            f"{t.name} {t.id}" for (_, t), ok in zip(checks, results, strict=True) if not ok
        ]
        return {
            "pages": len(chosen),
            "components": len(checks),
            "consistent": len(checks) - len(mismatched),
            "mismatched": mismatched[:20],
        }

    async def run(self) -> dict[str, Any]:
        """Warm up, mount the first wave, load it, check it, close it, open a second wave."""
        c = self.config
        self.started = time.monotonic()
        # The first pages load code and fill caches; keep that out of the baseline.
        await self.close_pages(await self.open_pages(min(20, c.sockets)))
        await self.record("base", settle=True)
        pages = await self.open_pages(c.sockets)
        await self.record("mounted")
        await self.load(pages)
        consistency = await self.check(pages)
        await self.record("plateau")
        await self.close_pages(pages)
        await self.record("closed", settle=True)
        second = await self.open_pages(c.sockets)
        await self.record("wave2")
        before = self.broadcasts.count
        await self.broadcast(-1, len(second))
        await self.broadcasts.wait(timeout=30)
        wave2_delivery = {
            "expected": len(second),
            "delivered": self.broadcasts.reached[before],
        }
        await self.close_pages(second)
        await self.record("wave2_closed", settle=True)
        b = self.broadcasts
        return {
            "windows": self.windows,
            "stats": self.stats,
            "events": sum(row["events"] for row in self.windows),
            "broadcasts": {
                "sent": before,
                "expected": sum(b.expected[:before]),
                "delivered": sum(b.reached[:before]),
                "coalesced": b.coalesced,
                "wave2": wave2_delivery,
            },
            "consistency": consistency,
            "faults": dict(self.faults.counts),
            "fault_samples": self.faults.samples,
        }


def soak(config: Config, output: Path) -> tuple[dict[str, Any], Path]:
    """Run one soak, judge it and write its files; return the results and the JSON path."""
    if config.warmup is None:
        turns = config.sockets * config.burst / config.rate
        config = replace(config, warmup=round(min(turns, config.duration / 2), 1))
    # In-memory unless asked: a REDIS_URL in the environment would switch the server over.
    env: dict[str, str] = {"REDIS_URL": ""}
    prefix = f"live-soak-{os.getpid()}"
    if config.redis_url:
        reason = redis_available(config.redis_url)
        if reason is not None:
            raise SystemExit(reason)
        env = {
            "REDIS_URL": config.redis_url,
            "LIVE_CHANNEL_LAYER": config.redis_layer,
            "CACHE_KEY_PREFIX": prefix,
            "BENCH_PREFIX": prefix,
        }
    raise_fd_limit(4 * config.sockets + 256)
    results: dict[str, Any] = {
        "schema": SCHEMA,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "config": asdict(config),
        "machine": machine(),
    }
    started = time.monotonic()
    try:
        with Server(env=env) as server:
            timeout = config.duration + 600 + config.sockets * 0.2
            results |= asyncio.run(asyncio.wait_for(Soak(config, server).run(), timeout))
            printed = server.output(limit=None)
            results["server_logs"] = problem_lines(printed)
            results["server_log_samples"] = problem_samples(printed)
    finally:
        if config.redis_url:
            redis_cleanup(config.redis_url, prefix)
    results["duration_s"] = round(time.monotonic() - started, 1)
    results["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    results["summary"], results["checks"] = soak_report.judge(results)
    results["passed"] = all(check["met"] for check in results["checks"])
    stem = f"soak-{results['date'][:10]}"
    if config.redis_url:
        stem += f"-redis-{config.redis_layer}"
    if (config.sockets, config.duration) != (Config.sockets, Config.duration):
        stem += f"-{config.sockets}x{config.duration:g}s"
    output.mkdir(parents=True, exist_ok=True)
    path = output / f"{stem}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    path.with_suffix(".md").write_text(soak_report.markdown(results))
    return results, path


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line of ``python -m bench soak``."""
    d = Config()
    parser = argparse.ArgumentParser(prog="python -m bench soak", description=__doc__)
    add = parser.add_argument
    add("--sockets", type=int, default=d.sockets, help=f"pages open at once ({d.sockets:,})")
    add("--duration", type=float, default=d.duration, help=f"seconds of load ({d.duration:g})")
    add("--rate", type=float, default=d.rate, help=f"events per second in all ({d.rate:g})")
    add("--active", type=int, default=d.active, help=f"sockets sending at once ({d.active})")
    add("--burst", type=int, default=d.burst, help=f"events per active turn ({d.burst})")
    add(
        "--broadcast-every",
        type=float,
        default=d.broadcast_every,
        help=f"seconds between broadcasts ({d.broadcast_every:g})",
    )
    add("--window", type=float, default=d.window, help=f"seconds per window ({d.window:g})")
    add(
        "--warmup",
        type=float,
        help="seconds of load left out of the memory trend "
        "(until every socket had a turn, at most half the duration)",
    )
    add("--sample", type=int, default=d.sample, help=f"pages checked at the end ({d.sample})")
    add("--redis-url", help="run on Redis (channel layer, cache, sessions) at this URL")
    add("--redis-layer", choices=("core", "pubsub"), default=d.redis_layer, help="Redis layer")
    add("--output", type=Path, default=RESULTS, help="directory for the .json and .md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the soak; return 0 if every check passed, else 1."""
    args = parse(argv)
    config = Config(
        sockets=max(1, args.sockets),
        duration=max(1.0, args.duration),
        rate=max(0.1, args.rate),
        active=max(1, min(args.active, args.sockets)),
        burst=max(1, args.burst),
        broadcast_every=max(0.1, args.broadcast_every),
        window=max(0.5, args.window),
        warmup=None if args.warmup is None else max(0.0, args.warmup),
        sample=max(0, args.sample),
        redis_url=args.redis_url,
        redis_layer=args.redis_layer,
    )
    results, path = soak(config, args.output)
    print(soak_report.markdown(results))
    log(f"wrote {path} and {path.with_suffix('.md').name} in {results['duration_s']} s")
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
