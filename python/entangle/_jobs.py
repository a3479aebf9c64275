"""Notebook functions: the command line's ``profile``, ``arrange`` and
``apply`` on Parquet/CSV files, returning what ``--json`` prints."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any, Union

from entangle import _native
from entangle._options import Levels, Shape, given

PathLike = Union[str, "os.PathLike[str]"]


def profile(
    source: PathLike | Any,
    *,
    features: Sequence[str] | None = None,
    features_prefix: str | None = None,
    array: str | None = None,
    shape: Shape = None,
    label: str | None = None,
    levels: Levels = None,
    max_samples: int | None = None,
    seed: int | None = None,
    theta: float | None = None,
    standardize: bool | None = None,
    skip_null_rows: bool = False,
    weights: str | None = None,
    neighbours: int | None = None,
) -> dict[str, Any]:
    """The entanglement profile of a Parquet/CSV file or directory, or of a
    frame (a polars ``DataFrame``/``LazyFrame``, a pyarrow ``Table``: any
    object with ``__arrow_c_stream__``, read without copying its buffers), as
    ``entangle profile --json`` prints it: ``rows``, ``samples_used``,
    ``features``, ``shape``, ``levels`` (each partition's entropy and
    geometric value), ``mean_entropy``, ``surrogate`` (with ``seams``)."""
    options = given(locals(), "source")
    if isinstance(source, (str, os.PathLike)):
        return json.loads(_native.profile(os.fspath(source), json.dumps(options)))
    if hasattr(source, "collect") and not hasattr(source, "__arrow_c_stream__"):
        source = source.collect()  # a polars LazyFrame
    if not hasattr(source, "__arrow_c_stream__"):
        raise TypeError(
            "profile: expected a path, or a frame with __arrow_c_stream__ "
            f"(polars, pyarrow), got {type(source).__name__}"
        )
    return json.loads(_native.profile_stream(source.__arrow_c_stream__(), json.dumps(options)))


def arrange(
    source: PathLike,
    output: PathLike,
    *,
    order_out: PathLike | None = None,
    features: Sequence[str] | None = None,
    features_prefix: str | None = None,
    array: str | None = None,
    shape: Shape = None,
    label: str | None = None,
    levels: Levels = None,
    max_samples: int | None = None,
    seed: int | None = None,
    theta: float | None = None,
    standardize: bool | None = None,
    skip_null_rows: bool = False,
    weights: str | None = None,
    neighbours: int | None = None,
    report: str | None = None,
    placement: str | None = None,
    shrink: str | float | None = None,
) -> dict[str, Any]:
    """Rearranges the features of a Parquet/CSV file (or directory) into
    ``output`` (written atomically), as ``entangle arrange --json`` does:
    returns ``{"report", "order", "before", "after"}`` (and ``"shrink"``, the
    τ used, when ``shrink`` is ``"auto"`` or a number). ``order_out`` also
    writes the order file for :func:`apply`."""
    options = given(locals(), "source", "output", "order_out")
    order_out = None if order_out is None else os.fspath(order_out)
    text = _native.arrange(os.fspath(source), os.fspath(output), order_out, json.dumps(options))
    return json.loads(text)


def apply(
    source: PathLike,
    order: PathLike,
    output: PathLike,
    *,
    features: Sequence[str] | None = None,
    array: str | None = None,
    shape: Shape = None,
) -> dict[str, int]:
    """Puts a file (a test split, new data) in the layout of a saved order
    file, as ``entangle apply`` does; returns ``{"rows", "features"}``."""
    options = given(locals(), "source", "order", "output")
    text = _native.apply(os.fspath(source), os.fspath(order), os.fspath(output), json.dumps(options))
    return json.loads(text)
