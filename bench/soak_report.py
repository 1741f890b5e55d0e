"""The soak's judgement and its Markdown report.

``judge`` turns a soak's raw results into a summary and a list of checks,
each with its value, its bound and whether it was met; ``markdown`` renders
the windows, the summary and the checks.
"""

from __future__ import annotations

from typing import Any

#: RSS may move this much over the windows after warm-up (slope x span, and last - first):
#: the larger of a floor and a share of what the open sockets cost.
GROWTH_FLOOR_KB = 2048
GROWTH_SHARE = 0.05
#: A second wave may hold this much more than the first one did after its load: the
#: bench's memory phase's share, and a floor above the ~3 MiB a second wave of any size
#: (100 to 1,000 pages) was seen to add once.
WAVE_FLOOR_KB = 4096
WAVE_SHARE = 0.10


def slope_per_min(points: list[tuple[float, float]]) -> float | None:
    """Return the least-squares slope of ``(seconds, value)`` points, per minute."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return 60 * cov / var


def trend_windows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the windows that started after the warm-up (at least the last two)."""
    config, windows = results["config"], results["windows"]
    after = [w for w in windows if w["t_end_s"] - config["window"] >= config["warmup"] - 0.5]
    return after if len(after) >= 2 else windows[-2:]


def check(ident: str, label: str, value: Any, bound: Any, met: bool) -> dict[str, Any]:
    """Return one check of the judgement."""
    return {"id": ident, "label": label, "value": value, "bound": bound, "met": bool(met)}


def judge(results: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return the summary of a soak and its checks."""
    stats, windows = results["stats"], results["windows"]
    trend = trend_windows(results)
    first, last = trend[0], trend[-1]
    cost = stats["mounted"]["rss_kb"] - stats["base"]["rss_kb"]
    growth_bound = round(max(GROWTH_FLOOR_KB, GROWTH_SHARE * cost))
    wave_bound = round(max(WAVE_FLOOR_KB, WAVE_SHARE * cost))
    slope = slope_per_min([(w["t_end_s"], w["rss_kb"]) for w in trend])
    span_min = (last["t_end_s"] - first["t_end_s"]) / 60
    trend_kb = None if slope is None else round(slope * span_min)
    wave_growth = stats["wave2"]["rss_kb"] - stats["plateau"]["rss_kb"]
    b = results["broadcasts"]
    faults = sum(results["faults"].values())
    consistency = results["consistency"]
    closed = [stats[label] for label in ("closed", "wave2_closed")]
    left = [s["consumers"] for s in closed]
    # The in-memory layer's leftovers (``None`` on Redis, which is not in the process).
    layer_left = [[s.get("layer_channels"), s.get("layer_group_members")] for s in closed]
    layer_clean = all(n in (0, None) for pair in layer_left for n in pair)
    summary = {
        "sockets": results["config"]["sockets"],
        "windows": len(windows),
        "trend_windows": len(trend),
        "events": results["events"],
        "rss_base_kb": stats["base"]["rss_kb"],
        "rss_mounted_kb": stats["mounted"]["rss_kb"],
        "sockets_cost_kb": cost,
        "rss_first_kb": first["rss_kb"],
        "rss_last_kb": last["rss_kb"],
        "rss_last_minus_first_kb": last["rss_kb"] - first["rss_kb"],
        "rss_slope_kb_per_min": None if slope is None else round(slope, 1),
        "rss_trend_kb": trend_kb,
        "rss_plateau_kb": stats["plateau"]["rss_kb"],
        "rss_closed_kb": stats["closed"]["rss_kb"],
        "rss_wave2_kb": stats["wave2"]["rss_kb"],
        "rss_wave2_closed_kb": stats["wave2_closed"]["rss_kb"],
        "wave2_minus_plateau_kb": wave_growth,
        "p50_ms_first_last": [windows[0]["p50_ms"], windows[-1]["p50_ms"]],
        "p99_ms_first_last": [windows[0]["p99_ms"], windows[-1]["p99_ms"]],
        "broadcasts_sent": b["sent"],
        "deliveries_expected": b["expected"],
        "deliveries": b["delivered"],
        "faults": faults,
        "server_log_lines": sum(results["server_logs"].values()),
    }
    checks = [
        check("faults", "client faults (error frames, closes, gaps, bad ops, no answer)",
              results["faults"], 0, faults == 0),
        check("server_log", "warnings and errors in the server log",
              summary["server_log_lines"], 0, summary["server_log_lines"] == 0),
        check("broadcasts", "broadcast deliveries during the load",
              f"{b['delivered']:,} of {b['expected']:,}", "all",
              b["sent"] > 0 and b["delivered"] == b["expected"]),
        check("wave2_broadcast", "broadcast deliveries to the second wave",
              f"{b['wave2']['delivered']:,} of {b['wave2']['expected']:,}", "all",
              b["wave2"]["delivered"] == b["wave2"]["expected"]),
        check("consistent", "sampled components whose merged HTML equals the server's",
              f"{consistency['consistent']} of {consistency['components']}", "all",
              consistency["consistent"] == consistency["components"]),
        check("consumers", "consumers left after closing each wave", left, [0, 0], left == [0, 0]),
        check("layer", "layer channels and group members left after closing each wave",
              layer_left, "0 or not in process", layer_clean),
        check("rss_trend", "RSS trend after warm-up (least-squares slope x span), KiB",
              trend_kb, growth_bound, trend_kb is not None and trend_kb <= growth_bound),
        check("rss_last_first", "RSS last window - first window after warm-up, KiB",
              summary["rss_last_minus_first_kb"], growth_bound,
              summary["rss_last_minus_first_kb"] <= growth_bound),
        check("wave2", "RSS with the second wave open - first wave after its load, KiB",
              wave_growth, wave_bound, wave_growth <= wave_bound),
    ]  # fmt: skip
    return summary, checks


def mib(kb: float | None) -> str:
    """Format KiB as MiB with one decimal."""
    return "—" if kb is None else f"{kb / 1024:,.1f}"


def markdown(results: dict[str, Any]) -> str:
    """Return the soak's windows, summary and checks as Markdown."""
    config, s, m = results["config"], results["summary"], results["machine"]
    layer = f"Redis ({config['redis_layer']})" if config["redis_url"] else "in-memory"
    lines = [
        "| window | end, s | RSS, MiB | server CPU | events | p50 / p99, ms "
        "| broadcasts | delivered | last delivery, ms | faults |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for w in results["windows"]:
        lines.append(
            f"| {w['window'] + 1} | {w['t_end_s']:g} | {mib(w['rss_kb'])} "
            f"| {w['server_cpu_pct']:g} % | {w['events']:,} | {w['p50_ms']} / {w['p99_ms']} "
            f"| {w['broadcasts']} | {w['delivered']:,} / {w['expected']:,} "
            f"| {w['broadcast_last_ms']} | {w['faults']} |"
        )
    slope = s["rss_slope_kb_per_min"]
    lines += [
        "",
        f"Soak: {s['sockets']:,} sockets ({layer} layer) for {config['duration']:g} s, "
        f"{config['rate']:g} events/s from {config['active']} active sockets, a broadcast "
        f"to every socket each {config['broadcast_every']:g} s; windows of "
        f"{config['window']:g} s, the first {config['warmup']:g} s left out of the memory "
        f"trend. {m['cpu']}, {m['cores']} cores, load average {m['loadavg_start'][0]:g} "
        f"at start, {m['loadavg_end'][0]:g} at end; commit {m['commit']}.",
        "",
        f"- Events: {s['events']:,}; p50 / p99 first window {s['p50_ms_first_last'][0]} / "
        f"{s['p99_ms_first_last'][0]} ms, last window {s['p50_ms_first_last'][1]} / "
        f"{s['p99_ms_first_last'][1]} ms.",
        f"- Broadcasts: {s['broadcasts_sent']} sent, {s['deliveries']:,} of "
        f"{s['deliveries_expected']:,} deliveries; faults {s['faults']}; server log "
        f"warnings/errors {s['server_log_lines']}.",
        f"- RSS, MiB: base {mib(s['rss_base_kb'])}, sockets mounted {mib(s['rss_mounted_kb'])}, "
        f"first / last window after warm-up {mib(s['rss_first_kb'])} / {mib(s['rss_last_kb'])} "
        f"(slope {'—' if slope is None else f'{slope:+,.0f}'} KiB/min), after the load "
        f"{mib(s['rss_plateau_kb'])}, closed {mib(s['rss_closed_kb'])}, second wave open "
        f"{mib(s['rss_wave2_kb'])}, closed {mib(s['rss_wave2_closed_kb'])}.",
        "",
        "| check | value | bound | met? |",
        "|---|---:|---:|:---:|",
    ]
    for c in results["checks"]:
        value = c["value"]
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or 0
        lines.append(
            f"| {c['label']} | {value} | {c['bound']} | {'yes' if c['met'] else '**no**'} |"
        )
    lines += ["", f"Passed: {'yes' if results['passed'] else '**no**'}."]
    return "\n".join(lines) + "\n"
