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
# Coarse units for the first pass: everything up to and including a run of closing tags.
_CHUNK = re.compile(r".*?(?:</[^>]*>\s*)+|.+", re.DOTALL)
# Below this many characters of changed middle, one op is already small.
_SMALL = 48
# Above this many token pairs in one replaced block, a token diff costs more than it saves.
_MAX_TOKEN_PAIRS = 40_000


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
    """Return changed ``(a_start, a_end, b_start, b_end)`` spans between ``a`` and ``b``.

    Chunks first (text up to a run of closing tags): a render has a few hundred
    mostly distinct chunks, so the matcher stays fast where it would crawl over
    thousands of repeated tokens; each replaced run of chunks is then refined by
    tokens when it is small enough for that to be cheap.
    """
    if len(a) + len(b) <= _SMALL:
        return [(0, len(a), 0, len(b))]
    la = _CHUNK.findall(a)
    lb = _CHUNK.findall(b)
    pa = _positions(la)
    pb = _positions(lb)
    spans: list[tuple[int, int, int, int]] = []
    for tag, i1, i2, j1, j2 in _chunk_opcodes(la, lb):
        if tag == "equal":
            continue
        a0, a1, b0, b1 = pa[i1], pa[i2], pb[j1], pb[j2]
        if tag == "replace":
            for s0, s1, t0, t1 in _token_spans(a[a0:a1], b[b0:b1]):
                _add(spans, (a0 + s0, a0 + s1, b0 + t0, b0 + t1))
        else:
            _add(spans, (a0, a1, b0, b1))
    return spans


def _chunk_opcodes(la: list[str], lb: list[str]) -> list[tuple[str, int, int, int, int]]:
    """Return difflib opcodes between two chunk lists; position by position when equally long."""
    if len(la) != len(lb):
        return list(difflib.SequenceMatcher(None, la, lb, autojunk=False).get_opcodes())
    # Same shape (a toggle, a counter): changed chunks stay in place, no matching needed.
    codes = []
    start = None
    for i, (x, y) in enumerate(zip(la, lb, strict=True)):
        if x != y and start is None:
            start = i
        elif x == y and start is not None:
            codes.append(("replace", start, i, start, i))
            start = None
    if start is not None:
        codes.append(("replace", start, len(la), start, len(lb)))
    return codes


def _add(spans: list[tuple[int, int, int, int]], span: tuple[int, int, int, int]) -> None:
    # Merge spans separated by a short equal run: one op is cheaper.
    if spans and span[0] - spans[-1][1] <= 8:
        prev = spans[-1]
        spans[-1] = (prev[0], span[1], prev[2], span[3])
    else:
        spans.append(span)


def _token_spans(a: str, b: str) -> list[tuple[int, int, int, int]]:
    """Return the changed spans of one replaced block, by tokens when that is cheap."""
    prefix = common_prefix(a, b)
    suffix = common_suffix(a, b, min(len(a), len(b)) - prefix)
    a_end, b_end = len(a) - suffix, len(b) - suffix
    if a_end - prefix + b_end - prefix <= _SMALL:
        return [(prefix, a_end, prefix, b_end)]
    ta = _TOKEN.findall(a, prefix, a_end)
    tb = _TOKEN.findall(b, prefix, b_end)
    if len(ta) * len(tb) > _MAX_TOKEN_PAIRS:
        return [(prefix, a_end, prefix, b_end)]
    pa = [prefix + offset for offset in _positions(ta)]
    pb = [prefix + offset for offset in _positions(tb)]
    matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    spans: list[tuple[int, int, int, int]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            _add(spans, (pa[i1], pa[i2], pb[j1], pb[j2]))
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
