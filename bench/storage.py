"""What cookieless requests leave behind: ``python -m bench.storage [--requests N]``.

Each request comes from a new client (no cookies, its own address), as a crawler
or a flood does. Printed per URL: session rows and their bytes, cart rows, and
the state snapshots in the cache (count, bytes, seconds they are kept). Runs
against a throwaway test database, with the project's settings (``DATABASE_URL``
and ``REDIS_URL`` apply).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def snapshot_keys() -> dict[str, tuple[int, float]]:
    """Return every snapshot in the state store: key -> (bytes, seconds left)."""
    import time

    from live import state

    store: Any = state.cache()
    found: dict[str, tuple[int, float]] = {}
    if hasattr(store, "ttl"):  # django-redis
        from django_redis import get_redis_connection

        redis = get_redis_connection("default")
        for key in redis.scan_iter(f"*{state.KEY_PREFIX}*"):
            found[key.decode()] = (int(redis.strlen(key)), float(redis.ttl(key)))
        return found
    for key, value in store._cache.items():
        if state.KEY_PREFIX in key:
            found[key] = (len(value), store._expire_info[key] - time.time())
    return found


def measure(requests: int) -> list[dict[str, Any]]:
    """GET each URL ``requests`` times from new clients; return what each stored per request."""
    from django.contrib.sessions.models import Session
    from django.core.cache import caches
    from django.test import Client

    from live_shop.models import Cart
    from live_shop.testing import create_product

    tee = create_product()
    urls = [
        "/live/components/counter/",
        f"/shop/components/product/{tee.pk}/",
        "/shop/components/cart/",
        f"/shop/product/{tee.pk}/",
    ]
    rows = []
    for number, url in enumerate(urls):
        caches["default"].clear()
        Session.objects.all().delete()
        Cart.objects.all().delete()
        for i in range(requests):
            address = f"10.{number}.{i // 250}.{i % 250 + 1}"
            response = Client(REMOTE_ADDR=address).get(url)
            assert response.status_code == 200, (url, response.status_code)
        sessions = list(Session.objects.values_list("session_key", "session_data"))
        session_bytes = sum(len(key) + len(data) for key, data in sessions)
        snapshots = snapshot_keys()
        ttls = sorted(ttl for _, ttl in snapshots.values())
        rows.append(
            {
                "url": url,
                "sessions": len(sessions) / requests,
                "session_bytes": session_bytes / requests,
                "carts": Cart.objects.count() / requests,
                "snapshots": len(snapshots) / requests,
                "snapshot_bytes": sum(size for size, _ in snapshots.values()) / requests,
                "snapshot_ttl": ttls[len(ttls) // 2] if ttls else 0,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Set up a throwaway database, measure, print a table."""
    parser = argparse.ArgumentParser(prog="python -m bench.storage", description=__doc__)
    parser.add_argument("--requests", type=int, default=50, help="requests per URL (50)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = (
        f"{settings.DATABASES['default']['NAME']}_storage"
        if connection.vendor != "sqlite"
        else f"/tmp/live-storage-{os.getpid()}.sqlite3"
    )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        rows = measure(max(1, args.requests))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    header = "url | sessions | session B | carts | snapshots | snapshot B | snapshot kept s"
    print(header)
    print(" | ".join("---" for _ in header.split(" | ")))
    for row in rows:
        print(
            f"{row['url']} | {row['sessions']:.2f} | {row['session_bytes']:.0f} | "
            f"{row['carts']:.2f} | {row['snapshots']:.2f} | {row['snapshot_bytes']:.0f} | "
            f"{row['snapshot_ttl']:.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
