"""Internal: string diff between two renders of one component.

An op is ``[start, deleted, inserted]``: ``start`` and ``deleted`` count UTF-16
code units of the *old* string (as JavaScript indexes strings), ops are sorted
and never overlap, so a client applies them from last to first.
"""

from __future__ import annotations

import difflib
import re

from live.types import Op

# Tokens for the middle diff: tags, and text runs split on whitespace.
_TOKEN = re.compile(r"<[^>]*>|[^<\s]+|\s+|<", re.DOTALL)
# Below this many characters of changed middle, one op is already small.
_SMALL = 48
# Above this many tokens, a token diff costs more than it saves.
_MAX_TOKENS = 4000


def common_prefix(a: str, b: str) -> int:
    """Return the length of the longest common prefix of ``a`` and ``b``."""
    lo, hi = 0, min(len(a), len(b))
    # Binary search with slice comparisons runs at memcmp speed.
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def common_suffix(a: str, b: str, limit: int) -> int:
    """Return the length of the common suffix of ``a`` and ``b``, at most ``limit``."""
    lo, hi = 0, limit
    la, lb = len(a), len(b)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[la - mid : la - lo] == b[lb - mid : lb - lo]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def utf16_len(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def diff(old: str, new: str) -> list[Op]:
    """Return the ops that turn ``old`` into ``new`` (empty when equal)."""
    if old == new:
        return []
    prefix = common_prefix(old, new)
    suffix = common_suffix(old, new, min(len(old), len(new)) - prefix)
    a_mid = old[prefix : len(old) - suffix]
    b_mid = new[prefix : len(new) - suffix]
    spans = _middle_spans(a_mid, b_mid)
    ops: list[Op] = []
    ascii_old = old.isascii()
    for a_start, a_end, b_start, b_end in spans:
        start = prefix + a_start
        offset = start if ascii_old else utf16_len(old[:start])
        deleted = utf16_len(a_mid[a_start:a_end])
        ops.append([offset, deleted, b_mid[b_start:b_end]])
    return ops


def _middle_spans(a: str, b: str) -> list[tuple[int, int, int, int]]:
    """Return changed ``(a_start, a_end, b_start, b_end)`` spans between ``a`` and ``b``."""
    if len(a) + len(b) <= _SMALL:
        return [(0, len(a), 0, len(b))]
    ta = _TOKEN.findall(a)
    tb = _TOKEN.findall(b)
    if len(ta) + len(tb) > _MAX_TOKENS:
        return [(0, len(a), 0, len(b))]
    # Character offsets of each token, plus the end.
    pa = _positions(ta)
    pb = _positions(tb)
    matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    spans: list[tuple[int, int, int, int]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        span = (pa[i1], pa[i2], pb[j1], pb[j2])
        # Merge spans separated by a short equal run: one op is cheaper.
        if spans and span[0] - spans[-1][1] <= 8:
            prev = spans[-1]
            spans[-1] = (prev[0], span[1], prev[2], span[3])
        else:
            spans.append(span)
    return spans


def _positions(tokens: list[str]) -> list[int]:
    positions = [0]
    total = 0
    for token in tokens:
        total += len(token)
        positions.append(total)
    return positions


def apply(old: str, ops: list[Op]) -> str:
    """Apply ``ops`` to ``old`` the way ``live.js`` does, in UTF-16 code units."""
    units = old.encode("utf-16-le")
    for start, deleted, inserted in reversed(ops):
        units = units[: start * 2] + inserted.encode("utf-16-le") + units[(start + deleted) * 2 :]
    return units.decode("utf-16-le")


def ops_size(ops: list[Op]) -> int:
    """Return a cheap estimate of the encoded size of ``ops``, in characters."""
    return sum(len(inserted) + 16 for _, _, inserted in ops)
