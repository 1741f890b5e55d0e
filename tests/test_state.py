"""The state store: snapshots round-trip, long HTML is kept and stored compressed."""

from __future__ import annotations

import zlib
from typing import Any

import pytest

import live
from live import state
from live.mounted import Mounted

LONG = "<ul>" + "".join(f"<li>row {i}</li>" for i in range(100)) + "</ul>"


@pytest.mark.parametrize(
    ("html", "packed_type"),
    [
        pytest.param("<p>short</p>", str, id="short-as-is"),
        pytest.param(LONG, bytes, id="long-compressed"),
        pytest.param("é😀" * 400, bytes, id="unicode"),
    ],
)
def test_pack_round_trips(html: str, packed_type: type) -> None:
    packed = state.pack(html)
    assert isinstance(packed, packed_type)
    assert state.unpack(packed) == html


def test_save_stores_compressed_html_and_load_returns_text() -> None:
    snapshot = state.Snapshot(name="x", params={"a": 1}, state_json="{}", version=3, html=LONG)
    state.save("lv0", snapshot)
    raw: Any = state.cache().get(state.KEY_PREFIX + "lv0")
    assert raw["html"] == zlib.compress(LONG.encode(), 1)
    assert state.load("lv0") == snapshot


def test_packed_snapshot_is_stored_as_is() -> None:
    packed = state.pack(LONG)
    state.save("lv0", state.Snapshot(name="x", params={}, state_json="{}", version=1, html=packed))
    loaded = state.load("lv0")
    assert loaded is not None
    assert loaded.html == LONG


class Rows(live.Component):
    name = "test_state_rows"
    renderer = live.MockRenderer(lambda ctx: "<ul>" + "<li>x</li>" * ctx["n"] + "</ul>")

    def mount(self) -> None:
        self.state = {"n": 100}

    def on_more(self) -> None:
        self.state["n"] += 1


def test_mounted_keeps_long_html_packed_and_saves_it() -> None:
    mounted = Mounted.mount(Rows, params={}, user=None, bound_to="b")
    assert isinstance(mounted._html, bytes)
    assert mounted.html == "<ul>" + "<li>x</li>" * 100 + "</ul>"
    frame = mounted.handle_event("more", {}, 1)
    # The common prefix runs into the closing tag: the new row is inserted one character on.
    assert frame["ops"] == [[1005, 0, "li>x</li><"]]
    loaded = state.load(mounted.component_id)
    assert loaded is not None
    assert loaded.html == mounted.html == "<ul>" + "<li>x</li>" * 101 + "</ul>"
    assert loaded.version == mounted.version == 2


def _snapshot(version: int) -> state.Snapshot:
    return state.Snapshot(name="x", params={}, state_json="{}", version=version, html="<p></p>")


async def test_deferred_saves_are_written_together_before_flushed_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writes: list[list[str]] = []
    store = state.cache()
    set_many = store.set_many

    def spy(records: dict[str, Any], timeout: Any = None) -> list[str]:
        writes.append(sorted(records))
        return set_many(records, timeout)

    monkeypatch.setattr(store, "set_many", spy)
    with state.deferred():
        state.save("lv1", _snapshot(1))
        state.save("lv2", _snapshot(2))
    assert state.load("lv1") is None
    await state.flushed()
    assert writes == [[state.KEY_PREFIX + "lv1", state.KEY_PREFIX + "lv2"]]
    loaded = state.load("lv2")
    assert loaded is not None
    assert loaded.version == 2
    await state.flushed()  # Nothing queued: returns at once.
    assert len(writes) == 1


async def test_flushed_raises_when_the_write_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(records: dict[str, Any], timeout: Any = None) -> None:
        raise ConnectionError("cache down")

    monkeypatch.setattr(state.cache(), "set_many", fail)
    with state.deferred():
        state.save("lv1", _snapshot(1))
    with pytest.raises(ConnectionError, match="cache down"):
        await state.flushed()


def test_deferred_without_a_running_loop_writes_at_once() -> None:
    with state.deferred():
        state.save("lv1", _snapshot(1))
    assert state.load("lv1") == _snapshot(1)


def test_recently_changed_components_keep_text_until_others_change() -> None:
    first = Mounted.mount(Rows, params={}, user=None, bound_to="b")
    first.handle_event("more", {}, 1)
    assert first._text == first.html == state.unpack(first._html)
    others = [Mounted.mount(Rows, params={}, user=None, bound_to="b") for _ in range(64)]
    for other in others:
        other.handle_event("more", {}, 1)
    assert first._text is None
    assert first.html == "<ul>" + "<li>x</li>" * 101 + "</ul>"
    assert others[-1]._text == others[-1].html


def test_a_component_changing_often_keeps_its_text() -> None:
    busy = Mounted.mount(Rows, params={}, user=None, bound_to="b")
    others = [Mounted.mount(Rows, params={}, user=None, bound_to="b") for _ in range(20)]
    for ref in range(1, 6):
        busy.handle_event("more", {}, ref)
        for other in others:
            other.handle_event("more", {}, ref)
    assert busy._text == busy.html == "<ul>" + "<li>x</li>" * 105 + "</ul>"


def test_recent_texts_do_not_keep_components_alive() -> None:
    import gc
    import weakref

    mounted = Mounted.mount(Rows, params={}, user=None, bound_to="b")
    mounted.handle_event("more", {}, 1)
    ref = weakref.ref(mounted)
    del mounted
    gc.collect()
    assert ref() is None
