"""Internal: validate and coerce event arguments from a handler's annotations.

htmx sends form values as strings; pydantic's lax mode turns ``"42"`` into
``42`` for an ``int`` parameter. Unknown, missing and wrong arguments are
reported per field and the handler is not called.
"""

from __future__ import annotations

import inspect
import math
import typing
from collections.abc import Callable, Collection, Mapping
from functools import lru_cache
from typing import Any

import pydantic

from live.exceptions import InvalidArguments


@lru_cache(maxsize=1024)
def _model_for(func: Callable[..., Any]) -> tuple[type[pydantic.BaseModel], bool]:
    """Return a pydantic model of ``func``'s keyword arguments and whether it takes ``**kwargs``."""
    signature = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func)
    except (NameError, TypeError):
        hints = {}
    fields: dict[str, Any] = {}
    var_keyword = False
    for name, parameter in signature.parameters.items():
        if name == "self":
            continue
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            var_keyword = True
            continue
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.POSITIONAL_ONLY):
            continue
        annotation = hints.get(name, Any)
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[name] = (annotation, default)
    config = pydantic.ConfigDict(extra="allow" if var_keyword else "forbid")
    model = pydantic.create_model(
        f"{getattr(func, '__qualname__', 'handler')}Arguments", __config__=config, **fields
    )
    return model, var_keyword


#: As Django's form fields say it (``ProhibitNullCharactersValidator``).
NULL_CHARACTERS = "Null characters are not allowed."
#: A lone UTF-16 surrogate (``"\ud800"`` in JSON) is no character: it cannot be encoded.
LONE_SURROGATES = "Lone surrogates are not allowed."
#: As pydantic says it for ``NaN``, ``Infinity`` and numbers such as ``1e400``.
NOT_FINITE = "Input should be a finite number"


def is_encodable(text: str) -> bool:
    """Return whether ``text`` can be sent and stored: it holds no lone surrogate."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def escaped(text: str) -> str:
    """Return ``text`` with any lone surrogate written as a ``\\udxxx`` escape."""
    if is_encodable(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def refusal(value: Any, *, null_characters: bool = True) -> str | None:
    """Return why ``value`` (any JSON value, searched through) cannot be an argument, or ``None``.

    Lone surrogates, non-finite numbers and, unless ``null_characters`` is false, NULs.
    """
    # A loop, not recursion: the HTTP fallback does not bound the nesting depth.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not is_encodable(item):
                return LONE_SURROGATES
            if null_characters and "\x00" in item:
                return NULL_CHARACTERS
        elif isinstance(item, float):
            if not math.isfinite(item):
                return NOT_FINITE
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None


def check_payload(
    event: object,
    payload: Mapping[str, Any],
    *,
    null_characters: bool = True,
    taken: Collection[str] | None = None,
) -> None:
    """Raise ``InvalidArguments`` for each argument that holds a value no handler may see.

    No form field can send a NUL (and PostgreSQL refuses them in text columns), no
    database stores a lone surrogate, and ``int()`` of an infinite float raises. With
    ``taken`` (the names the handler takes), other names are reported unexpected
    beside such a value, and their values are not looked at.
    """
    fields: dict[str, str] = {}
    unexpected: dict[str, str] = {}
    for name, value in payload.items():
        if taken is not None and name not in taken:
            message = refusal(name, null_characters=null_characters)
            if message is None:
                unexpected[escaped(str(name))] = "Unexpected argument"
                continue
        else:
            message = refusal([name, value], null_characters=null_characters)
        if message is not None:
            fields[escaped(str(name))] = message
    if fields:
        fields = {name: fields.get(name) or unexpected[name] for name in [*fields, *unexpected]}
        summary = "; ".join(f"{name}: {message}" for name, message in fields.items())
        raise InvalidArguments(f"Invalid arguments for {event!r}: {summary}", fields)


def validate(func: Callable[..., Any], event: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``payload`` validated and coerced for ``func``, or raise ``InvalidArguments``."""
    # Key the cache on the plain function: a bound method is new for every component.
    model, var_keyword = _model_for(getattr(func, "__func__", func))
    # Before pydantic: a custom validator may call ``int()`` on an infinite float.
    taken = None if var_keyword else model.model_fields
    check_payload(event, payload, null_characters=False, taken=taken)
    if var_keyword and "self" in payload:
        # It would get through to ``**kwargs`` and clash with the bound instance (a TypeError).
        raise InvalidArguments(
            f"Invalid arguments for {event!r}: self: Unexpected argument",
            {"self": "Unexpected argument"},
        )
    try:
        instance = model.model_validate(dict(payload))
    except pydantic.ValidationError as exc:
        fields: dict[str, str] = {}
        for error in exc.errors(include_url=False):
            location = ".".join(str(part) for part in error["loc"]) or "__all__"
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                message = "Unexpected argument"
            fields.setdefault(location, message)
        summary = "; ".join(f"{name}: {message}" for name, message in fields.items())
        raise InvalidArguments(f"Invalid arguments for {event!r}: {summary}", fields) from exc
    values = {name: getattr(instance, name) for name in type(instance).model_fields}
    if var_keyword and instance.model_extra:
        values.update(instance.model_extra)
    return values
