"""Keyword options: collected here, checked by the native library against the
one declaration of every option (``entangle::options``, whose table
:data:`KEYS` is)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Union

from entangle import _native

Levels = Union[int, str, Iterable[int], None]
Shape = Union[Sequence[int], str, None]

#: Every option as the native library declares it: ``name``, ``value``,
#: ``default``, ``doc`` and ``takes`` (the functions that accept it).
KEYS: list[dict[str, Any]] = json.loads(_native.option_keys())


def given(arguments: dict[str, Any], *positional: str) -> dict[str, Any]:
    """The keyword options of a call (its ``locals()`` before anything else
    is bound, less the ``positional`` arguments) that were given (not None),
    with iterables other than strings as lists (a range or a tuple crosses
    to the native library as a list; the library parses and checks every
    value)."""
    return {
        key: list(value) if isinstance(value, Iterable) and not isinstance(value, str) else value
        for key, value in arguments.items()
        if key not in positional and value is not None
    }
