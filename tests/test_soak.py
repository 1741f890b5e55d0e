"""The soak keeps working: a short one (100 sockets, 20 s of load), end to end.

Only what does not depend on the machine's speed is asserted: no faults, every
broadcast delivered, the clients' HTML equal to the server's, and the memory
judgement. Never timings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.page import Broadcasts, Faults, Page, apply_checked
from bench.soak_report import slope_per_min

ROOT = Path(__file__).resolve().parent.parent
SOCKETS = 100
SHORT = [
    *("--sockets", str(SOCKETS), "--duration", "20", "--window", "2", "--warmup", "6"),
    *("--rate", "50", "--active", "10", "--broadcast-every", "1", "--sample", str(SOCKETS)),
]


def run_short(output: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run the short soak into ``output``; return the process and its JSON."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "soak", *SHORT, "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    paths = list(output.glob("soak-*.json"))
    assert len(paths) == 1, completed.stderr[-6000:]
    return completed, json.loads(paths[0].read_text())


def test_short_soak(tmp_path: Path) -> None:
    completed, results = run_short(tmp_path)
    checks = {check["id"]: check for check in results["checks"]}

    assert results["schema"] == 1
    assert results["config"]["sockets"] == SOCKETS
    assert results["config"]["redis_url"] is None
    assert len(results["windows"]) == 10
    assert all(window["events"] > 0 for window in results["windows"])
    assert results["faults"] == {}, results["fault_samples"]
    assert results["server_logs"] == {}
    broadcasts = results["broadcasts"]
    assert broadcasts["sent"] > 0
    assert broadcasts["delivered"] == broadcasts["expected"] == broadcasts["sent"] * SOCKETS
    assert broadcasts["wave2"] == {"expected": SOCKETS, "delivered": SOCKETS}
    # Every page was checked: both of its components equal the server's HTML.
    assert results["consistency"] == {
        "pages": SOCKETS,
        "components": 2 * SOCKETS,
        "consistent": 2 * SOCKETS,
        "mismatched": [],
    }
    assert [results["stats"][s]["consumers"] for s in ("closed", "wave2_closed")] == [0, 0]
    for ident in ("rss_trend", "rss_last_first", "wave2"):
        assert checks[ident]["met"], checks[ident]
    assert results["passed"] is True
    assert completed.returncode == 0, completed.stderr[-6000:]

    [markdown] = tmp_path.glob("soak-*.md")
    table = markdown.read_text()
    assert table.startswith("| window | end, s | RSS, MiB |")
    assert table.splitlines()[0] in completed.stdout
    assert "Passed: yes." in table


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        pytest.param([[2, 1, "X"]], "abXde", id="replace"),
        pytest.param([[0, 0, "<"], [5, 0, ">"]], "<abcde>", id="insert-both-ends"),
        pytest.param([[3, 1, ""], [1, 1, "B"]], None, id="unsorted"),
        pytest.param([[1, 2, ""], [2, 1, ""]], None, id="overlapping"),
        pytest.param([[4, 2, ""]], None, id="past-the-end"),
    ],
)
def test_apply_checked(ops: list[Any], expected: str | None) -> None:
    assert apply_checked("abcde", ops) == expected


def test_apply_checked_counts_utf16_units() -> None:
    # The emoji is two UTF-16 code units, as live.js counts.
    assert apply_checked("a\U0001f600b", [[3, 1, "c"]]) == "a\U0001f600c"


def test_broadcasts_count_each_page_once_per_broadcast() -> None:
    book = Broadcasts()
    for _ in range(3):
        book.send(window=0, pages=2)
    page = Page(0, "counter", Faults())
    book.on_tick(page, 0, 1, 1.0)
    book.on_tick(page, 1, 3, 2.0)  # 2 and 3 in one push
    assert (book.reached, book.coalesced, book.missing()) == ([1, 1, 1], 1, 3)


def test_slope_per_min() -> None:
    assert slope_per_min([(0, 100), (30, 150), (60, 200)]) == pytest.approx(100)
    assert slope_per_min([(10, 5)]) is None
