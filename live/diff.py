"""Internal: string diff between two renders of one component.

An op is ``[start, deleted, inserted]``: ``start`` and ``deleted`` count UTF-16
code units of the *old* string (as JavaScript indexes strings), ops are sorted
and never overlap, so a client applies them from last to first.

The work is bounded and close to linear, since a render is mostly the same
template around different data. When the number of lines is unchanged, lines
are compared in place: a few changed lines are each trimmed to their changed
middle, many (a new page of results) become one op per run of them, trimmed at
its ends. When lines were added or removed, they are matched: through a line
index when one side has few lines, with ``difflib`` otherwise and only up to a
size where that stays cheap.
"""

from __future__ import annotations

import bisect
import difflib
import re
from itertools import accumulate, compress
from operator import ne

from live.types import Op

Span = tuple[int, int, int, int]

# Runs of changed lines in a mask of one byte per line; runs this close are one.
_RUN_GAP = 24
_RUNS = re.compile(b"\x01+")
# Tokens for refining one long changed line: tags, and text runs split on whitespace.
_TOKEN = re.compile(r"<[^>]*>|[^<\s]+|\s+|<", re.DOTALL)
# Below this many characters of changed middle, one op is already small.
_SMALL = 48
# Spans closer than this are merged: an op's own overhead on the wire is about as long.
_GAP = 12
# Up to this many changed lines, each is trimmed to its changed middle.
_FINE_LINES = 24
# Lines added or removed and at most this many new characters: one op.
_FEW_CHARS = 1024
# Above this many line pairs, matching lines with difflib costs more than it saves.
_MAX_LINE_PAIRS = 40_000
# Above this many token pairs in one changed line, a token diff costs more than it saves.
_MAX_TOKEN_PAIRS = 2_500


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


def common_ends(a: str, b: str) -> tuple[int, int]:
    """Return the lengths of the common prefix and of the common suffix after it."""
    if a.isascii() and b.isascii():
        # One byte per character: the highest differing bit of the XOR of the two
        # strings read as integers finds the first (big-endian) or last
        # (little-endian) differing byte in one C pass.
        x, y = a.encode(), b.encode()
        n = min(len(x), len(y))
        head = int.from_bytes(x[:n], "big") ^ int.from_bytes(y[:n], "big")
        prefix = n - (head.bit_length() + 7) // 8
        n -= prefix
        tail = int.from_bytes(x[len(x) - n :], "little") ^ int.from_bytes(y[len(y) - n :], "little")
        return prefix, n - (tail.bit_length() + 7) // 8
    prefix = common_prefix(a, b)
    return prefix, common_suffix(a, b, min(len(a), len(b)) - prefix)


def _head(a: str, b: str) -> int:
    """Return the length of the common prefix of ``a`` and ``b`` (see ``common_ends``)."""
    n = min(len(a), len(b))
    x, y = a[:n], b[:n]
    if x.isascii() and y.isascii():
        head = int.from_bytes(x.encode(), "big") ^ int.from_bytes(y.encode(), "big")
        return n - (head.bit_length() + 7) // 8
    return common_prefix(a, b)


def _tail(a: str, b: str) -> int:
    """Return the length of the common suffix of ``a`` and ``b`` (see ``common_ends``)."""
    n = min(len(a), len(b))
    x, y = a[len(a) - n :], b[len(b) - n :]
    if x.isascii() and y.isascii():
        tail = int.from_bytes(x.encode(), "little") ^ int.from_bytes(y.encode(), "little")
        return n - (tail.bit_length() + 7) // 8
    return common_suffix(a, b, n)


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
    ops: list[Op] = []
    if old.isascii():
        for a_start, a_end, b_start, b_end in _middle_spans(a_mid, b_mid):
            ops.append([prefix + a_start, a_end - a_start, b_mid[b_start:b_end]])
        return ops
    # Offsets in UTF-16 code units, counted once from left to right.
    offset = utf16_len(old[:prefix])
    counted = 0
    for a_start, a_end, b_start, b_end in _middle_spans(a_mid, b_mid):
        offset += utf16_len(a_mid[counted:a_start])
        deleted = utf16_len(a_mid[a_start:a_end])
        ops.append([offset, deleted, b_mid[b_start:b_end]])
        offset += deleted
        counted = a_end
    return ops


def _middle_spans(a: str, b: str) -> list[Span]:
    """Return changed ``(a_start, a_end, b_start, b_end)`` spans between ``a`` and ``b``."""
    if len(a) + len(b) <= _SMALL or not a or not b:
        return [(0, len(a), 0, len(b))]
    la = a.splitlines(keepends=True)
    lb = b.splitlines(keepends=True)
    if len(la) != len(lb):
        return _matched_spans(a, b, la, lb)
    # Same shape (a toggle, a new page of search results): lines stay in place.
    # One byte per line, 1 where it changed, so runs of changed lines are found in C.
    mask = bytes(map(ne, la, lb))
    pa = list(accumulate(map(len, la), initial=0))
    pb = list(accumulate(map(len, lb), initial=0))
    spans: list[Span] = []
    if mask.count(1) <= _FINE_LINES:
        for k in compress(range(len(la)), mask):
            _refine_line(a, b, la[k], lb[k], pa[k], pb[k], spans)
        return spans
    spans = _line_runs(la, lb, pa, pb, mask, _RUN_GAP)
    if _inserted(spans) * 4 <= len(b) * 3:
        return spans
    # Joined runs left most of it in: each run on its own, then maybe matched lines.
    spans = min(spans, _line_runs(la, lb, pa, pb, mask, 0), key=_inserted)
    if _inserted(spans) * 2 <= len(b) or len(la) * len(lb) > _MAX_LINE_PAIRS:
        return spans
    # Most of it changed: maybe lines moved (an entry added on top, the last one dropped).
    matched = _matched_spans(a, b, la, lb)
    return matched if _inserted(matched) < _inserted(spans) else spans


def _matched_spans(a: str, b: str, la: list[str], lb: list[str]) -> list[Span]:
    """Return the spans between ``a`` and ``b`` with lines matched by ``difflib``, if cheap."""
    if len(la) * len(lb) > _MAX_LINE_PAIRS or len(b) <= _FEW_CHARS:
        # Few new characters: matching could save at most those (difflib's work grows
        # with the old lines; with few old lines and many new ones it stays cheap).
        return [(0, len(a), 0, len(b))]
    spans: list[Span] = []
    pa = list(accumulate(map(len, la), initial=0))
    pb = list(accumulate(map(len, lb), initial=0))
    for _, i1, i2, j1, j2 in _line_opcodes(la, lb):
        if i2 - i1 == j2 - j1 and i2 - i1 <= _FINE_LINES:
            _pair_lines(a, b, la[i1:i2], lb[j1:j2], pa[i1], pb[j1], spans)
        else:
            _refine(a, b, pa[i1], pa[i2], pb[j1], pb[j2], spans)
    return spans


def _line_opcodes(la: list[str], lb: list[str]) -> list[tuple[str, int, int, int, int]]:
    """Return opcodes (as ``difflib``'s, without ``equal``) from lines ``la`` to ``lb``.

    With few lines on one side, each of them is matched in order to the next
    equal line of the other side: a line index, no quadratic search.
    """
    if min(len(la), len(lb)) > _FINE_LINES:
        matcher = difflib.SequenceMatcher(None, la, lb, autojunk=False)
        return [code for code in matcher.get_opcodes() if code[0] != "equal"]
    short, long = (la, lb) if len(la) <= len(lb) else (lb, la)
    where: dict[str, list[int]] = {}
    for index, line in enumerate(long):
        where.setdefault(line, []).append(index)
    pairs = []
    after = -1
    for index, line in enumerate(short):
        found = where.get(line)
        if found:
            at = bisect.bisect_right(found, after)
            if at < len(found):
                after = found[at]
                pairs.append((index, after) if short is la else (after, index))
    codes = []
    i = j = 0
    for i1, j1 in [*pairs, (len(la), len(lb))]:
        if i < i1 or j < j1:
            tag = "replace" if i < i1 and j < j1 else ("delete" if i < i1 else "insert")
            codes.append((tag, i, i1, j, j1))
        i, j = i1 + 1, j1 + 1
    return codes


def _line_runs(
    la: list[str], lb: list[str], pa: list[int], pb: list[int], mask: bytes, gap: int
) -> list[Span]:
    """Return one span per run of changed lines (1 in ``mask``), less the run's common ends.

    Used when many lines changed (new search results): a few operations per
    run, where trimming every line on its own would cost several per line.
    Runs at most ``gap`` characters apart are one (a closing tag between two
    rows), and the common ends are looked for in the first and last lines of
    a run only.
    """
    spans: list[Span] = []
    runs = [run.span() for run in _RUNS.finditer(mask)]
    runs.append((len(mask) + 1, 0))  # Ends the last run.
    first, end = runs[0]
    for start, stop in runs[1:]:
        if start <= len(mask) and pa[start] - pa[end] <= gap:
            end = stop
            continue
        x, y = la[first], lb[first]
        if end - first == 1:
            prefix, suffix = common_ends(x, y)
        else:
            prefix = _head(x, y)
            suffix = _tail(la[end - 1], lb[end - 1])
        _add(spans, (pa[first] + prefix, pa[end] - suffix, pb[first] + prefix, pb[end] - suffix))
        first, end = start, stop
    return spans


def _inserted(spans: list[Span]) -> int:
    return sum(b1 - b0 for _, _, b0, b1 in spans)


def _pair_lines(
    a: str, b: str, la: list[str], lb: list[str], a_pos: int, b_pos: int, spans: list[Span]
) -> None:
    """Add the spans between equally many lines, each compared with the one in its place."""
    for x, y in zip(la, lb, strict=True):
        if x != y:
            _refine_line(a, b, x, y, a_pos, b_pos, spans)
        a_pos += len(x)
        b_pos += len(y)


def _refine_line(a: str, b: str, x: str, y: str, a_pos: int, b_pos: int, spans: list[Span]) -> None:
    """Add the spans of line ``x`` (at ``a_pos``) changed into line ``y`` (at ``b_pos``)."""
    if len(x) + len(y) <= 4 * _SMALL:
        _trim(x, y, a_pos, b_pos, spans)
    else:
        _refine(a, b, a_pos, a_pos + len(x), b_pos, b_pos + len(y), spans)


def _refine(a: str, b: str, a0: int, a1: int, b0: int, b1: int, spans: list[Span]) -> None:
    """Add the changed spans of ``a[a0:a1]`` against ``b[b0:b1]``: their middle, finer if long."""
    x, y = a[a0:a1], b[b0:b1]
    prefix = common_prefix(x, y)
    suffix = common_suffix(x, y, min(len(x), len(y)) - prefix)
    x_end, y_end = len(x) - suffix, len(y) - suffix
    if x_end - prefix + y_end - prefix <= 4 * _SMALL or prefix in (x_end, y_end):
        _add(spans, (a0 + prefix, a0 + x_end, b0 + prefix, b0 + y_end))
        return
    if min(x_end, y_end) - prefix < (max(x_end, y_end) - prefix) // 8:
        # One side is far smaller: finer work would save at most its few characters.
        _add(spans, (a0 + prefix, a0 + x_end, b0 + prefix, b0 + y_end))
        return
    a0, b0 = a0 + prefix, b0 + prefix
    x, y = x[prefix:x_end], y[prefix:y_end]
    # A long line (minified HTML): compare tag by tag in place when the shape is the same.
    tx, ty = _split_tags(x), _split_tags(y)
    if len(tx) == len(ty) and len(tx) > 1:
        for u, v in zip(tx, ty, strict=True):
            if u != v:
                _trim(u, v, a0, b0, spans)
            a0 += len(u)
            b0 += len(v)
        return
    tx = _TOKEN.findall(x)
    ty = _TOKEN.findall(y)
    if len(tx) * len(ty) > _MAX_TOKEN_PAIRS:
        _add(spans, (a0, a0 + len(x), b0, b0 + len(y)))
        return
    px = [a0 + offset for offset in _positions(tx)]
    py = [b0 + offset for offset in _positions(ty)]
    matcher = difflib.SequenceMatcher(None, tx, ty, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            _add(spans, (px[i1], px[i2], py[j1], py[j2]))


def _trim(x: str, y: str, a0: int, b0: int, spans: list[Span]) -> None:
    """Add the span between ``x`` (at ``a0``) and ``y`` (at ``b0``) less their common ends."""
    prefix, suffix = common_ends(x, y)
    _add(spans, (a0 + prefix, a0 + len(x) - suffix, b0 + prefix, b0 + len(y) - suffix))


def _split_tags(text: str) -> list[str]:
    """Split ``text`` after each ``>``; the pieces join back to ``text``."""
    pieces = text.split(">")
    last = pieces.pop()
    pieces = [piece + ">" for piece in pieces]
    if last:
        pieces.append(last)
    return pieces


def _add(spans: list[Span], span: Span) -> None:
    # Merge spans separated by a short equal run: one op is cheaper.
    if spans and span[0] - spans[-1][1] <= _GAP:
        prev = spans[-1]
        spans[-1] = (prev[0], span[1], prev[2], span[3])
    else:
        spans.append(span)


def _positions(pieces: list[str]) -> list[int]:
    positions = [0]
    total = 0
    for piece in pieces:
        total += len(piece)
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
