"""Keyword options, checked and put in the form the native library takes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Union

Levels = Union[int, str, Iterable[int], None]
Shape = Union[Sequence[int], None]


def levels_list(levels: Levels) -> list[int] | None:
    """The levels as a list: ``2``, ``"2"``, ``"1..3"``, ``"1,2,3"``,
    ``range(1, 4)`` or ``[1, 2, 3]`` (the native side checks the range)."""
    if levels is None:
        return None
    if isinstance(levels, int):
        return [levels]
    if isinstance(levels, str):
        try:
            if ".." in levels:
                low, high = levels.split("..", 1)
                return list(range(int(low), int(high) + 1))
            return [int(level) for level in levels.split(",")]
        except ValueError:
            raise ValueError(
                f"levels: expected a level, a range such as '1..3' or a list, got {levels!r}"
            ) from None
    return [int(level) for level in levels]


def shape_list(shape: Shape) -> list[int] | None:
    if shape is None:
        return None
    if isinstance(shape, (str, bytes)):
        raise TypeError(f"shape: expected a sequence of sizes like (16, 16), got {shape!r}")
    return [int(side) for side in shape]


def given(arguments: dict[str, Any], *positional: str) -> dict[str, Any]:
    """The keyword options of a call (its ``locals()`` before anything else
    is bound, less the ``positional`` arguments) that were given (not None),
    levels, shape and feature names as lists."""
    options = {
        key: value
        for key, value in arguments.items()
        if key not in positional and value is not None
    }
    if "levels" in options:
        options["levels"] = levels_list(options["levels"])
    if "shape" in options:
        options["shape"] = shape_list(options["shape"])
    if "features" in options:
        options["features"] = list(options["features"])
    return options
