"""The benchmark harness keeps working: its smoke mode, end to end, on a tiny workload.

Only the shape and sanity of the results are checked, never timings.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("echo", "naive", "live")


def run_smoke(output: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run ``python -m bench --smoke`` into ``output``; return the process and its JSON."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--no-redis", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-6000:]
    [path] = output.glob("*-smoke.json")
    return completed, json.loads(path.read_text())


def finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value >= 0


def test_smoke_run(tmp_path: Path) -> None:
    completed, results = run_smoke(tmp_path)
    config = results["config"]

    assert results["schema"] == 1
    assert results["mode"] == "smoke"
    assert results["errors"] == []
    assert {"cpu", "cores", "python", "django", "channels", "daphne"} <= set(results["machine"])

    for workload in ("counter", "toggle", "search"):
        for target in TARGETS:
            cell = results["round_trip"][workload][target]
            assert cell["events"] == config["events"], (workload, target)
            assert all(finite(cell[key]) for key in ("p50_ms", "p95_ms", "p99_ms"))
            assert cell["bytes_max"] > 0
            tp = results["throughput"][workload][target]
            assert tp["sockets"] == config["sockets"]
            assert tp["events"] > 0
            assert finite(tp["server_cpu_s"])
        # The client merged every diff into exactly the server's HTML.
        assert results["round_trip"][workload]["live"]["consistent"] is True
    # The naive consumer sends the whole table; live sends a diff.
    toggle = results["round_trip"]["toggle"]
    assert toggle["naive"]["bytes_max"] > 1000
    assert toggle["live"]["bytes_max"] < toggle["naive"]["bytes_max"]
    steps = len(results["round_trip"]["search"]["naive"]["bytes_by_step"])
    assert len(results["round_trip"]["search"]["live"]["bytes_by_step"]) == steps

    for target in TARGETS:
        memory = results["memory"][target]
        assert memory["sockets"] == config["memory_sockets"]
        assert memory["rss_open_kb"] > memory["rss_base_kb"] > 0
        assert memory["consumers_left"] == 0
        fanout = results["fanout"]["inmemory"][target]
        assert fanout["sockets"] == config["fanout_sockets"]
        assert fanout["delivered_min"] == config["fanout_sockets"]
        assert len(fanout["per_round"]) == config["fanout_rounds"]
    assert results["fanout"]["redis_core"] == {"skipped": "disabled (--no-redis)"}

    for kind in ("plain", "live"):
        assert results["http"][kind]["events"] == config["http_events"]

    ids = {target["id"] for target in results["targets"]}
    assert {"toggle_p50", "search_p50", "toggle_bytes", "idle_kb", "fanout_inmemory"} <= ids
    assert all(target["met"] in (True, False, None) for target in results["targets"])

    [markdown] = tmp_path.glob("*-smoke.md")
    table = markdown.read_text()
    assert table.startswith("| target | echo | naive | live | live/naive | met? |")
    assert table.splitlines()[0] in completed.stdout


def test_fairness_smoke_run(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "fairness", "--smoke", "--output", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-6000:]
    [path] = tmp_path.glob("fairness-*-smoke.json")
    results = json.loads(path.read_text())
    config = results["config"]

    assert (results["schema"], results["kind"], results["mode"]) == (1, "fairness", "smoke")
    assert results["errors"] == []
    assert results["server_logs"] == {}
    assert results["live_settings"] == {"SOCKET_FRAMES_PER_SECOND": 50}
    assert results["alone"]["events"] == config["events"]
    assert finite(results["alone"]["p50_ms"])
    for variant, sockets in (("flood", "flood_sockets"), ("slow", "slow_sessions")):
        cell = results[variant]
        assert cell["bystander"]["events"] == config["events"], variant
        assert finite(cell["ratio_p50"])
        assert cell["hostile"]["sockets"] == config[sockets]
        assert cell["hostile"]["answered"] > 0
        assert cell["hostile"]["errors"] == {}
        assert cell["consumers_after"] == 1  # only the bystander is left
    # The bystander's merged HTML is the server's after every flood.
    assert results["consistent"] is True
    assert [(t["id"], t["met"]) for t in results["targets"]] == [
        ("fairness_flood", None),
        ("fairness_slow", None),
    ]
    table = path.with_suffix(".md").read_text()
    assert table.startswith("| bystander searches | p50 / p95, ms |")
    assert table.splitlines()[0] in completed.stdout
