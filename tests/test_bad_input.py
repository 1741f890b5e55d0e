"""Bad input that once crashed a socket or answered 500: each gets a named 4xx and changes nothing.

Lone surrogates anywhere in a frame, non-finite and huge numbers, multipart and
unknown content types, bodies over the limits, too many fields, unknown job ids.
Through the real consumer, the real HTTP views, and a real daphne. No ERROR
record with a traceback may be logged.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

import live
from live import registry, tokens
from live.models import Job
from live.testing import LiveClient, LiveView
from live_shop.models import Product, Review
from live_shop.schemas import ReviewIn
from live_shop.testing import create_product
from tests.conftest import Server, start_server
from tests.wire import Session

pytestmark = pytest.mark.django_db(transaction=True)

NAME = "t_bad_input"
LIMIT = 65536
SURROGATE_IN_FRAME = "Frame holds text that is not valid Unicode (a lone surrogate)"
SURROGATE_IN_BODY = "Body holds text that is not valid Unicode (a lone surrogate)"
LONE = "Lone surrogates are not allowed."
NOT_FINITE = "Input should be a finite number"
#: A ref greater than any the test client used: an event that would be applied.
REF = 10**15
REF_RANGE = f"Event ref must be an integer from -{2**53} to {2**53}"
#: JSON text of lone surrogates: high, low, and a pair in the wrong order.
SURROGATES = [
    pytest.param(r"\ud800", id="high"),
    pytest.param(r"\udfff", id="low"),
    pytest.param(r"\udfff\ud800", id="reversed-pair"),
    pytest.param(r"x\ud83dy", id="high-between-letters"),
]


class Counter(live.Component):
    renderer = live.MockRenderer(lambda ctx: f"<p>count={ctx['count']}</p><p>{ctx['note']}</p>")

    def mount(self) -> None:
        self.state = {"count": int(self.params.get("start", 0)), "note": ""}

    def on_increment(self, by: int = 1) -> None:
        self.state["count"] += by

    def on_scale(self, factor: float) -> None:
        self.state["count"] = int(self.state["count"] * factor)

    def on_note(self, **fields: Any) -> None:
        self.state["note"] = repr(sorted(fields.items()))


class Echo(live.Component):
    """Server code that renders a lone surrogate: the frame must still be sendable."""

    renderer = live.MockRenderer(lambda ctx: f"<p>{ctx['text']}</p>")

    def mount(self) -> None:
        self.state = {"text": "ok"}

    def on_break(self, long: bool = False) -> None:
        # Long HTML is kept compressed: that must not fail either.
        self.state["text"] = "bad\ud800" + ("." * 5000 if long else "")


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    live.register(NAME)(Counter)
    live.register("t_bad_echo")(Echo)
    yield
    registry.unregister(NAME)
    registry.unregister("t_bad_echo")


@pytest.fixture(autouse=True)
def _no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test that logged an ERROR, or anything with a traceback."""
    caplog.set_level(logging.INFO)
    # The project's LOGGING gives "live" its own handler and no propagation.
    live_logger = logging.getLogger("live")
    live_logger.addHandler(caplog.handler)
    yield
    live_logger.removeHandler(caplog.handler)
    bad = [
        f"{record.name} {record.levelname}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno >= logging.ERROR or record.exc_info
    ]
    assert bad == []


def html_of(count: int, note: str = "") -> str:
    return f"<p>count={count}</p><p>{note}</p>"


async def mounted_pair(client: LiveClient) -> tuple[LiveView, LiveView]:
    target = await client.mount(NAME)
    bystander = await client.mount(NAME, start=10)
    await target.event("increment")
    return target, bystander


async def check_unharmed(target: LiveView, bystander: LiveView) -> None:
    """The bystander still answers; the target kept its HTML, version and handlers."""
    frame = await bystander.event("increment", by=2)
    assert (frame["type"], frame["v"]) == ("diff", 2)
    assert bystander.html == html_of(12)
    full = await target.resync()
    assert (full["type"], full["v"], full["html"]) == ("full", 2, html_of(1))
    frame = await target.event("increment")
    assert (frame["type"], frame["v"]) == ("diff", 3)
    assert target.html == html_of(2)


def error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, **extra}


def fields_error(event: str, fields: dict[str, str], **extra: Any) -> dict[str, Any]:
    summary = "; ".join(f"{name}: {message}" for name, message in fields.items())
    return {
        "type": "error",
        "code": "invalid_args",
        "message": f"Invalid arguments for {event!r}: {summary}",
        "fields": fields,
        **extra,
    }


# Lone surrogates in the envelope: bad_frame, nothing echoed ----------------------------


ENVELOPES = [
    pytest.param('{{"type": "{s}"}}', id="type"),
    pytest.param(
        '{{"type": "event", "id": "{s}", "event": "increment", "payload": {{}}}}', id="id"
    ),
    pytest.param('{{"type": "resync", "id": "lv{s}"}}', id="id-in-resync"),
    pytest.param('{{"type": "leave", "id": "{s}"}}', id="id-in-leave"),
    pytest.param('{{"type": "event", "id": "{id}", "event": "{s}", "payload": {{}}}}', id="event"),
    pytest.param('{{"type": "event", "id": "{id}", "event": "increment", "ref": "{s}"}}', id="ref"),
    pytest.param('{{"type": "join", "id": "{id}", "token": "{s}"}}', id="token"),
    pytest.param('{{"type": "join", "id": "{id}", "token": "t", "v": "{s}"}}', id="version"),
    pytest.param('{{"type": "ping", "{s}": 1}}', id="key"),
    pytest.param('{{"type": "ping", "x": [{{"y": ["{s}"]}}]}}', id="nested"),
    pytest.param('{{"type": "ping", "x": {{"{s}": 1}}}}', id="nested-key"),
]


@pytest.mark.parametrize("surrogate", SURROGATES)
@pytest.mark.parametrize("template", ENVELOPES)
async def test_a_lone_surrogate_in_the_envelope_is_a_bad_frame(
    template: str, surrogate: str
) -> None:
    async with LiveClient() as client:
        target, bystander = await mounted_pair(client)
        await client.send(template.format(s=surrogate, id=target.id))
        assert await client.receive() == error("bad_frame", SURROGATE_IN_FRAME)
        await client.send({"type": "ping"})
        assert await client.receive() == {"type": "pong"}
        await check_unharmed(target, bystander)


# Lone surrogates in the payload: invalid_args, naming the argument ------------------------


@pytest.mark.parametrize("surrogate", SURROGATES)
@pytest.mark.parametrize(
    ("event", "payload", "fields"),
    [
        pytest.param("increment", '{{"by": "{s}"}}', {"by": LONE}, id="int-value"),
        pytest.param("note", '{{"text": "{s}"}}', {"text": LONE}, id="str-value"),
        pytest.param("note", '{{"a": "ok", "b": [1, {{"c": "{s}"}}]}}', {"b": LONE}, id="nested"),
        pytest.param("note", '{{"a": {{"{s}": 1}}}}', {"a": LONE}, id="nested-key"),
        pytest.param("increment", '{{"{s}": 1}}', None, id="key"),
    ],
)
async def test_a_lone_surrogate_in_the_payload_is_invalid_args(
    event: str, payload: str, fields: dict[str, str] | None, surrogate: str
) -> None:
    async with LiveClient() as client:
        target, bystander = await mounted_pair(client)
        if fields is None:  # the argument's name is at fault: shown escaped
            fields = {escaped(json.loads(f'"{surrogate}"')): LONE}
        raw = payload.format(s=surrogate)
        frame = (
            f'{{"type": "event", "id": "{target.id}", "event": "{event}", "payload": {raw}, '
            f'"ref": {REF}}}'
        )
        await client.send(frame)
        reply = await client.receive()
        assert reply == fields_error(event, fields, id=target.id, ref=REF)
        assert all(name.isascii() for name in reply["fields"])
        await check_unharmed(target, bystander)


async def test_a_valid_surrogate_pair_is_an_ordinary_character() -> None:
    async with LiveClient() as client:
        view = await client.mount(NAME)
        await client.send(
            f'{{"type": "event", "id": "{view.id}", "event": "note", "payload": '
            '{"emoji": "\\ud83d\\ude00"}, "ref": 1000000000000000}'
        )
        frame = await client.receive()
        assert (frame["type"], frame["ref"]) in {("diff", REF), ("full", REF)}


#: Text with at least one lone surrogate once it went through JSON (a high one right
#: before a low one makes a pair, an ordinary character).
def escaped(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode()


def lone(text: str) -> bool:
    try:
        json.loads(json.dumps(text)).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


surrogate_texts = st.text(
    st.characters(categories=["Cs"]) | st.sampled_from("az é\u20ac\U0001f600"), min_size=1
).filter(lone)


@st.composite
def poisoned_frames(draw: st.DrawFn, target_id: str) -> tuple[dict[str, Any], str, str]:
    """Return an event frame with a lone surrogate somewhere, and where it is."""
    text = draw(surrogate_texts)
    frame: dict[str, Any] = {
        "type": "event",
        "id": target_id,
        "event": "note",
        "payload": {"a": "x"},
        "ref": draw(st.integers(10**15, 2**53)),
    }
    where = draw(
        st.sampled_from(["type", "id", "event", "token", "extra", "payload-value", "payload-key"])
    )
    if where in ("type", "id", "event", "token"):
        frame[where] = text
    elif where == "extra":
        frame[text] = draw(st.integers())
    elif where == "payload-value":
        frame["payload"]["a"] = draw(st.sampled_from([text, [text], {"k": text}, {text: 1}]))
    else:
        frame["payload"] = {text: 1}
    return frame, where, text


@examples(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_a_lone_surrogate_anywhere_is_refused_and_the_socket_serves_on(
    data: st.DataObject,
) -> None:
    async with LiveClient() as client:
        target, bystander = await mounted_pair(client)
        frame, where, text = data.draw(poisoned_frames(target.id), label="frame")
        await client.send(json.dumps(frame))
        reply = await client.receive()
        if where.startswith("payload"):
            parsed = json.loads(json.dumps(text))  # a high surrogate before a low one: a pair
            name = "a" if where == "payload-value" else escaped(parsed)
            assert reply == fields_error("note", {name: LONE}, id=target.id, ref=frame["ref"])
        else:
            assert reply == error("bad_frame", SURROGATE_IN_FRAME)
        json.dumps(reply, ensure_ascii=False).encode("utf-8")  # what daphne must be able to do
        await check_unharmed(target, bystander)


@pytest.mark.parametrize("long", [False, True])
async def test_a_frame_the_server_renders_with_a_lone_surrogate_is_sent_escaped(
    caplog: pytest.LogCaptureFixture, long: bool
) -> None:
    async with LiveClient() as client:
        view = await client.mount("t_bad_echo")
        await client.send(
            {"type": "event", "id": view.id, "event": "break", "payload": {"long": long}}
        )
        assert client.communicator is not None
        raw = (await client.communicator.receive_output(3))["text"]
        assert raw.isascii()
        assert "bad\\ud800" in raw
        assert json.loads(raw)["type"] in {"diff", "full"}
        await client.send({"type": "ping"})
        assert await client.receive() == {"type": "pong"}
    kind = json.loads(raw)["type"]
    assert f"live: a {kind} frame held a lone surrogate; sent escaped" in caplog.messages


# Numbers: non-finite, overflowing, huge ---------------------------------------------------


NON_FINITE = [
    pytest.param("Infinity", id="Infinity"),
    pytest.param("-Infinity", id="-Infinity"),
    pytest.param("NaN", id="NaN"),
    pytest.param("1e400", id="1e400"),
    pytest.param("-1e400", id="-1e400"),
]


@pytest.mark.parametrize("number", NON_FINITE)
@pytest.mark.parametrize(
    ("event", "payload", "field"),
    [
        pytest.param("increment", '{{"by": {n}}}', "by", id="int"),
        pytest.param("scale", '{{"factor": {n}}}', "factor", id="float"),
        pytest.param("note", '{{"a": [1, {{"b": {n}}}]}}', "a", id="nested-any"),
    ],
)
async def test_non_finite_numbers_are_invalid_args(
    event: str, payload: str, field: str, number: str
) -> None:
    async with LiveClient() as client:
        target, bystander = await mounted_pair(client)
        body = payload.format(n=number)
        await client.send(
            f'{{"type": "event", "id": "{target.id}", "event": "{event}", "payload": {body}, '
            f'"ref": {REF}}}'
        )
        assert await client.receive() == fields_error(
            event, {field: NOT_FINITE}, id=target.id, ref=REF
        )
        await check_unharmed(target, bystander)


async def test_huge_numbers_are_clean_errors() -> None:
    async with LiveClient() as client:
        target, bystander = await mounted_pair(client)
        # Past Python's 4300 digits for int(str): not a number it will read.
        digits = "9" * 5000
        await client.send(
            f'{{"type": "event", "id": "{target.id}", "event": "increment", '
            f'"payload": {{"by": {digits}}}}}'
        )
        assert await client.receive() == error("bad_frame", "Frame is not valid JSON")
        await client.send(
            f'{{"type": "event", "id": "{target.id}", "event": "increment", "payload": {{}}, '
            f'"ref": {"9" * 4000}}}'
        )
        assert await client.receive() == error("bad_frame", REF_RANGE, id=target.id)
        await client.send(
            {
                "type": "event",
                "id": target.id,
                "event": "increment",
                "payload": {},
                "ref": 2**53 + 1,
            }
        )
        assert await client.receive() == error("bad_frame", REF_RANGE, id=target.id)
        # A 1e300 float for an int: not an integer, and not 10**300 either.
        await client.send(
            {"type": "event", "id": target.id, "event": "increment", "payload": {"by": 1e300}}
        )
        reply = await client.receive()
        assert (reply["code"], reply["fields"]) == (
            "invalid_args",
            {"by": "Unable to parse input string as an integer, exceeded maximum size"},
        )
        await check_unharmed(target, bystander)


async def test_an_id_of_ten_kilobytes_is_not_echoed() -> None:
    async with LiveClient() as client:
        target, bystander = await mounted_pair(client)
        await client.send({"type": "resync", "id": "x" * 10240})
        assert await client.receive() == error(
            "not_joined", "Component is not joined on this connection; join it first"
        )
        await check_unharmed(target, bystander)


@pytest.fixture
def tee() -> Product:
    return create_product()


@pytest.mark.parametrize("number", NON_FINITE)
async def test_a_review_rating_of_infinity_is_invalid_args(
    tee: Product, user: Any, number: str
) -> None:
    async with LiveClient(user=user) as client:
        reviews = await client.mount("reviews", product_id=tee.pk)
        before = reviews.html
        await client.send(
            f'{{"type": "event", "id": "{reviews.id}", "event": "submit", "ref": {REF}, '
            f'"payload": {{"rating": {number}, "body": "Soft and warm."}}}}'
        )
        assert await client.receive() == fields_error(
            "submit", {"rating": NOT_FINITE}, id=reviews.id, ref=REF
        )
        assert reviews.html == before
        assert not await Review.objects.aexists()
        frame = await reviews.event("submit", rating="4", body="Soft and warm.")
        assert frame["type"] in {"diff", "full"}
        assert "Thanks for your review!" in reviews.html
        assert await Review.objects.filter(rating=4).acount() == 1


@pytest.mark.parametrize("rating", [float("inf"), float("-inf"), float("nan"), "9" * 5000])
def test_the_review_schema_refuses_any_rating_but_one_to_five(rating: Any) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as refused:
        ReviewIn.model_validate({"rating": rating, "body": "Soft and warm."})
    assert [e["msg"] for e in refused.value.errors()] == [
        "Value error, Choose a rating from 1 to 5."
    ]


# live_job with a malformed or unknown job id ------------------------------------------------


@pytest.fixture
def owner(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("owner", password="pw", is_staff=True)


@pytest.mark.parametrize(
    "superuser", [pytest.param(False, id="owner"), pytest.param(True, id="superuser")]
)
@pytest.mark.parametrize(
    "job_id",
    [
        pytest.param("garbage", id="malformed"),
        pytest.param("1; DROP TABLE live_job", id="sql"),
        pytest.param("x" * 5000, id="long"),
        pytest.param("00000000-0000-0000-0000-000000000000", id="unknown"),
    ],
)
def test_job_component_with_a_bad_job_id_is_not_found_over_http(
    owner: Any, superuser: bool, job_id: str
) -> None:
    from live.component import short_repr

    owner.is_superuser = superuser
    owner.save()
    client = Client()
    client.force_login(owner)
    response = client.get("/live/components/live_job/", {"job_id": job_id})
    shown = short_repr(job_id)
    assert (response.status_code, response.json()) == (
        404,
        {"error": f"No job with id {shown}", "code": "not_found"},
    )
    assert Client().get("/live/components/live_job/", {"job_id": job_id}).status_code == 401


async def test_a_superuser_cancelling_a_deleted_job_gets_not_found(boss: Any) -> None:
    job = await Job.objects.acreate(action="x", description="Gone", owner=None)
    async with LiveClient(user=boss) as client:
        view = await client.mount("live_job", job_id=str(job.pk))
        missing = f"No job with id {str(job.pk)!r}"
        await job.adelete()
        await client.send(
            {"type": "event", "id": view.id, "event": "cancel", "payload": {}, "ref": REF}
        )
        assert await client.receive() == error("not_found", missing, id=view.id, ref=REF)
        assert "Gone" in (await view.resync())["html"]


async def test_job_component_of_a_deleted_job_is_not_found_over_the_socket(owner: Any) -> None:
    job = await Job.objects.acreate(action="x", description="Gone", owner=owner)
    async with LiveClient(user=owner) as client:
        view = await client.mount("live_job", job_id=str(job.pk))
        missing = f"No job with id {str(job.pk)!r}"
        await job.adelete()
        await client.send(
            {"type": "event", "id": view.id, "event": "cancel", "payload": {}, "ref": REF}
        )
        assert await client.receive() == error("not_found", missing, id=view.id, ref=REF)
        # A token naming a job that never was: a join mounts it and finds nothing.
        never = str(uuid.uuid4())
        token = tokens.sign(
            name="live_job",
            component_id="lv00000000000000ab",
            params={"job_id": never},
            version=1,
            bound_to=client.binding(),
        )
        await client.send({"type": "join", "id": "lv00000000000000ab", "token": token})
        assert await client.receive() == error(
            "not_found", f"No job with id {never!r}", id="lv00000000000000ab"
        )
        other = await Job.objects.acreate(action="x", description="Still here", owner=owner)
        assert "Still here" in (await client.mount("live_job", job_id=str(other.pk))).html


# The HTTP fallback ----------------------------------------------------------------------------


URL = f"/live/components/{NAME}/"


def http_root(client: Client | None = None) -> tuple[Client, str]:
    client = client or Client()
    response = client.get(URL)
    token = re.search(r'data-live-token="([^"]+)"', response.content.decode())
    assert token
    return client, token.group(1)


def count_is(client: Client, token: str, expected: int) -> None:
    """A valid event still applies, once: the bad request changed nothing."""
    response = client.post(
        URL, json.dumps({"token": token, "event": "increment"}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["html"].startswith(f"<p>count={expected}</p>")


def csrf_client() -> tuple[Client, str, dict[str, str]]:
    """A client that enforces CSRF, as a browser on daphne meets it; with its token header."""
    from django.conf import settings

    client = Client(enforce_csrf_checks=True)
    _, token = http_root(client)
    return client, token, {"HTTP_X_CSRFTOKEN": client.cookies[settings.CSRF_COOKIE_NAME].value}


@pytest.mark.parametrize("surrogate", SURROGATES)
def test_lone_surrogates_over_http_are_client_errors(surrogate: str) -> None:
    client, token = http_root()
    bodies = [
        (f'{{"token": "{surrogate}", "event": "increment"}}', 400, "bad_frame", SURROGATE_IN_BODY),
        (f'{{"token": "{token}", "event": "{surrogate}"}}', 400, "bad_frame", SURROGATE_IN_BODY),
        (f'{{"token": "{token}", "ref": "{surrogate}"}}', 400, "bad_frame", SURROGATE_IN_BODY),
        (f'{{"token": "{token}", "state": "{surrogate}"}}', 400, "bad_frame", SURROGATE_IN_BODY),
    ]
    for body, status, code, message in bodies:
        response = client.post(URL, body, content_type="application/json")
        assert (response.status_code, response.json()) == (status, {"error": message, "code": code})
    response = client.post(
        URL,
        f'{{"token": "{token}", "event": "increment", "payload": {{"by": "{surrogate}"}}}}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": f"Invalid arguments for 'increment': by: {LONE}",
        "code": "invalid_args",
        "fields": {"by": LONE},
    }
    # In a form's JSON ``payload`` field too.
    response = client.post(
        URL, {"token": token, "event": "note", "payload": f'{{"x": ["{surrogate}"]}}'}
    )
    assert (response.status_code, response.json()["fields"]) == (400, {"x": LONE})
    # Percent-encoded surrogates (invalid UTF-8) in a query string or a form are replaced.
    response = client.get(URL + "?token=%ED%A0%80")
    assert (response.status_code, response.json()["code"]) == (403, "token_invalid")
    response = client.post(
        URL,
        f"token={token}&event=note&x=%ED%A0%80",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert "\ufffd" in response.json()["html"]
    response = client.get("/live/components/%ED%A0%80/")
    assert (response.status_code, response.json()["code"]) == (404, "unknown_component")
    count_is(client, token, 1)


@pytest.mark.parametrize("number", NON_FINITE)
def test_non_finite_numbers_over_http_are_invalid_args(number: str) -> None:
    client, token = http_root()
    response = client.post(
        URL,
        f'{{"token": "{token}", "event": "increment", "payload": {{"by": {number}}}}}',
        content_type="application/json",
    )
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": f"Invalid arguments for 'increment': by: {NOT_FINITE}",
            "code": "invalid_args",
            "fields": {"by": NOT_FINITE},
        },
    )
    count_is(client, token, 1)


def test_huge_numbers_over_http_are_client_errors() -> None:
    client, token = http_root()
    response = client.post(URL, {"token": token, "event": "increment", "by": "9" * 5000})
    assert (response.status_code, response.json()["fields"]) == (
        400,
        {"by": "Unable to parse input string as an integer, exceeded maximum size"},
    )
    for ref, message in [("9" * 5000, "Event ref must be an integer"), ("9" * 40, REF_RANGE)]:
        response = client.post(URL, {"token": token, "event": "increment", "ref": ref})
        assert (response.status_code, response.json()) == (
            400,
            {"error": message, "code": "bad_frame"},
        )
    count_is(client, token, 1)


def test_multipart_forms_are_read_like_urlencoded_ones() -> None:
    client, token, header = csrf_client()
    # The test client's default: multipart/form-data.
    response = client.post(URL, {"token": token, "event": "increment", "by": "3"}, **header)
    assert response.status_code == 200, response.content
    assert response.json()["html"] == html_of(3)
    token = response.json()["token"]
    response = client.post(
        URL, {"token": token, "event": "note", "payload": '{"a": "b"}'}, **header
    )
    assert response.json()["html"] == html_of(3, "[('a', 'b')]")


def test_multipart_forms_with_files_are_refused() -> None:
    client, token, header = csrf_client()
    upload = SimpleUploadedFile("x.txt", b"hello", content_type="text/plain")
    response = client.post(URL, {"token": token, "event": "increment", "upload": upload}, **header)
    assert (response.status_code, response.json()) == (
        400,
        {"error": "File uploads are not accepted here: 'upload'", "code": "bad_frame"},
    )
    count_is(client_with(client), token, 1)


def test_more_files_than_django_allows_are_refused_before_being_looked_at(settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    client, token, header = csrf_client()
    uploads = {f"f{i}": SimpleUploadedFile(f"{i}.txt", b"x") for i in range(3)}
    response = client.post(URL, {"token": token, "event": "increment", **uploads}, **header)
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Request has more than 2 files", "code": "bad_frame"},
    )
    count_is(client_with(client), token, 1)


def test_without_the_csrf_middleware_the_endpoint_checks_no_csrf(settings: Any) -> None:
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("CsrfViewMiddleware")]
    client, token = http_root(Client(enforce_csrf_checks=True))
    response = client.post(URL, {"token": token, "event": "increment"})
    assert response.status_code == 200
    assert response.json()["html"] == html_of(1)


def client_with(client: Client) -> Client:
    """The same browser (cookies), without CSRF enforcement, for the follow-up check."""
    plain = Client()
    plain.cookies = client.cookies
    return plain


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        pytest.param(
            "text/plain",
            "token=x",
            "Unsupported content type 'text/plain'; send application/json, "
            "application/x-www-form-urlencoded or multipart/form-data",
            id="text",
        ),
        pytest.param(
            "application/xml",
            "<a/>",
            "Unsupported content type 'application/xml'; send application/json, "
            "application/x-www-form-urlencoded or multipart/form-data",
            id="xml",
        ),
        pytest.param(
            "",
            '{"token": "x"}',
            "Missing content type; send application/json, "
            "application/x-www-form-urlencoded or multipart/form-data",
            id="none",
        ),
    ],
)
def test_other_content_types_are_415(content_type: str, body: str, message: str) -> None:
    client, token, header = csrf_client()
    response = client.generic("POST", URL, body, content_type=content_type, **header)
    assert (response.status_code, response.json()) == (
        415,
        {"error": message, "code": "bad_frame"},
    )
    count_is(client_with(client), token, 1)


def test_a_post_without_a_body_or_a_type_is_a_missing_token() -> None:
    client, _, header = csrf_client()
    response = client.generic("POST", URL, "", content_type="", **header)
    assert (response.status_code, response.json()) == (
        403,
        {"error": "Missing or malformed component token", "code": "token_invalid"},
    )


@pytest.mark.parametrize("enforce_csrf", [False, True])
def test_bodies_over_the_limit_are_413_json(settings: Any, enforce_csrf: bool) -> None:
    client, token, header = csrf_client() if enforce_csrf else (*http_root(), {})
    big = json.dumps({"token": token, "event": "increment", "x": "a" * LIMIT})
    response = client.post(URL, big, content_type="application/json", **header)
    assert (response.status_code, response.json()) == (
        413,
        {"error": f"Body of {len(big)} bytes is over the limit of {LIMIT}", "code": "too_large"},
    )
    form = {"token": token, "event": "increment", "x": "a" * LIMIT}
    response = client.post(URL, form, **header)
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    # Over Django's own limit, lower here than ours: the lower one holds, as JSON.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = f"token={token}&event=increment&x={'a' * 2000}"
    response = client.post(URL, body, content_type="application/x-www-form-urlencoded", **header)
    assert (response.status_code, response.json()) == (
        413,
        {"error": f"Body of {len(body)} bytes is over the limit of 1000", "code": "too_large"},
    )
    count_is(client_with(client), token, 1)


@pytest.mark.parametrize("enforce_csrf", [False, True])
def test_too_many_fields_are_400_json(settings: Any, enforce_csrf: bool) -> None:
    client, token, header = csrf_client() if enforce_csrf else (*http_root(), {})
    body = f"token={token}&event=increment&" + "&".join(f"f{i}=1" for i in range(1001))
    response = client.post(URL, body, content_type="application/x-www-form-urlencoded", **header)
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Request has more than 1000 fields", "code": "bad_frame"},
    )
    # 1001 multipart fields take more than 64 KiB.
    settings.LIVE = {"MAX_FRAME_BYTES": 256 * 1024}
    fields = {f"f{i}": "1" for i in range(1001)}
    response = client.post(URL, {"token": token, "event": "increment", **fields}, **header)
    assert (response.status_code, response.json()["error"]) == (
        400,
        "Request has more than 1000 fields",
    )
    response = client.get(URL + "?" + "&".join(f"f{i}=1" for i in range(1001)))
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Request has more than 1000 fields", "code": "bad_frame"},
    )
    count_is(client_with(client), token, 1)


def test_malformed_request_data_is_400_json() -> None:
    client, token, header = csrf_client()
    cases = [
        (
            {"content_type": "application/json", "CONTENT_LENGTH": "abc"},
            "{}",
            "Content-Length must be a number of bytes",
        ),
        (
            {"content_type": "multipart/form-data"},
            "token=x",
            "Body is not a valid multipart form",
        ),
        (
            {"content_type": "application/x-www-form-urlencoded; charset=latin-1"},
            "token=x",
            "Form bodies must be UTF-8 encoded",
        ),
    ]
    response = client.generic(
        "POST", URL, "{}", content_type="application/json", CONTENT_LENGTH="9" * 5000, **header
    )
    assert (response.status_code, response.json()) == (
        413,
        {"error": f"Body is over the limit of {LIMIT} bytes", "code": "too_large"},
    )
    for extra, body, message in cases:
        response = client.generic("POST", URL, body, **{**extra, **header})
        assert (response.status_code, response.json()) == (
            400,
            {"error": message, "code": "bad_frame"},
        ), (extra, response.content)
    count_is(client_with(client), token, 1)


def test_csrf_is_still_enforced_on_the_component_endpoint() -> None:
    client, token, _ = csrf_client()
    response = client.post(
        URL, json.dumps({"token": token, "event": "increment"}), content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert response.json()["error"].startswith("CSRF verification failed: ")
    count_is(client_with(client), token, 1)


# A real daphne in front -------------------------------------------------------------------------


@pytest.fixture(params=["in-memory", "redis"])
def server(request: pytest.FixtureRequest, django_db_blocker: Any) -> Iterator[Server]:
    """A daphne process with the in-memory layer and LocMem, or with Redis for both."""
    env = {"REDIS_URL": ""}
    if request.param == "redis":
        prefix = request.getfixturevalue("redis_layer")
        env = {
            "REDIS_URL": request.getfixturevalue("redis_url"),
            "CACHE_KEY_PREFIX": prefix,
            "CHANNEL_LAYER_PREFIX": prefix,
        }
    with django_db_blocker.unblock():
        started = start_server(env)
    yield started
    started.stop()


def daphne_errors(server: Server, before: int) -> list[str]:
    """Return the lines daphne logged since ``before`` that look like a failure."""
    lines = server.output()[before:].splitlines()
    return [line for line in lines if "Traceback" in line or " 500 " in line or "ERROR" in line]


def test_daphne_keeps_a_socket_open_after_lone_surrogates(server: Server) -> None:
    before = len(server.output())
    session = Session()
    tab = session.tab(server.url + "/live/components/counter/")
    tab.connect(server.url)
    try:
        joined = tab.join("counter")
        assert joined["type"] in {"ack", "full"}
        counter = tab.root("counter")
        for raw in [
            # The frame that once closed the socket with 1011: the id was echoed back.
            '{"type": "event", "id": "\\ud800", "event": "increment", "payload": {}}',
            '{"type": "resync", "id": "\\udfff\\ud800"}',
            '{"type": "\\ud800"}',
        ]:
            tab.socket.send(raw)
            assert json.loads(tab.socket.recv(timeout=10)) == error("bad_frame", SURROGATE_IN_FRAME)
            tab.send({"type": "ping"})
            assert json.loads(tab.socket.recv(timeout=10)) == {"type": "pong"}
        tab.socket.send(
            f'{{"type": "event", "id": "{counter.id}", "event": "increment", '
            '"payload": {"by": "\\ud800"}, "ref": 1}'
        )
        assert json.loads(tab.socket.recv(timeout=10)) == fields_error(
            "increment", {"by": LONE}, id=counter.id, ref=1
        )
        tab.socket.send(
            f'{{"type": "event", "id": "{counter.id}", "event": "increment", '
            '"payload": {"by": 1e400}, "ref": 2}'
        )
        assert json.loads(tab.socket.recv(timeout=10)) == fields_error(
            "increment", {"by": NOT_FINITE}, id=counter.id, ref=2
        )
        frame = tab.event("counter", "increment")
        assert frame["type"] in {"diff", "full"}
        assert '<output class="count">1</output>' in (counter.html or "")
    finally:
        tab.close()
    assert daphne_errors(server, before) == []


def chunked_post(server: Server, session: Session, csrf: str, body: bytes) -> tuple[int, Any]:
    """POST ``body`` as JSON with chunked transfer encoding; return the status and JSON answer."""
    host, port = server.url.removeprefix("http://").split(":")
    url = server.url + "/live/components/counter/"
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = (
            f"POST /live/components/counter/ HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Cookie: {session.cookie_header()}\r\nX-CSRFToken: {csrf}\r\nReferer: {url}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n"
        )
        sock.sendall(head.encode() + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2])


def test_daphne_answers_bad_bodies_with_json(server: Server) -> None:
    import urllib.error
    import urllib.request

    before = len(server.output())
    session = Session()
    url = server.url + "/live/components/counter/"
    tab = session.tab(url)
    token = tab.root("counter").token
    csrf = {c.name: c.value for c in session.jar}["csrftoken"]

    def post(body: bytes, content_type: str) -> tuple[int, Any]:
        request = urllib.request.Request(
            url,
            data=body,
            headers={
                "Cookie": session.cookie_header(),
                "X-CSRFToken": csrf,
                "Referer": url,
                "Content-Type": content_type,
            },
        )
        try:
            with session.opener.open(request, timeout=30) as response:
                return int(response.status), json.loads(response.read())
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read())

    big = json.dumps({"token": token, "event": "increment", "x": "a" * LIMIT}).encode()
    assert post(big, "application/json") == (
        413,
        {"error": f"Body of {len(big)} bytes is over the limit of {LIMIT}", "code": "too_large"},
    )
    giant = b"token=x&x=" + b"a" * (3 * 1024 * 1024)
    assert post(giant, "application/x-www-form-urlencoded") == (
        413,
        {"error": f"Body of {len(giant)} bytes is over the limit of {LIMIT}", "code": "too_large"},
    )
    # Chunked: no Content-Length to refuse it by, so the body read tells.
    assert chunked_post(server, session, csrf, big) == (
        413,
        {"error": f"Body of {len(big)} bytes is over the limit of {LIMIT}", "code": "too_large"},
    )
    # Chunked and past Django's DATA_UPLOAD_MAX_MEMORY_SIZE: Django's refusal, as JSON.
    status, answer = chunked_post(server, session, csrf, b"a" * (3 * 1024 * 1024))
    assert (status, answer) == (
        413,
        {"error": f"Body is over the limit of {LIMIT} bytes", "code": "too_large"},
    )
    many = ("&".join(f"f{i}=1" for i in range(1001))).encode()
    assert post(many, "application/x-www-form-urlencoded") == (
        400,
        {"error": "Request has more than 1000 fields", "code": "bad_frame"},
    )
    assert post(b"hello", "text/plain")[0] == 415
    surrogate = f'{{"token": "{token}", "event": "\\ud800"}}'.encode()
    assert post(surrogate, "application/json") == (
        400,
        {"error": SURROGATE_IN_BODY, "code": "bad_frame"},
    )
    boundary = "b0undary"
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="token"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="event"\r\n\r\nincrement\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    status, answer = post(multipart, f"multipart/form-data; boundary={boundary}")
    assert status == 200, answer
    assert '<output class="count">1</output>' in answer["html"]
    assert daphne_errors(server, before) == []


# Every app component, every event, hostile values: a named error, never server_error ---------


#: Values no handler of the apps expects; each must get a named error or be handled.
HOSTILE_VALUES: list[Any] = [
    10**30,
    -(10**30),
    10**4000,
    1e300,
    -1e300,
    1e-300,
    "9" * 5000,
    "1e400",
    [],
    {},
    None,
    True,
    "",
    "x" * 5000,
    "\x00",
    -1,
    0,
]
#: Raw JSON values json.dumps cannot write (or writes as NaN/Infinity): always refused.
REFUSED_RAW = ["Infinity", "-Infinity", "NaN", "1e400", '"\\ud800"', '["a", {"b": "\\udfff"}]']


def argument_names(component: type[live.Component], event: str) -> list[str]:
    import inspect

    if issubclass(component, live.FormComponent) and event in ("submit", "change"):
        assert component.schema is not None
        return list(component.schema.model_fields)
    parameters = inspect.signature(getattr(component, f"on_{event}")).parameters.values()
    named = [p.name for p in parameters if p.name != "self" and p.kind is not p.VAR_KEYWORD]
    return named or ["x"]


async def test_no_app_event_answers_a_server_error_to_hostile_values(
    boss: Any, tee: Product, settings: Any
) -> None:
    settings.LIVE = {"SOCKET_FRAMES_PER_SECOND": 100_000, "CLIENT_EVENT_RATE": "100000/second"}
    mounts: dict[str, dict[str, Any]] = {
        "counter": {},
        "people": {},
        "users": {},
        "user_edit": {"user_id": boss.pk},
        "metrics": {},
        "audit_log": {},
        "admin_today": {},
        "admin_user_history": {"object_id": str(boss.pk)},
        "product": {"product_id": tee.pk},
        "cart": {},
        "checkout": {},
        "reviews": {"product_id": tee.pk},
    }
    failures = []
    ref = 10**15
    async with LiveClient(user=boss) as client:
        for name, params in mounts.items():
            view = await client.mount(name, **params)
            component = registry.get(name)
            events = component.event_names()
            if issubclass(component, live.FormComponent):
                events += ["submit", "change"]
            for event in events:
                for argument in argument_names(component, event):
                    for value in HOSTILE_VALUES:
                        frame = await client.send_event(view.id, event, {argument: value})
                        if frame.get("code") == "server_error":
                            failures.append(f"{name}.{event}({argument}={str(value)[:20]})")
                    for raw in REFUSED_RAW:
                        ref += 1
                        await client.send(
                            f'{{"type": "event", "id": "{view.id}", "event": "{event}", '
                            f'"payload": {{"{argument}": {raw}}}, "ref": {ref}}}'
                        )
                        frame = await client.receive()
                        if frame.get("code") != "invalid_args":
                            failures.append(f"{name}.{event}({argument}={raw}): {frame}")
    assert failures == []


def test_no_component_endpoint_answers_500_to_hostile_params(boss: Any, user: Any) -> None:
    create_product()
    failures = []
    for who in (None, user, boss):
        client = Client()
        if who is not None:
            client.force_login(who)
        for name in registry.names():
            queries: list[dict[str, str]] = [{}]
            for param in registry.get(name).url_params:
                for value in ["", "garbage", "9" * 5000, "-1", "1e400", "inf", "\x00", "1.5"]:
                    queries.append({param: value})
            for query in queries:
                response = client.get(f"/live/components/{name}/", query)
                if response.status_code >= 500:
                    failures.append(f"{who} GET {name} {str(query)[:40]}: {response.status_code}")
    assert failures == []


def test_a_client_that_closes_with_events_unanswered_logs_no_error(server: Server) -> None:
    before = len(server.output())
    session = Session()
    for _ in range(12):
        tab = session.tab(server.url + "/live/components/counter/")
        tab.connect(server.url)
        tab.join("counter")
        counter = tab.root("counter")
        for ref in range(40):
            tab.send(
                {"type": "event", "id": counter.id, "event": "increment", "payload": {}, "ref": ref}
            )
        tab.close()  # without reading a single answer
    # A socket opened afterwards is served: nothing of the closed ones leaked into it.
    tab = session.tab(server.url + "/live/components/counter/")
    tab.connect(server.url)
    try:
        assert tab.join("counter")["type"] in {"ack", "full"}
    finally:
        tab.close()
    time.sleep(0.5)
    assert daphne_errors(server, before) == []
