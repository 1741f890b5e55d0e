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
