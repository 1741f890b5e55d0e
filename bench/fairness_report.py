"""Targets and the Markdown table of a fairness run (``python -m bench fairness``)."""

from __future__ import annotations

from typing import Any

from bench.report import _fmt, dig, number

#: A bystander's event p50 under a flood, at most this many times its p50 alone.
RATIO_LIMIT = 3.0
VARIANTS = (
    ("flood", "one session, {flood_sockets} sockets x {rate:g} searches/s"),
    ("slow", "{slow_sessions} sessions x {rate:g} slow events/s ({slow_ms} ms each)"),
)


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Return each variant's ratio target; a smoke run is not judged."""
    targets = []
    for variant, _ in VARIANTS:
        value = dig(results, variant, "ratio_p50")
        met = value <= RATIO_LIMIT if number(value) else None
        if results.get("mode") == "smoke":
            met = None
        targets.append(
            {
                "id": f"fairness_{variant}",
                "target": f"bystander p50 under the {variant} flood ≤ {RATIO_LIMIT:g}x alone",
                "value": value,
                "limit": RATIO_LIMIT,
                "met": met,
            }
        )
    return targets


def markdown(results: dict[str, Any]) -> str:
    """Return the results as a Markdown table with notes."""
    config = results.get("config", {})
    targets = {t["id"]: t for t in results.get("targets") or evaluate(results)}
    header = [
        "bystander searches",
        "p50 / p95, ms",
        f"p50 ratio to alone (≤ {RATIO_LIMIT:g}x)",
        "hostile answered/s; rate_limited",
        "hostile p50, ms",
        "met?",
    ]
    lines = ["| " + " | ".join(header) + " |", "|---|---:|---:|---:|---:|:---:|"]
    alone = results.get("alone", {})
    lines.append(
        f"| alone | {_fmt(alone.get('p50_ms'))} / {_fmt(alone.get('p95_ms'))} | 1.00x | — | — | |"
    )
    for variant, label in VARIANTS:
        by = dig(results, variant, "bystander") or {}
        hostile = dig(results, variant, "hostile") or {}
        ratio = dig(results, variant, "ratio_p50")
        served = f"{_fmt(hostile.get('answered_per_s'), 1)}; {_fmt(hostile.get('rate_limited'))}"
        met = targets.get(f"fairness_{variant}", {}).get("met")
        lines.append(
            "| "
            + " | ".join(
                [
                    f"{variant}: {label.format(**config)}" if config else variant,
                    f"{_fmt(by.get('p50_ms'))} / {_fmt(by.get('p95_ms'))}",
                    f"{ratio:.2f}x" if number(ratio) else "—",
                    served,
                    _fmt(hostile.get("p50_ms")),
                    "—" if met is None else ("yes" if met else "**no**"),
                ]
            )
            + " |"
        )
    m = results.get("machine", {})
    notes = [
        f"Mode {results.get('mode')}: {config.get('events')} sequential bystander searches "
        f"(one per {config.get('pace')} s) per row on the user table run in worker threads "
        f"(`bench_table_sync`), after "
        f"{config.get('warmup')} alone; each flood runs {config.get('ramp')} s before and during "
        f"them, every hostile socket keeping at most {config.get('window')} events unanswered.",
        f"Server `LIVE` settings: {results.get('live_settings')}; daphne with --proxy-headers, "
        f"the bystander at {dig(results, 'addresses', 'bystander')} and the hostile client at "
        f"{dig(results, 'addresses', 'hostile')} (X-Forwarded-For), all over 127.0.0.1.",
        f"One daphne process and the load client on the same machine: {m.get('cpu')}, "
        f"{m.get('cores')} cores, Python {m.get('python')}; load average at start "
        f"{(m.get('loadavg_start') or ['?'])[0]}.",
    ]
    if results.get("errors"):
        notes.append(f"Errors: {results['errors']}")
    lines += ["", *(f"- {note}" for note in notes)]
    return "\n".join(lines) + "\n"
