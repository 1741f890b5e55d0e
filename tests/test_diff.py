"""The string diff: exact ops on literal cases, and a property over arbitrary Unicode."""

from __future__ import annotations

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
