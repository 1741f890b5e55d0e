"""Internal: the shared vocabulary of ``live``'s modules, named once."""

from __future__ import annotations

from typing import Any, TypeAlias

#: A JSON object as sent or received on the wire.
Frame: TypeAlias = dict[str, Any]

#: A JSON-serialisable component state.
State: TypeAlias = dict[str, Any]

#: One edit: ``[start, deleted, inserted]`` in UTF-16 code units of the old string.
Op: TypeAlias = list[Any]

#: Component parameters given at mount (template tag keyword arguments, URL kwargs).
Params: TypeAlias = dict[str, Any]
