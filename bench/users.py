"""The bench's data: 1,000 users as plain dicts, built at import time (no database)."""

from __future__ import annotations

from typing import Any

PAGE_SIZE = 25

_FIRST = [
    "ada", "alan", "anna", "ben", "carla", "chen", "dana", "diego", "elif", "emma",
    "farah", "felix", "grace", "hugo", "ines", "ivan", "jana", "jonas", "kai", "lena",
    "liam", "maria", "marek", "mia", "nadia", "noah", "olga", "omar", "paula", "pedro",
    "quinn", "rosa", "sami", "sofia", "tomas", "uma", "vera", "wen", "yara", "zoe",
]  # fmt: skip
_LAST = [
    "abbott", "berg", "costa", "dahl", "evans", "fischer", "garcia", "hansen", "ito",
    "jensen", "kowalski", "larsen", "moreau", "nakamura", "olsen", "petrov", "quist",
    "rossi", "santos", "tanaka", "ueda", "vargas", "weber", "xu", "young",
]  # fmt: skip


def _build() -> dict[int, dict[str, Any]]:
    users = {}
    for index in range(len(_FIRST) * len(_LAST)):
        first, last = _FIRST[index % len(_FIRST)], _LAST[index // len(_FIRST)]
        user_id = index + 1
        username = f"{first}.{last}"
        users[user_id] = {
            "id": user_id,
            "username": username,
            "email": f"{username}@example.com",
            "active": user_id % 3 != 0,
        }
    return users


#: Every user by id; ``toggle`` flips ``active`` in place, as a database row would change.
USERS: dict[int, dict[str, Any]] = _build()


def toggle(user_id: int) -> None:
    """Flip one user's ``active`` flag; unknown ids raise ``KeyError``."""
    user = USERS[user_id]
    user["active"] = not user["active"]


def matching(query: str) -> list[dict[str, Any]]:
    """Return the users whose username or email contains ``query`` (case-insensitive)."""
    needle = query.strip().lower()
    if not needle:
        return list(USERS.values())
    return [u for u in USERS.values() if needle in u["username"] or needle in u["email"]]


def table_context(query: str, page: int) -> dict[str, Any]:
    """Return the context of the user table template for ``query`` and ``page``."""
    found = matching(query)
    pages = max(1, -(-len(found) // PAGE_SIZE))
    page = min(max(1, page), pages)
    start = (page - 1) * PAGE_SIZE
    return {
        "query": query,
        "rows": [dict(row) for row in found[start : start + PAGE_SIZE]],
        "total": len(found),
        "page": page,
        "pages": pages,
        "has_prev": page > 1,
        "has_next": page < pages,
    }
