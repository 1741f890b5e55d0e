"""Internal: demo data for ``manage.py livedemo``."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from live.demo.models import Person

FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Barbara",
    "Ken",
    "Margaret",
    "Dennis",
    "Frances",
    "Edsger",
]
LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie"]

#: (username, password, is_staff, is_superuser), printed by ``livedemo``.
DEMO_USERS = [
    ("admin", "admin", True, True),
    ("staff", "staff", True, False),
    ("alice", "alice", False, False),
]


def seed() -> list[str]:
    """Create demo users and 200 people once; return the login lines to print."""
    user_model = get_user_model()
    for username, password, is_staff, is_superuser in DEMO_USERS:
        if not user_model.objects.filter(username=username).exists():
            user = user_model(
                username=username,
                email=f"{username}@example.com",
                is_staff=is_staff,
                is_superuser=is_superuser,
            )
            user.set_password(password)
            user.save()
    if not Person.objects.exists():
        Person.objects.bulk_create(
            Person(
                name=f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]} {i}",
                email=f"person{i}@example.com",
                active=i % 7 != 0,
            )
            for i in range(200)
        )
    return [
        f"{username} / {password}" + (" (superuser)" if su else " (staff)" if staff else "")
        for username, password, staff, su in DEMO_USERS
    ]
