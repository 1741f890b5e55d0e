"""HTTP views of the bench server.

``mount`` is the first page render of a live component (JSON instead of a
page, so the load client gets its token and session cookie), ``plain_table``
is an ordinary Django view for the HTTP comparison, ``fanout`` triggers one
broadcast per target and ``stats`` reports the process's memory.
"""

from __future__ import annotations

import gc
import json
import os
from typing import Any

from channels.consumer import AsyncConsumer
from channels.layers import get_channel_layer
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

import live
from bench import users
from bench.components import FANOUT_GROUP, TABLE_TEMPLATE
from bench.consumers import ECHO_GROUP, NAIVE_GROUP, TICK_TYPE
from live.exceptions import LiveError
from live.views import error_response, render_component

BENCH_COMPONENTS = (
    "bench_counter",
    "bench_table",
    "bench_ticker",
    "bench_table_sync",
    "bench_slow",
)


@require_GET
def mount(request: HttpRequest, name: str) -> JsonResponse:
    """Render a bench component as a page would; answer its id, token, version and HTML."""
    if name not in BENCH_COMPONENTS:
        return JsonResponse(
            {"error": f"Unknown bench component {name!r}; expected one of {BENCH_COMPONENTS}"},
            status=404,
        )
    try:
        mounted = render_component(request, name, {})
    except LiveError as error:
        return error_response(error)
    body: dict[str, Any] = {
        "id": mounted.component_id,
        "token": mounted.token(),
        "v": mounted.version,
        "html": mounted.html,
        "csrf": get_token(request),
    }
    if request.GET.get("state") == "1":
        body["state"] = mounted.signed_state()
    return JsonResponse(body)


@require_POST
def plain_table(request: HttpRequest) -> HttpResponse:
    """Apply one table event and render the whole table, the way a plain Django view does."""
    body = json.loads(request.body or b"{}")
    payload = body.get("payload") or {}
    query = ""
    if body.get("event") == "toggle_status":
        users.toggle(int(payload["user_id"]))
    elif body.get("event") == "search":
        query = str(payload.get("query", ""))[:100]
    return render(request, TABLE_TEMPLATE, users.table_context(query, 1))


@csrf_exempt
@require_POST
async def fanout(request: HttpRequest, target: str) -> JsonResponse:
    """Send broadcast number ``?n=`` to every ticker of ``target`` (echo, naive or live)."""
    n = int(request.GET.get("n", "0"))
    if target == "live":
        await live.broadcast(FANOUT_GROUP, "tick", n=n)
    elif target in ("echo", "naive"):
        group = ECHO_GROUP if target == "echo" else NAIVE_GROUP
        await get_channel_layer().group_send(group, {"type": TICK_TYPE, "n": n})
    else:
        return JsonResponse({"error": f"Unknown target {target!r}"}, status=404)
    return JsonResponse({"n": n})


@require_GET
def stats(request: HttpRequest) -> JsonResponse:
    """Collect garbage, then report RSS, open files, consumers, cache and layer contents."""
    gc.collect()
    consumers = sum(1 for obj in gc.get_objects() if isinstance(obj, AsyncConsumer))
    cache: Any = caches["default"]
    entries = len(cache._cache) if hasattr(cache, "_cache") else None
    # The local-memory cache holds pickled bytes: their total is what it retains.
    held = sum(map(len, cache._cache.values())) if hasattr(cache, "_cache") else None
    # What the channel layer still holds in this process: channels with a queue (the
    # in-memory layer's, or the Redis core layer's receive buffers) and group members.
    # Read the instance's own attributes: the Redis PubSub layer proxies the others to a
    # per-loop layer, which cannot be reached from this thread.
    held_by_layer = vars(get_channel_layer())
    queues = held_by_layer.get("channels", held_by_layer.get("receive_buffer"))
    channels = len(queues) if isinstance(queues, dict) else None
    groups = held_by_layer.get("groups")
    members = sum(map(len, groups.values())) if isinstance(groups, dict) else None
    return JsonResponse(
        {
            "pid": os.getpid(),
            "rss_kb": rss_kb(),
            "fds": len(os.listdir("/proc/self/fd")),
            "consumers": consumers,
            "cache_entries": entries,
            "cache_bytes": held,
            "layer_channels": channels,
            "layer_group_members": members,
        }
    )


def rss_kb(pid: int | str = "self") -> int:
    """Return the resident set size of process ``pid`` in KiB (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
