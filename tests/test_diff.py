"""The string diff: exact ops on literal cases, and a property over arbitrary Unicode."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from live import diff

# Text with astral characters (emoji), combining marks and HTML-ish pieces.
ALPHABET = st.sampled_from(
    [*"ab <>/=\"'\n", "é", "e\u0301", "😀", "👩‍👩‍👧", "\U0001d518", "\x00", "<td>", "</tr>", "ß"]
)
TEXT = st.lists(ALPHABET, max_size=60).map("".join)


@given(TEXT, TEXT)
@settings(max_examples=500)
def test_applying_ops_to_old_gives_new(old: str, new: str) -> None:
    assert diff.apply(old, diff.diff(old, new)) == new


@given(TEXT, st.lists(st.tuples(st.integers(0, 60), TEXT), max_size=4))
@settings(max_examples=300)
def test_scattered_edits_round_trip(base: str, edits: list[tuple[int, str]]) -> None:
    new = base
    for position, text in edits:
        new = new[:position] + text + new[position:]
    assert diff.apply(base, diff.diff(base, new)) == new


def test_ops_count_utf16_code_units() -> None:
    # "😀" is one Python character but two UTF-16 code units.
    assert diff.diff("😀a", "😀b") == [[2, 1, "b"]]
    assert diff.utf16_len("😀") == 2


def test_equal_strings_give_no_ops() -> None:
    assert diff.diff("<p>x</p>", "<p>x</p>") == []


@pytest.mark.parametrize(
    ("old", "new", "ops"),
    [
        pytest.param("<b>1</b>", "<b>2</b>", [[3, 1, "2"]], id="one-char"),
        pytest.param("", "<p>x</p>", [[0, 0, "<p>x</p>"]], id="from-empty"),
        pytest.param("<p>x</p>", "", [[0, 8, ""]], id="to-empty"),
    ],
)
def test_literal_ops(old: str, new: str, ops: list[list[object]]) -> None:
    assert diff.diff(old, new) == ops


def test_two_distant_changes_become_two_small_ops() -> None:
    rows = "".join(f"<tr><td>row {i}</td><td>active</td></tr>" for i in range(25))
    old = f"<span>25 people</span><table>{rows}</table><span>page 1</span>"
    new = old.replace("25 people", "24 people").replace("page 1", "page 2")
    ops = diff.diff(old, new)
    assert len(ops) == 2
    assert sum(len(inserted) for _, _, inserted in ops) <= 4
    assert diff.apply(old, ops) == new


# Lines of HTML-ish text: each path of the diff (lines in place, few or many changed;
# lines added or removed) is reached by some examples.
LINE = st.lists(ALPHABET, max_size=12).map(lambda pieces: "".join(pieces) + "\n")
LINES = st.lists(LINE, max_size=40).map("".join)


@given(LINES, LINES)
@settings(max_examples=300)
def test_multiline_round_trip(old: str, new: str) -> None:
    assert diff.apply(old, diff.diff(old, new)) == new


@given(st.lists(LINE, min_size=1, max_size=60), st.data())
@settings(max_examples=300)
def test_lines_changed_in_place_round_trip(lines: list[str], data: st.DataObject) -> None:
    changed = [data.draw(LINE) if data.draw(st.booleans()) else line for line in lines]
    old, new = "".join(lines), "".join(changed)
    assert diff.apply(old, diff.diff(old, new)) == new


@given(TEXT, TEXT)
def test_common_ends(a: str, b: str) -> None:
    prefix, suffix = diff.common_ends(a, b)
    assert a[:prefix] == b[:prefix]
    assert prefix + suffix <= min(len(a), len(b))
    assert a[len(a) - suffix :] == b[len(b) - suffix :]
    rest_a, rest_b = a[prefix : len(a) - suffix], b[prefix : len(b) - suffix]
    if rest_a and rest_b:
        assert rest_a[0] != rest_b[0]
        assert rest_a[-1] != rest_b[-1]


def _table(names: list[str]) -> str:
    rows = "".join(
        f'  <tr id="u-{name}">\n    <td>{name}</td>\n    <td>{name}@example.com</td>\n  </tr>\n'
        for name in names
    )
    return f"<table>\n{rows}</table>\n"


def test_many_changed_lines_keep_unchanged_lines_and_common_ends() -> None:
    # A new page of search results: every row's lines changed, one op per run of them.
    old = _table([f"ada{i:02}" for i in range(30)])
    new = _table([f"bob{i:02}" for i in range(30)])
    ops = diff.diff(old, new)
    assert diff.apply(old, ops) == new
    assert ops[:2] == [
        [20, 38, 'bob00">\n    <td>bob00</td>\n    <td>bob'],
        [98, 38, 'bob01">\n    <td>bob01</td>\n    <td>bob'],
    ]
    assert len(ops) == 30


def test_rows_moved_down_are_one_insert_and_one_delete() -> None:
    # Same number of lines, all shifted by one row: matched, not compared in place.
    names = [hashlib.sha256(str(i).encode()).hexdigest()[:12] for i in range(30)]
    old, new = _table(names), _table(["newcomer", *names[:-1]])
    ops = diff.diff(old, new)
    assert diff.apply(old, ops) == new
    assert ops == [
        [
            20,
            0,
            'newcomer">\n    <td>newcomer</td>\n    <td>newcomer@example.com</td>\n'
            '  </tr>\n  <tr id="u-',
        ],
        [2853, 99, ""],
    ]


def test_one_long_line_is_compared_tag_by_tag() -> None:
    cells = "".join(f"<td>{i}</td>" for i in range(200))
    old = f"<tr>{cells}</tr>"
    new = old.replace("<td>5</td>", "<td>6</td>").replace("<td>150</td>", "<td>151</td>")
    assert diff.diff(old, new) == [
        [old.index("<td>5<") + 4, 1, "6"],
        [old.index("<td>150<") + 6, 1, "1"],
    ]


def test_few_old_lines_among_many_new_ones_are_kept() -> None:
    # An empty result ("no match") replaced by a page of rows: the lines around stay.
    old = "<table>\n<tr><td>No user matches.</td></tr>\n</table>\n<nav>1 of 1</nav>\n"
    rows = "".join(f"<tr><td>user {i}</td></tr>\n" for i in range(60))
    new = f"<table>\n{rows}</table>\n<nav>1 of 2</nav>\n"
    ops = diff.diff(old, new)
    assert diff.apply(old, ops) == new
    start = len("<table>\n<tr><td>")
    assert ops == [
        [start, len("No user matches."), rows[start - 8 : -len("</td></tr>\n")]],
        [62, 1, "2"],
    ]
    assert diff.apply(new, diff.diff(new, old)) == old
