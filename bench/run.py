"""Command line of the harness: ``python -m bench [--quick | --smoke]`` (``soak``, ``fairness``).

One run starts daphne (``bench.settings``, ``DEBUG=False``) on 127.0.0.1,
measures the echo, naive and ``live`` targets with the same client, and
writes ``<output>/<date>[-mode].json`` and ``.md``; the table is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # ``python bench/run.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import phases, report
from bench.server import ROOT, Server

RESULTS = ROOT / "bench" / "results"
SCHEMA = 1


@dataclass(frozen=True)
class Mode:
    """How much one run measures."""

    name: str
    events: int  # sequential events per target and workload, after ``warmup``
    warmup: int
    sockets: int  # concurrent sockets of the throughput phase
    duration: float  # seconds per throughput run
    memory_sockets: int
    fanout_sockets: int
    fanout_rounds: int
    http_events: int
    phase_timeout: float  # seconds before a phase is abandoned


MODES = {
    "full": Mode("full", 2000, 200, 20, 8.0, 1000, 1000, 10, 500, 300.0),
    "quick": Mode("quick", 300, 50, 20, 1.5, 300, 300, 3, 100, 60.0),
    "smoke": Mode("smoke", 20, 5, 3, 0.3, 10, 10, 2, 10, 60.0),
}


def log(message: str) -> None:
    """Print progress to stderr."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def raise_fd_limit(needed: int) -> int:
    """Raise the soft open-files limit (inherited by daphne) to ``needed`` if allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def machine() -> dict[str, Any]:
    """Describe the machine, the interpreter and the versions under test."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("Django", "channels", "daphne", "channels-redis", "websockets", "Twisted"):
        try:
            versions[package.lower()] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package.lower()] = None
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        **versions,
        "commit": commit or None,
        # Other processes on the machine skew every figure; this says how busy it was.
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


def redis_available(url: str) -> str | None:
    """Return why Redis at ``url`` cannot be used, or ``None`` if it answers."""
    try:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        client.ping()
        client.close()
    except Exception as exc:
        return f"no Redis at {url} ({type(exc).__name__})"
    return None


def redis_cleanup(url: str, prefix: str) -> None:
    """Delete every key of one run (cache, sessions, channel layer) from Redis."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        batch = []
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                client.delete(*batch)
                batch = []
        if batch:
            client.delete(*batch)
    finally:
        client.close()


def problem_lines(output: str, limit: int = 20) -> dict[str, int]:
    """Count the warnings, errors and exception lines in a server's output, most frequent first."""
    counts: dict[str, int] = {}
    for line in output.splitlines():
        text = line.split(" ", 2)[-1] if line[:2].isdigit() else line
        if any(word in line for word in ("ERROR", "WARNING")) or (
            line[:1].isalpha() and ("Error:" in line or "Exception:" in line)
        ):
            counts[text.strip()[:300]] = counts.get(text.strip()[:300], 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])[:limit]
    return dict(ranked)


def problem_samples(output: str, keep: int = 5) -> list[str]:
    """Return the first ``keep`` warnings and errors of a server's output, each whole."""
    found = [line for line in output.splitlines() if "WARNING" in line or "ERROR" in line]
    return [line[:4000] for line in found[:keep]]


class Run:
    """One run of the harness: its mode, its results and the errors of failed phases."""

    def __init__(self, mode: Mode, redis_url: str | None) -> None:
        self.mode = mode
        self.redis_url = redis_url
        self.errors: list[str] = []
        self.results: dict[str, Any] = {
            "schema": SCHEMA,
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "mode": mode.name,
            "config": asdict(mode),
            "machine": machine(),
            "round_trip": {},
            "throughput": {},
            "memory": {},
            "fanout": {},
            "http": {},
            "server_logs": {},
        }

    @contextlib.contextmanager
    def server(self, label: str, env: dict[str, str] | None = None) -> Iterator[Server]:
        """Run a daphne process; keep a count of the problems it logged."""
        with Server(env=env) as server:
            try:
                yield server
            finally:
                problems = problem_lines(server.output(limit=None))
                if problems:
                    self.results["server_logs"][label] = problems

    def phase(self, label: str, make: Callable[[], Awaitable[Any]]) -> Any:
        """Run one measurement with the mode's time limit; record an error instead of failing."""
        log(label)
        started = time.monotonic()
        try:
            result = asyncio.run(asyncio.wait_for(make(), self.mode.phase_timeout))
        except Exception as exc:
            message = f"{label}: {type(exc).__name__}: {exc}"
            log(message)
            traceback.print_exc(file=sys.stderr)
            self.errors.append(message)
            return {"error": message}
        log(f"{label}: {time.monotonic() - started:.1f} s")
        return result

    def main_server(self, only: set[str]) -> None:
        """Round trips, throughput, the HTTP fallback and in-memory fan-out on one server."""
        mode, results = self.mode, self.results
        with self.server("main") as server:
            results["server_rss_start_kb"] = server.rss_kb()
            if "roundtrip" in only:
                for name, workload in phases.WORKLOADS.items():
                    for target in report.TARGETS:
                        results["round_trip"].setdefault(name, {})[target] = self.phase(
                            f"round trip {name} {target}",
                            lambda w=workload, t=target: phases.round_trip(
                                server, t, w, mode.events, mode.warmup
                            ),
                        )
            if "throughput" in only:
                for name, workload in phases.WORKLOADS.items():
                    for target in report.TARGETS:
                        results["throughput"].setdefault(name, {})[target] = self.phase(
                            f"throughput {name} {target}",
                            lambda w=workload, t=target: phases.throughput(
                                server, t, w, mode.sockets, mode.duration
                            ),
                        )
            if "http" in only:
                results["http"] = self.phase(
                    "HTTP round trips",
                    lambda: phases.http_round_trips(server, mode.http_events, mode.warmup),
                )
            if "fanout" in only:
                self.fanout_layer("inmemory", server)

    def fanout_layer(self, layer: str, server: Server) -> None:
        """Fan-out of every target on ``server``."""
        for target in report.TARGETS:
            self.results["fanout"].setdefault(layer, {})[target] = self.phase(
                f"fan-out {layer} {target}",
                lambda t=target: phases.fanout(
                    server, t, self.mode.fanout_sockets, self.mode.fanout_rounds
                ),
            )

    def memory(self) -> None:
        """Idle memory of each target, each on a fresh server."""
        for target in report.TARGETS:
            with self.server(f"memory {target}") as server:
                self.results["memory"][target] = self.phase(
                    f"memory {target}",
                    lambda t=target, s=server: phases.memory(s, t, self.mode.memory_sockets),
                )

    def redis(self) -> None:
        """Fan-out with Redis as channel layer and cache: core and PubSub layers."""
        fan = self.results["fanout"]
        url = self.redis_url
        reason = "disabled (--no-redis)" if url is None else redis_available(url)
        if url is None or reason is not None:
            for layer in ("redis_core", "redis_pubsub"):
                fan[layer] = {"skipped": reason}
            log(f"Redis fan-out skipped: {reason}")
            return
        self.results["machine"]["redis_url"] = url
        for layer, backend in (("redis_core", "core"), ("redis_pubsub", "pubsub")):
            prefix = f"live-bench-{os.getpid()}-{backend}"
            env = {
                "REDIS_URL": url,
                "LIVE_CHANNEL_LAYER": backend,
                "CACHE_KEY_PREFIX": prefix,
                "BENCH_PREFIX": prefix,
            }
            try:
                with self.server(layer, env) as server:
                    self.fanout_layer(layer, server)
            finally:
                redis_cleanup(url, prefix)

    def notes(self) -> list[str]:
        """Return the notes printed under the table."""
        mode, m = self.mode, self.results["machine"]
        return [
            f"Mode {mode.name}: {mode.events:,} sequential events per cell after "
            f"{mode.warmup} warm-up; throughput {mode.sockets} sockets x {mode.duration:g} s; "
            f"memory {mode.memory_sockets:,} sockets per wave; fan-out {mode.fanout_sockets:,} "
            f"sockets x {mode.fanout_rounds} rounds; {mode.http_events} HTTP events.",
            "One daphne process (DEBUG=False) and the load client on the same machine: "
            f"{m['cpu']}, {m['cores']} cores, Python {m['python']}, Django {m['django']}, "
            f"channels {m['channels']}, daphne {m['daphne']}; load average at start "
            f"{m['loadavg_start'][0]:g}.",
            "echo: bare AsyncWebsocketConsumer sending each frame back. naive: "
            "AsyncJsonWebsocketConsumer keeping the state, rendering the same template "
            'with render_to_string in the event loop and sending {"html": ...}. '
            "live: LiveConsumer behind live.OriginValidator(AuthMiddlewareStack).",
            "Round trip: one socket, send → answer. Bytes: the answer's payload. "
            "Fan-out: from the trigger request to the last socket's frame; echo = bare "
            "group_send, naive = group_send + full re-render.",
            "Idle memory: daphne RSS after gc with every socket open (live: each joined to "
            "its own mounted table, with its own session), minus RSS before.",
        ]

    def write(self, output: Path) -> tuple[Path, str]:
        """Evaluate targets, write JSON and Markdown; return the JSON path and the table."""
        self.results["targets"] = report.evaluate(self.results)
        self.results["notes"] = self.notes()
        self.results["errors"] = self.errors
        table = report.markdown(self.results)
        output.mkdir(parents=True, exist_ok=True)
        stem = self.results["date"][:10]
        if self.mode.name != "full":
            stem += f"-{self.mode.name}"
        path = output / f"{stem}.json"
        path.write_text(json.dumps(self.results, indent=2, ensure_ascii=False) + "\n")
        path.with_suffix(".md").write_text(table)
        return path, table


PHASES = ("roundtrip", "throughput", "http", "fanout", "memory", "redis")


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        epilog="python -m bench soak --help: the soak's options",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", action="store_const", dest="mode", const="quick", help="under 2 minutes"
    )
    size.add_argument(
        "--smoke", action="store_const", dest="mode", const="smoke", help="a tiny run"
    )
    parser.set_defaults(mode="full")
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help="directory for the .json and .md"
    )
    parser.add_argument(
        "--redis-url",
        # A database of its own: the test suite flushes the one it uses.
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
        help="Redis for the Redis fan-out",
    )
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis fan-out")
    parser.add_argument("--memory-sockets", type=int, help="override the mode's memory sockets")
    parser.add_argument("--fanout-sockets", type=int, help="override the mode's fan-out sockets")
    parser.add_argument(
        "--only", default=",".join(PHASES), help=f"comma-separated phases of: {', '.join(PHASES)}"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the harness (or the soak, ``bench.soak``); return 0, or 1 if a phase failed."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["soak"]:
        from bench import soak

        return soak.main(argv[1:])
    if argv[:1] == ["fairness"]:
        from bench import fairness

        return fairness.main(argv[1:])
    args = parse(argv)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = only - set(PHASES)
    if unknown:
        print(f"Unknown phase(s) {sorted(unknown)}; expected some of {PHASES}", file=sys.stderr)
        return 2
    mode = MODES[args.mode]
    for field in ("memory_sockets", "fanout_sockets"):
        if getattr(args, field) is not None:
            mode = dataclasses.replace(mode, **{field: max(1, getattr(args, field))})
    raise_fd_limit(4 * max(mode.memory_sockets, mode.fanout_sockets) + 256)
    run = Run(mode, None if args.no_redis else args.redis_url)
    started = time.monotonic()
    run.main_server(only)
    if "memory" in only:
        run.memory()
    if "redis" in only and "fanout" in only:
        run.redis()
    run.results["duration_s"] = round(time.monotonic() - started, 1)
    run.results["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    path, table = run.write(args.output)
    print(table)
    log(f"wrote {path} and {path.with_suffix('.md').name} in {run.results['duration_s']} s")
    return 1 if run.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
