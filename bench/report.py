"""Targets and the Markdown table of a run's results."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

TARGETS = ("echo", "naive", "live")
#: Fan-out targets are stated for this many sockets; smaller runs are not judged.
FANOUT_SOCKETS = 1000
LAYERS = (
    ("inmemory", "in-memory", 250.0),
    ("redis_core", "Redis core", 400.0),
    ("redis_pubsub", "Redis PubSub", 400.0),
)


def dig(data: Any, *keys: Any) -> Any:
    """Return ``data[k1][k2]...`` or ``None`` when any step is missing."""
    for key in keys:
        if (isinstance(data, dict) and key in data) or (
            isinstance(data, list) and isinstance(key, int) and -len(data) <= key < len(data)
        ):
            data = data[key]
        else:
            return None
    return data


def number(value: Any) -> bool:
    """Return whether ``value`` is a finite number."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def ratio(a: Any, b: Any) -> float | None:
    """Return ``a / b`` when both are numbers and ``b`` is not zero."""
    return a / b if number(a) and number(b) and b else None


def _at_most(value: Any, limit: Any) -> bool | None:
    return value <= limit if number(value) and number(limit) else None


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Return each target with its measured value and whether it is met (``None``: unmeasured)."""
    rt, tp = results.get("round_trip", {}), results.get("throughput", {})
    mem, fan = results.get("memory", {}), results.get("fanout", {})
    targets = []

    def add(key: str, label: str, value: Any, limit: Any, met: bool | None) -> None:
        targets.append({"id": key, "target": label, "value": value, "limit": limit, "met": met})

    for name in ("toggle", "search"):
        live, naive = dig(rt, name, "live", "p50_ms"), dig(rt, name, "naive", "p50_ms")
        limit = 1.2 * naive if number(naive) else None
        add(
            f"{name}_p50", f"{name} round trip p50 ≤ 1.2x naive", live, limit, _at_most(live, limit)
        )
    toggle_bytes = dig(rt, "toggle", "live", "bytes_max")
    add("toggle_bytes", "toggle ≤ 300 bytes/update", toggle_bytes, 300, _at_most(toggle_bytes, 300))
    live_steps = dig(rt, "search", "live", "bytes_by_step")
    naive_steps = dig(rt, "search", "naive", "bytes_by_step")
    search_met = None
    worst = None
    if live_steps and naive_steps and len(live_steps) == len(naive_steps):
        worst = max(a - b for a, b in zip(live_steps, naive_steps, strict=True))
        search_met = worst <= 0
    add("search_bytes", "search bytes ≤ full render's, every step", worst, 0, search_met)
    for name in ("counter", "toggle", "search"):
        live = dig(tp, name, "live", "events_per_s")
        naive = dig(tp, name, "naive", "events_per_s")
        limit = 0.9 * naive if number(naive) else None
        met = live >= limit if number(live) and number(limit) else None
        add(f"{name}_events_per_s", f"{name} events/s (20 sockets) ≥ 0.9x naive", live, limit, met)
    live_kb, echo_kb = dig(mem, "live", "per_socket_kb"), dig(mem, "echo", "per_socket_kb")
    limit = 1.5 * echo_kb if number(echo_kb) else None
    add(
        "idle_kb", "idle KiB per table socket ≤ 1.5x echo", live_kb, limit, _at_most(live_kb, limit)
    )
    # The server's own growth (echo's) is allocator noise that live is not asked to beat.
    growth, tolerance = dig(mem, "live", "growth_kb"), dig(mem, "live", "tolerance_kb")
    echo_growth = dig(mem, "echo", "growth_kb")
    limit = max(echo_growth, 0) + tolerance if number(echo_growth) and number(tolerance) else None
    add(
        "memory_flat",
        "RSS growth after close + second wave ≤ echo's + 10 % of the wave",
        growth,
        limit,
        _at_most(growth, limit),
    )
    for layer, label, limit_ms in LAYERS:
        last = dig(fan, layer, "live", "last_ms_p50")
        complete = dig(fan, layer, "live", "delivered_min") == dig(fan, layer, "live", "sockets")
        met = _at_most(last, limit_ms)
        if (dig(fan, layer, "live", "sockets") or 0) < FANOUT_SOCKETS:
            met = None
        add(
            f"fanout_{layer}",
            f"fan-out last delivery ({label}) ≤ {limit_ms:g} ms",
            last,
            limit_ms,
            None if met is None else met and complete,
        )
    return targets


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        return f"{value:,.{digits}f}"
    return str(value)


def _pair(a: Any, b: Any, digits: int = 2) -> str:
    if a is None and b is None:
        return "—"
    return f"{_fmt(a, digits)} / {_fmt(b, digits)}"


def _met(targets: list[dict[str, Any]], key: str, extra: str = "") -> str:
    for target in targets:
        if target["id"] == key:
            met = target["met"]
            text = "—" if met is None else ("yes" if met else "**no**")
            return f"{text}{extra}"
    return ""


def markdown(results: dict[str, Any]) -> str:
    """Return the results as a Markdown table with notes."""
    targets = results.get("targets") or evaluate(results)
    rt, tp = results.get("round_trip", {}), results.get("throughput", {})
    mem, fan = results.get("memory", {}), results.get("fanout", {})
    http = results.get("http", {})
    rows: list[list[str]] = []

    def row(
        label: str, get: Callable[[str], Any], digits: int = 2, met: str = "", cmp: bool = True
    ) -> None:
        values = {t: get(t) for t in TARGETS}
        cells = [label] + [_fmt(values[t], digits) for t in TARGETS]
        r = ratio(values["live"], values["naive"]) if cmp else None
        cells += [f"{r:.2f}x" if r is not None else "—", met]
        rows.append(cells)

    def pair_row(label: str, get: Callable[[str], tuple[Any, Any]], met: str = "") -> None:
        cells = [label] + [_pair(*get(t)) for t in TARGETS]
        first = {t: get(t)[0] for t in TARGETS}
        r = ratio(first["live"], first["naive"])
        cells += [f"{r:.2f}x" if r is not None else "—", met]
        rows.append(cells)

    n_rt = dig(rt, "toggle", "live", "events") or dig(rt, "counter", "echo", "events")
    pair_row(
        f"counter round trip p50 / p99, ms ({_fmt(n_rt)} sequential events)",
        lambda t: (dig(rt, "counter", t, "p50_ms"), dig(rt, "counter", t, "p99_ms")),
    )
    for name in ("toggle", "search"):
        row(
            f"{name} round trip p50, ms (≤ 1.2x naive)",
            lambda t, n=name: dig(rt, n, t, "p50_ms"),
            met=_met(targets, f"{name}_p50"),
        )
        pair_row(
            f"{name} round trip p95 / p99, ms",
            lambda t, n=name: (dig(rt, n, t, "p95_ms"), dig(rt, n, t, "p99_ms")),
        )
    row("counter reply, bytes", lambda t: dig(rt, "counter", t, "bytes_max"), 0)
    row(
        "toggle reply, bytes per update, max (≤ 300)",
        lambda t: dig(rt, "toggle", t, "bytes_max"),
        0,
        met=_met(targets, "toggle_bytes"),
    )
    row(
        "search reply, bytes, max (≤ the full render's at every step)",
        lambda t: dig(rt, "search", t, "bytes_max"),
        0,
        met=_met(targets, "search_bytes"),
    )
    sockets = dig(tp, "toggle", "live", "sockets") or 20
    for name in ("counter", "toggle", "search"):
        row(
            f"{name} events/s, {sockets} sockets (≥ 0.9x naive)",
            lambda t, n=name: dig(tp, n, t, "events_per_s"),
            0,
            met=_met(targets, f"{name}_events_per_s"),
        )
    pair_row(
        "server CPU per event, ms: toggle / search",
        lambda t: (
            dig(tp, "toggle", t, "server_cpu_ms_per_event"),
            dig(tp, "search", t, "server_cpu_ms_per_event"),
        ),
    )
    idle = {t: dig(mem, t, "per_socket_kb") for t in TARGETS}
    vs_echo = ratio(idle["live"], idle["echo"])
    row(
        f"idle memory per socket, KiB ({_fmt(dig(mem, 'live', 'sockets'))} table sockets; "
        "≤ 1.5x echo)",
        lambda t: idle[t],
        1,
        met=_met(targets, "idle_kb", f" ({vs_echo:.2f}x echo)" if vs_echo else ""),
    )
    row(
        "RSS growth after close + second wave, KiB (flat: ≤ echo's + 10 %)",
        lambda t: dig(mem, t, "growth_kb"),
        0,
        met=_met(targets, "memory_flat"),
        cmp=False,
    )
    for layer, label, limit in LAYERS:
        sockets_n = dig(fan, layer, "live", "sockets")
        if dig(fan, layer, "skipped"):
            rows.append(
                [f"fan-out ({label}): skipped, {fan[layer]['skipped']}", "—", "—", "—", "—", "—"]
            )
            continue
        pair_row(
            f"fan-out to {_fmt(sockets_n)} sockets ({label}), last delivery p50 / max, ms "
            f"(≤ {limit:g})",
            lambda t, la=layer: (dig(fan, la, t, "last_ms_p50"), dig(fan, la, t, "last_ms_max")),
            met=_met(targets, f"fanout_{layer}"),
        )
    rows.append(
        [
            "HTTP round trip p50 / p99, ms (toggle; naive = plain Django view)",
            "—",
            _pair(dig(http, "plain", "p50_ms"), dig(http, "plain", "p99_ms")),
            _pair(dig(http, "live", "p50_ms"), dig(http, "live", "p99_ms")),
            (lambda r: f"{r:.2f}x" if r else "—")(
                ratio(dig(http, "live", "p50_ms"), dig(http, "plain", "p50_ms"))
            ),
            "",
        ]
    )
    header = ["target", "echo", "naive", "live", "live/naive", "met?"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * 4 + [":---:"]) + "|",
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    met = [t for t in targets if t["met"] is not None]
    lines.append("")
    lines.append(
        f"Targets met: {sum(1 for t in met if t['met'])} of {len(met)} measured "
        f"({len(targets) - len(met)} not measured)."
    )
    lines += ["", *(f"- {note}" for note in results.get("notes", []))]
    return "\n".join(lines) + "\n"
