"""Hostile clients: fuzzed and malformed frames, stolen and replayed tokens, floods.

Everything goes through the project's real ``asgi.application`` (origin check,
sessions, auth), a real daphne, or the HTTP fallback. Every refused frame must
get an ``error`` frame with a documented code, change nothing, and leave the
socket serving the other components on it. Foreign origins are in
``test_hijacking.py``, the apps' own handlers in ``test_hostile_apps.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as examples
from hypothesis import strategies as st

import live
from live import protocol, registry, tokens
from live.testing import LiveClient, LiveView
from live.types import Frame
from tests.conftest import Server

pytestmark = pytest.mark.django_db(transaction=True)

NAME = "t_hostile"
AVAILABLE = "Available events: increment."
NOT_JOINED = "Component is not joined on this connection; join it first"
LIMIT = 65536


class Counter(live.Component):
    renderer = live.MockRenderer(lambda ctx: f"<p>count={ctx['count']}</p><p>tail</p>")

    def mount(self) -> None:
        self.state = {"count": int(self.params.get("start", 0))}

    def on_increment(self, by: int = 1) -> None:
        self.state["count"] += by

    @live.broadcast_only
    def on_bumped(self) -> None:
        self.state["count"] += 100

    def _reset(self) -> None:
        self.state["count"] = 0


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    live.register(NAME)(Counter)
    yield
    registry.unregister(NAME)


def html_of(count: int) -> str:
    return f"<p>count={count}</p><p>tail</p>"


def shown(value: object) -> str:
    """Return ``repr(value)`` as an error message shows it (cut to 60 characters)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def unknown_event(event: object) -> str:
    return f"Unknown event {shown(event)} for component {NAME!r}. {AVAILABLE}"


# Strategies ----------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
non_strings = json_values.filter(lambda value: not isinstance(value, str))
non_objects = json_values.filter(lambda value: not isinstance(value, dict))
#: Refs that are not integers (``None`` means "no ref" and is allowed).
bad_refs = json_values.filter(
    lambda value: value is not None and (not isinstance(value, int) or isinstance(value, bool))
)
#: Refs never used before: the event is not taken for a resend.
fresh_refs = st.none() | st.integers(min_value=10**15, max_value=2**53)
#: Names that are not events of the component: private, lifecycle, broadcast-only, noise.
bad_event_names = st.sampled_from(
    [
        "_reset",
        "_x",
        "__init__",
        "__class__",
        "__dict__",
        "__getattribute__",
        "mount",
        "render",
        "hydrate",
        "dispatch",
        "get_context_data",
        "check_permissions",
        "handle_event",
        "validate_event",
        "get_handler",
        "missed_broadcasts",
        "on_increment",
        "Increment",
        "increment ",
        "increment\n",
        "increment.__class__",
        "bumped",
        "os.system",
        "builtins.__import__",
        "django.contrib.auth.models.User",
        "x" * 70,
    ]
) | st.text(max_size=80).filter(lambda name: name != "increment")
#: Values an ``int`` argument must refuse: names of classes, text, containers, fractions.
bad_ints = (
    st.sampled_from(
        [
            "os.system",
            "builtins.int",
            "django.contrib.auth.models.User",
            "__import__('os')",
            "<class 'int'>",
            "1; DROP TABLE auth_user",
        ]
    )
    | st.text(min_size=1, max_size=20).map(lambda text: "x" + text)
    | st.lists(st.integers(), max_size=3)
    | st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)
    | st.none()
    | st.floats().filter(lambda number: not number.is_integer())
)
extra_names = st.sampled_from(
    ["__class__", "__init__", "self", "kwargs", "__builtins__", "by ", "By", "os.system"]
) | st.text(min_size=1, max_size=12).filter(lambda name: name != "by")


@dataclass
class Target:
    """What a hostile frame may aim at: the joined component and a foreign one."""

    id: str
    token: str
    foreign_id: str
    foreign_token: str


@dataclass
class Case:
    """One hostile frame and the error it must get (``message`` is ``None`` when not fixed)."""

    raw: str | bytes
    code: str
    message: str | None = None
    message_prefix: str = ""
    fields: set[str] | None = None
    #: Which strategy made it, for the statistics (``--hypothesis-show-statistics``).
    kind: str = ""


def event_frame(target: Target, **fields: Any) -> dict[str, Any]:
    return {"type": "event", "id": target.id, "event": "increment", "payload": {}, **fields}


def dump(frame: Any) -> str:
    return json.dumps(frame)


@st.composite
def not_json(draw: st.DrawFn, target: Target) -> Case:
    text = draw(
        st.text(max_size=120)
        | st.sampled_from([dump(event_frame(target)), dump({"type": "ping"})]).flatmap(
            lambda whole: st.integers(0, len(whole) - 1).map(lambda cut: whole[:cut])
        )
    )
    try:
        json.loads(text)
    except ValueError:
        return Case(text, "bad_frame", "Frame is not valid JSON")
    return draw(non_object(target))


@st.composite
def not_utf8(draw: st.DrawFn, target: Target) -> Case:
    raw = draw(st.binary(min_size=1, max_size=60).map(lambda data: b"\xff" + data))
    return Case(raw, "bad_frame", "Frame is not valid JSON")


@st.composite
def non_object(draw: st.DrawFn, target: Target) -> Case:
    value = draw(non_objects)
    return Case(dump(value), "bad_frame", "Frame must be a JSON object")


@st.composite
def unknown_type(draw: st.DrawFn, target: Target) -> Case:
    kind = draw(json_values.filter(lambda value: value not in protocol.CLIENT_TYPES))
    extra = draw(st.dictionaries(st.sampled_from(["id", "token", "event", "payload"]), json_values))
    frame = {**extra, "type": kind}
    valid = ", ".join(protocol.CLIENT_TYPES)
    message = f"Unknown frame type {str(kind)[:40]!r}; expected one of: {valid}"
    return Case(dump(frame), "bad_frame", message)


@st.composite
def not_joined(draw: st.DrawFn, target: Target) -> Case:
    kind = draw(st.sampled_from(["event", "resync", "leave"]))
    component_id = draw(
        non_strings
        | st.just(target.foreign_id)
        | st.text(max_size=80).filter(lambda text: text != target.id)
    )
    frame = draw(st.sampled_from([{}, event_frame(target)]))
    frame = {**frame, "type": kind, "id": component_id}
    if draw(st.booleans()):
        del frame["id"]
    return Case(dump(frame), "not_joined", NOT_JOINED)


@st.composite
def bad_ref(draw: st.DrawFn, target: Target) -> Case:
    frame = event_frame(
        target, ref=draw(bad_refs), event=draw(json_values), payload=draw(json_values)
    )
    return Case(dump(frame), "bad_frame", "Event ref must be an integer")


@st.composite
def bad_payload(draw: st.DrawFn, target: Target) -> Case:
    frame = event_frame(target, ref=draw(fresh_refs), payload=draw(non_objects))
    return Case(dump(frame), "bad_frame", "Event payload must be an object")


@st.composite
def bad_event(draw: st.DrawFn, target: Target) -> Case:
    event = draw(bad_event_names | non_strings)
    frame = event_frame(target, ref=draw(fresh_refs), event=event)
    if event is None and draw(st.booleans()):
        del frame["event"]
    return Case(dump(frame), "unknown_event", unknown_event(event))


@st.composite
def bad_arguments(draw: st.DrawFn, target: Target) -> Case:
    payload: dict[str, Any] = {}
    if draw(st.booleans()):
        payload["by"] = draw(bad_ints)
    extra = draw(st.lists(extra_names, min_size=0 if payload else 1, max_size=2, unique=True))
    payload.update(dict.fromkeys(extra, draw(json_values)))
    frame = event_frame(target, ref=draw(fresh_refs), payload=payload)
    if list(payload) == ["by"]:
        return Case(
            dump(frame),
            "invalid_args",
            message_prefix="Invalid arguments for 'increment': by: ",
            fields={"by"},
        )
    if "by" not in payload and len(extra) == 1:
        message = f"Invalid arguments for 'increment': {extra[0]}: Unexpected argument"
        return Case(dump(frame), "invalid_args", message, fields=set(extra))
    return Case(
        dump(frame),
        "invalid_args",
        message_prefix="Invalid arguments for 'increment': ",
        fields=set(payload),
    )


@st.composite
def bad_token(draw: st.DrawFn, target: Target) -> Case:
    claimed = draw(st.just(target.id) | json_values)
    choice = draw(st.sampled_from(["malformed", "noise", "tampered", "foreign"]))
    if choice == "malformed":
        token = draw(non_strings | st.just("") | st.just("t" * 8193))
        message = "Missing or malformed component token"
    elif choice == "noise":
        token = draw(st.text(min_size=1, max_size=200))
        message = "Invalid component token"
    elif choice == "tampered":
        # Drawn independently of the token, whose length varies from one example to the next.
        position = draw(st.integers(0, 10_000)) % len(target.token)
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:."
        index = draw(st.integers(0, len(alphabet) - 1))
        if alphabet[index] == target.token[position]:
            index = (index + 1) % len(alphabet)
        token = target.token[:position] + alphabet[index] + target.token[position + 1 :]
        message = "Invalid component token"
    else:
        token = target.foreign_token
        message = "Component token belongs to another session"
    frame = {"type": "join", "id": claimed, "token": token, "v": draw(json_values)}
    return Case(dump(frame), "token_invalid", message)


@st.composite
def too_large(draw: st.DrawFn, target: Target) -> Case:
    filler = draw(st.sampled_from(["x", "é", "\u20ac", "\U0001f600"]))
    count = draw(st.integers(LIMIT // len(filler.encode()) + 1, LIMIT + 200))
    frame = json.dumps(event_frame(target, payload={"by": filler * count}), ensure_ascii=False)
    size = len(frame.encode())
    raw: str | bytes = frame.encode() if draw(st.booleans()) else frame
    return Case(raw, "too_large", f"Frame of {size} bytes is over the limit of {LIMIT}")


@st.composite
def too_deep(draw: st.DrawFn, target: Target) -> Case:
    depth = draw(st.integers(31, 3000))
    nested = "[" * depth + "]" * depth
    where = draw(st.sampled_from(["payload", "ref", "event", "id"]))
    if where == "payload":
        raw = f'{{"type": "event", "id": "{target.id}", "payload": {{"by": {nested}}}}}'
    else:
        raw = f'{{"type": "event", "id": "{target.id}", "{where}": [{nested}]}}'
    return Case(raw, "bad_frame", "Frame is nested too deeply")


CASES = [
    not_json,
    not_utf8,
    non_object,
    unknown_type,
    not_joined,
    bad_ref,
    bad_payload,
    bad_event,
    bad_arguments,
    bad_token,
    too_large,
    too_deep,
]


def hostile_cases(target: Target) -> st.SearchStrategy[Case]:
    return st.one_of([case(target).map(partial(replace, kind=case.__name__)) for case in CASES])


async def send_raw(client: LiveClient, raw: str | bytes) -> None:
    """Send one text or binary frame as is (``send_to`` cannot send an empty one)."""
    assert client.communicator is not None
    key = "bytes" if isinstance(raw, bytes) else "text"
    await client.communicator.send_input({"type": "websocket.receive", key: raw})


def check_error(reply: dict[str, Any], case: Case) -> None:
    assert reply["type"] == "error", reply
    assert reply["code"] in protocol.ERROR_CODES
    assert reply["code"] == case.code, (reply, case)
    if case.message is not None:
        assert reply["message"] == case.message
    assert reply["message"].startswith(case.message_prefix)
    if case.fields is not None:
        assert set(reply["fields"]) == case.fields
    assert protocol.KEY_HTML not in reply
    assert protocol.KEY_TOKEN not in reply


async def check_unharmed(client: LiveClient, target: LiveView, bystander: LiveView) -> None:
    """The bystander still answers, and the target kept its HTML, version and handlers."""
    frame = await bystander.event("increment", by=2)
    assert frame == {
        "type": "diff",
        "id": bystander.id,
        "v": 2,
        "ref": frame["ref"],
        "ops": [[10, 1, "2"]],
    }
    assert bystander.html == html_of(12)
    full = await target.resync()
    assert (full["type"], full["v"], full["html"]) == ("full", 2, html_of(1))
    frame = await target.event("increment")
    assert (frame["type"], frame["v"]) == ("diff", 3)
    assert target.html == html_of(2)


def aim_at(target: LiveView) -> Target:
    return Target(
        id=target.id,
        token=target.token,
        foreign_id="lv" + "0123456789abcdef",
        foreign_token=tokens.sign(
            name=NAME,
            component_id=target.id,
            params={},
            version=1,
            bound_to=tokens.binding(1, "another-session"),
        ),
    )


@examples(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_fuzzed_frames_get_documented_errors_and_change_nothing(
    data: st.DataObject,
) -> None:
    async with LiveClient() as client:
        target = await client.mount(NAME)
        bystander = await client.mount(NAME, start=10)
        await target.event("increment")
        case = data.draw(hostile_cases(aim_at(target)), label="case")
        event(f"{case.kind}: {case.code}")
        await send_raw(client, case.raw)
        reply = await client.receive()
        check_error(reply, case)
        await check_unharmed(client, target, bystander)


@examples(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_hostile_frames_interleaved_with_clicks_never_change_the_counts(
    data: st.DataObject,
) -> None:
    async with LiveClient() as client:
        views = {"target": await client.mount(NAME), "bystander": await client.mount(NAME)}
        counts = dict.fromkeys(views, 0)
        steps = data.draw(
            st.lists(
                hostile_cases(aim_at(views["target"])) | st.sampled_from(list(views)), max_size=8
            ),
            label="steps",
        )
        for step in steps:
            if isinstance(step, Case):
                await send_raw(client, step.raw)
                check_error(await client.receive(), step)
                continue
            frame = await views[step].event("increment")
            counts[step] += 1
            assert (frame["type"], frame["v"]) == ("diff", counts[step] + 1)
            assert views[step].html == html_of(counts[step])
        for name, view in views.items():
            full = await view.resync()
            assert (full["v"], full["html"]) == (counts[name] + 1, html_of(counts[name]))


# The corpus: one case of each kind, with the exact answer ---------------------------------


async def mounted_pair(client: LiveClient) -> tuple[LiveView, LiveView]:
    target = await client.mount(NAME)
    bystander = await client.mount(NAME, start=10)
    await target.event("increment")
    return target, bystander


@pytest.mark.parametrize(
    ("frame", "answer"),
    [
        pytest.param(
            {"type": "event", "event": "increment", "payload": {"by": "os.system"}},
            {
                "code": "invalid_args",
                "message": "Invalid arguments for 'increment': by: Input should be a valid "
                "integer, unable to parse string as an integer",
                "fields": {
                    "by": "Input should be a valid integer, unable to parse string as an integer"
                },
            },
            id="dotted-path-as-int",
        ),
        pytest.param(
            {"type": "event", "event": "increment", "payload": {"__class__": "builtins.type"}},
            {
                "code": "invalid_args",
                "message": "Invalid arguments for 'increment': __class__: Unexpected argument",
                "fields": {"__class__": "Unexpected argument"},
            },
            id="dunder-argument",
        ),
        pytest.param(
            {"type": "event", "event": "increment", "payload": {"by": float("nan")}},
            {
                "code": "invalid_args",
                "message": "Invalid arguments for 'increment': by: Input should be a finite number",
                "fields": {"by": "Input should be a finite number"},
            },
            id="nan-argument",
        ),
        pytest.param(
            {"type": "event", "event": "__class__"},
            {"code": "unknown_event", "message": unknown_event("__class__")},
            id="dunder-event",
        ),
        pytest.param(
            {"type": "event", "event": "hydrate"},
            {"code": "unknown_event", "message": unknown_event("hydrate")},
            id="lifecycle-event",
        ),
        pytest.param(
            {"type": "event", "event": "bumped"},
            {"code": "unknown_event", "message": unknown_event("bumped")},
            id="broadcast-only-event",
        ),
        pytest.param(
            {"type": "event", "event": ["increment"]},
            {"code": "unknown_event", "message": unknown_event(["increment"])},
            id="event-as-list",
        ),
        pytest.param(
            {"type": "event", "event": "increment", "payload": None},
            {"code": "bad_frame", "message": "Event payload must be an object"},
            id="payload-null",
        ),
        pytest.param(
            {"type": "event", "event": "increment", "ref": "7"},
            {"code": "bad_frame", "message": "Event ref must be an integer"},
            id="ref-as-string",
        ),
        pytest.param(
            {"type": "event", "event": "increment", "ref": True},
            {"code": "bad_frame", "message": "Event ref must be an integer"},
            id="ref-as-boolean",
        ),
        pytest.param(
            {"type": "join", "token": None},
            {"code": "token_invalid", "message": "Missing or malformed component token"},
            id="token-null",
        ),
        pytest.param(
            {"type": "join", "token": 12345},
            {"code": "token_invalid", "message": "Missing or malformed component token"},
            id="token-number",
        ),
    ],
)
async def test_corpus_frames_on_a_joined_component(
    frame: dict[str, Any], answer: dict[str, Any]
) -> None:
    async with LiveClient() as client:
        target, bystander = await mounted_pair(client)
        await client.send({**frame, "id": target.id})
        reply = await client.receive()
        assert reply == {"type": "error", "id": target.id, **answer}
        await check_unharmed(client, target, bystander)


class Form(live.Component):
    renderer = live.MockRenderer(lambda ctx: f"<p>{sorted(ctx['fields'].items())}</p>")

    def mount(self) -> None:
        self.state = {"fields": {}}

    def on_save(self, **fields: str) -> None:
        self.state["fields"] = fields


def self_refused(event: str) -> dict[str, Any]:
    return {
        "code": "invalid_args",
        "message": f"Invalid arguments for {event!r}: self: Unexpected argument",
        "fields": {"self": "Unexpected argument"},
    }


async def test_self_cannot_be_passed_to_a_handler_that_takes_any_keyword() -> None:
    live.register("t_form")(Form)
    try:
        async with LiveClient() as client:
            form = await client.mount("t_form")
            # ``self`` and ``name`` reach the payload: the helper takes the event positionally.
            frame = await form.event("save", self="x", name="n")
            assert frame == {
                "type": "error",
                "id": form.id,
                "ref": frame["ref"],
                **self_refused("save"),
            }
            assert form.html == "<p>[]</p>"
            await form.event("save", name="n", klass="builtins.type")
            assert form.html == "<p>[('klass', 'builtins.type'), ('name', 'n')]</p>"
    finally:
        registry.unregister("t_form")


async def test_a_frame_over_the_limit_in_bytes_is_refused_even_with_fewer_characters() -> None:
    async with LiveClient() as client:
        target, bystander = await mounted_pair(client)
        # 20 000 emoji: fewer characters than the limit, 80 000 bytes on the wire.
        raw = json.dumps({"type": "ping", "x": "\U0001f600" * 20000}, ensure_ascii=False)
        assert len(raw) < LIMIT < len(raw.encode())
        await client.send(raw)
        assert await client.receive() == {
            "type": "error",
            "code": "too_large",
            "message": f"Frame of {len(raw.encode())} bytes is over the limit of {LIMIT}",
        }
        await check_unharmed(client, target, bystander)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"\xff\xfe", id="invalid-utf8"),
        pytest.param(b'{"type": "ping", "x": "\xc3"}', id="truncated-utf8"),
    ],
)
async def test_binary_frames_that_are_not_utf8_are_bad_frames(raw: bytes) -> None:
    async with LiveClient() as client:
        target, bystander = await mounted_pair(client)
        await send_raw(client, raw)
        assert await client.receive() == {
            "type": "error",
            "code": "bad_frame",
            "message": "Frame is not valid JSON",
        }
        await send_raw(client, b'{"type": "ping"}')
        assert await client.receive() == {"type": "pong"}
        await check_unharmed(client, target, bystander)


async def test_a_signed_token_naming_a_python_class_is_an_unknown_component() -> None:
    async with LiveClient() as client:
        target, bystander = await mounted_pair(client)
        token = tokens.sign(
            name="django.contrib.auth.models.User",
            component_id="lv00000000000000aa",
            params={},
            version=1,
            bound_to=client.binding(),
        )
        await client.send({"type": "join", "id": "lv00000000000000aa", "token": token})
        assert await client.receive() == {
            "type": "error",
            "id": "lv00000000000000aa",
            "code": "unknown_component",
            "message": "Unknown component 'django.contrib.auth.models.User'.",
        }
        await check_unharmed(client, target, bystander)


@pytest.mark.parametrize("ref", [pytest.param(0, id="zero"), pytest.param(-5, id="negative")])
async def test_an_old_ref_is_acknowledged_and_not_applied(ref: int) -> None:
    async with LiveClient() as client:
        target, bystander = await mounted_pair(client)
        await client.send(
            {"type": "event", "id": target.id, "event": "increment", "payload": {}, "ref": ref}
        )
        assert await client.receive() == {"type": "ack", "id": target.id, "v": 2, "ref": ref}
        await check_unharmed(client, target, bystander)


@pytest.mark.parametrize(
    "version",
    [
        pytest.param(True, id="true"),
        pytest.param(1.0, id="float"),
        pytest.param("1", id="string"),
        pytest.param([1], id="list"),
        pytest.param({"v": 1}, id="object"),
        pytest.param(None, id="null"),
        pytest.param(0, id="older"),
        pytest.param(2**70, id="huge"),
    ],
)
async def test_a_join_with_any_other_version_than_the_current_integer_gets_the_html(
    version: object,
) -> None:
    async with LiveClient() as client:
        target = await client.mount(NAME)
        await client.send({"type": "join", "id": target.id, "token": target.token, "v": version})
        frame = await client.receive()
        assert (frame["type"], frame["v"], frame["html"]) == ("full", 1, html_of(0))
        await client.send({"type": "join", "id": target.id, "token": target.token, "v": 1})
        frame = await client.receive()
        assert (frame["type"], frame["v"]) == ("ack", 1)
        assert (await target.event("increment"))["v"] == 2
        assert target.html == html_of(1)


async def test_a_replayed_old_token_does_not_roll_the_state_back() -> None:
    async with LiveClient() as client:
        target = await client.mount(NAME)
        first_token = target.token
        for _ in range(3):
            await target.event("increment")
    async with LiveClient() as again:
        await again.send({"type": "join", "id": target.id, "token": first_token, "v": 1})
        frame = await again.receive()
        assert (frame["type"], frame["v"], frame["html"]) == ("full", 4, html_of(3))
        await again.send({"type": "join", "id": target.id, "token": first_token, "v": 4})
        frame = await again.receive()
        assert (frame["type"], frame["v"]) == ("ack", 4)


async def test_tokens_cross_no_user_or_session(user: Any) -> None:
    alice = await LiveClient(user=user).connect()
    alice_again = await LiveClient(user=user).connect()
    anonymous = await LiveClient().connect()
    assert alice.session_key != alice_again.session_key
    hers = await alice.mount(NAME)
    theirs = await anonymous.mount(NAME, start=10)
    stolen = "Component token belongs to another session"
    for thief, view in [(anonymous, hers), (alice_again, hers), (alice, theirs)]:
        await thief.send({"type": "join", "id": view.id, "token": view.token, "v": None})
        assert await thief.receive() == {
            "type": "error",
            "id": view.id,
            "code": "token_invalid",
            "message": stolen,
        }
        await thief.send({"type": "event", "id": view.id, "event": "increment", "payload": {}})
        assert (await thief.receive())["code"] == "not_joined"
    assert (await hers.event("increment"))["v"] == 2
    assert hers.html == html_of(1)
    assert (await theirs.event("increment"))["v"] == 2
    assert theirs.html == html_of(11)
    for client in (alice, alice_again, anonymous):
        await client.close()


async def test_components_joined_elsewhere_cannot_be_driven_from_this_socket() -> None:
    async with LiveClient() as owner, LiveClient() as other:
        view = await owner.mount(NAME)
        frames: list[Frame] = [
            {"type": "event", "id": view.id, "event": "increment", "payload": {}, "ref": 9},
            {"type": "resync", "id": view.id},
            {"type": "leave", "id": view.id},
        ]
        for frame in frames:
            await other.send(frame)
            reply = await other.receive()
            assert (reply["code"], reply["message"]) == ("not_joined", NOT_JOINED)
            assert protocol.KEY_HTML not in reply
        assert (await view.event("increment"))["v"] == 2


async def test_leave_then_event_is_not_joined_and_a_rejoin_keeps_the_state() -> None:
    async with LiveClient() as client:
        target, bystander = await mounted_pair(client)
        await client.send({"type": "leave", "id": target.id})
        assert await client.nothing_received()
        frames: list[Frame] = [
            {"type": "event", "id": target.id, "event": "increment", "payload": {}, "ref": 10**9},
            {"type": "resync", "id": target.id},
            {"type": "leave", "id": target.id},
        ]
        for frame in frames:
            await client.send(frame)
            assert await client.receive() == {
                "type": "error",
                "id": target.id,
                "code": "not_joined",
                "message": NOT_JOINED,
                **({"ref": 10**9} if "ref" in frame else {}),
            }
        joined = await client.join(target)
        assert (joined["type"], joined["v"]) == ("ack", 2)
        await check_unharmed(client, target, bystander)


async def test_a_join_flood_stops_at_the_limit(settings: Any) -> None:
    settings.LIVE = {"MAX_COMPONENTS": 3}
    too_many = "At most 3 components per connection"
    async with LiveClient() as client:
        views = [await client.mount(NAME, start=i * 10) for i in range(3)]
        spare = [await client.render(NAME, start=99) for _ in range(3)]
        (spare_id, spare_token, _, _), others = spare[0], spare[1:]
        claims: list[object] = [spare_id, None, [], {"id": views[0].id}, "x" * 100]
        # Claiming a joined component's id does not let another token through.
        claims += [view.id for view in views]
        for claimed in claims:
            await client.send({"type": "join", "id": claimed, "token": spare_token, "v": None})
            reply = await client.receive()
            expected = {"type": "error", "code": "too_many_components", "message": too_many}
            if isinstance(claimed, str) and len(claimed) <= 64:
                expected["id"] = claimed
            assert reply == expected
        for _, token, _, _ in others:
            await client.send({"type": "join", "id": views[1].id, "token": token, "v": None})
            assert (await client.receive())["code"] == "too_many_components"
        # Rejoining a joined component is not a new one.
        frame = await client.join(views[2])
        assert (frame["type"], frame["v"]) == ("ack", 1)
        for i, view in enumerate(views):
            await view.event("increment")
            assert view.html == html_of(i * 10 + 1)
        # After a leave there is room again.
        await client.send({"type": "leave", "id": views[0].id})
        await client.send({"type": "join", "id": spare_id, "token": spare_token, "v": None})
        frame = await client.receive()
        assert (frame["type"], frame["id"], frame["html"]) == ("full", spare_id, html_of(99))


# A real daphne in front -----------------------------------------------------------------


def test_daphne_refuses_big_frames_and_drops_giant_ones(daphne_server: Server) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    ws_url = daphne_server.url.replace("http://", "ws://") + "/ws/live/"
    with connect(ws_url, additional_headers={"Origin": daphne_server.url}, open_timeout=10) as ws:
        raw = json.dumps({"type": "ping", "x": "\u00e9" * 40000}, ensure_ascii=False)
        ws.send(raw)
        assert json.loads(ws.recv(timeout=10)) == {
            "type": "error",
            "code": "too_large",
            "message": f"Frame of {len(raw.encode())} bytes is over the limit of {LIMIT}",
        }
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "pong"}

        # Past daphne's own message limit (1 MiB) the server drops the connection: with
        # 1009 (message too big) when its close frame is read in time, else abruptly.
        def send_giant() -> None:
            ws.send("x" * (1024 * 1024 + 1))
            ws.recv(timeout=10)

        with pytest.raises(ConnectionClosed) as closed:
            send_giant()
        assert closed.value.rcvd is None or closed.value.rcvd.code == 1009
    with connect(ws_url, additional_headers={"Origin": daphne_server.url}, open_timeout=10) as ws:
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "pong"}


# The HTTP fallback runs the same pipeline ---------------------------------------------------


def http_root() -> tuple[Any, str]:
    import re

    from django.test import Client

    client = Client()
    response = client.get(f"/live/components/{NAME}/")
    token = re.search(r'data-live-token="([^"]+)"', response.content.decode())
    assert token
    return client, token.group(1)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param(
            {"ref": "\u00b2"},
            {"code": "bad_frame", "error": "Event ref must be an integer"},
            id="superscript-digit-ref",
        ),
        pytest.param(
            {"by": "1\x00"},
            {
                "code": "invalid_args",
                "error": "Invalid arguments for 'increment': by: Input should be a valid "
                "integer, unable to parse string as an integer",
                "fields": {
                    "by": "Input should be a valid integer, unable to parse string as an integer"
                },
            },
            id="null-in-an-int",
        ),
    ],
)
def test_form_encoded_hostile_fields_are_client_errors(
    fields: dict[str, str], expected: dict[str, Any]
) -> None:
    client, token = http_root()
    body = {"token": token, "event": "increment", **fields}
    response = client.post(f"/live/components/{NAME}/", body)
    assert (response.status_code, response.json()) == (400, expected)
    response = client.post(f"/live/components/{NAME}/", {"token": token, "event": "increment"})
    assert response.json()["html"] == html_of(1)


def test_null_characters_are_refused_over_http_too() -> None:
    client, token = http_root()
    body = {"token": token, "event": "increment", "payload": {"by": 1, "x": ["\x00"]}}
    response = client.post(
        f"/live/components/{NAME}/", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_args"
