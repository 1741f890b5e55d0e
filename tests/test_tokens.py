"""Signed tokens: round trip, tampering, expiry, outdated format, binding."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from live import exceptions, tokens

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=10), JSON, max_size=4), st.integers(0, 10**6))
def test_round_trip(params: dict[str, Any], version: int) -> None:
    bound = tokens.binding(1, "sess")
    token = tokens.sign(
        name="n", component_id="lv1", params=params, version=version, bound_to=bound
    )
    data = tokens.verify(token, bound_to=bound)
    assert (data.name, data.component_id, data.params, data.version) == (
        "n",
        "lv1",
        params,
        version,
    )


@given(st.integers(0, 200), st.characters(codec="ascii"))
def test_any_tampering_is_invalid(position: int, replacement: str) -> None:
    bound = tokens.binding(None, None)
    token = tokens.sign(name="n", component_id="lv1", params={"a": 1}, version=1, bound_to=bound)
    position %= len(token)
    forged = token[:position] + replacement + token[position + 1 :]
    if forged == token:
        return
    with pytest.raises(exceptions.TokenError):
        tokens.verify(forged, bound_to=bound)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        pytest.param(None, "Missing or malformed component token", id="none"),
        pytest.param(42, "Missing or malformed component token", id="int"),
        pytest.param("", "Missing or malformed component token", id="empty"),
        pytest.param("x" * 9000, "Missing or malformed component token", id="huge"),
        pytest.param("abc:def", "Invalid component token", id="garbage"),
    ],
)
def test_malformed_tokens(token: object, message: str) -> None:
    with pytest.raises(exceptions.InvalidToken) as info:
        tokens.verify(token, bound_to=tokens.binding(None, None))
    assert info.value.message == message


def test_expired_outdated_and_rebound_are_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    bound = tokens.binding(7, "s")
    token = tokens.sign(name="n", component_id="lv1", params={}, version=1, bound_to=bound)
    with pytest.raises(exceptions.ExpiredToken):
        tokens.verify(token, bound_to=bound, max_age=-1)
    with pytest.raises(exceptions.InvalidToken) as info:
        tokens.verify(token, bound_to=tokens.binding(8, "s"))
    assert info.value.message == "Component token belongs to another session"
    monkeypatch.setattr(tokens, "TOKEN_FORMAT", tokens.TOKEN_FORMAT + 1)
    with pytest.raises(exceptions.OutdatedToken):
        tokens.verify(token, bound_to=bound)


def test_binding_depends_on_user_and_session() -> None:
    assert tokens.binding(1, "a") != tokens.binding(1, "b")
    assert tokens.binding(1, "a") != tokens.binding(2, "a")
    assert tokens.binding(None, None) == tokens.binding(None, None)
