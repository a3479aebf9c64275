"""The entangle functions as polars expressions (a polars plugin).

The reductions return one value for the frame, or for each group in
``group_by().agg()``, eager or lazy; ``permute`` is element-wise. Features are
one Array/List column of numbers, or a list of numeric column names (passed
as a struct, which copies no buffer). Numbers equal the command line's bit
for bit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar, Union

import polars as pl
from polars.plugins import register_plugin_function

from entangle import _native
from entangle._docs import EXPRESSION_FEATURES, EXPRESSION_LABEL, documented
from entangle._options import Levels, Shape, given

_LIBRARY = Path(__file__).parent

Features = Union[pl.Expr, str, Sequence[str]]
Label = Union[pl.Expr, str, None]
Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def _features(features: Features) -> pl.Expr:
    if isinstance(features, pl.Expr):
        return features
    if isinstance(features, str):
        return pl.col(features)
    names = list(features)
    if not names or not all(isinstance(name, str) for name in names):
        raise TypeError(
            "features: expected an expression, a column name or a list of column names, "
            f"got {features!r}"
        )
    return pl.struct(names)


def _label(label: Label) -> list[pl.Expr]:
    if label is None:
        return []
    return [pl.col(label) if isinstance(label, str) else label]


class OptionError(ValueError, pl.exceptions.ComputeError):
    """A keyword option that the native library refuses, raised where the
    expression is built: a ``ValueError`` there, and the polars
    ``ComputeError`` that the query would have raised."""


def _reduction(name: str, args: list[pl.Expr], options: dict) -> pl.Expr:
    problem = _native.options_problem(name, json.dumps(options))
    if problem is not None:
        raise OptionError(problem)
    return register_plugin_function(
        plugin_path=_LIBRARY,
        function_name=name,
        args=args,
        # Always one key: polars sends nothing for an empty dict.
        kwargs={"options": options},
        is_elementwise=False,
        returns_scalar=True,
    )


@documented(
    "polars.Expr\nA ``Float64`` per frame or group.",
    features=EXPRESSION_FEATURES,
    label=EXPRESSION_LABEL,
)
def entanglement(
    features: Features,
    label: Label = None,
    *,
    shape: Shape = None,
    levels: Levels = None,
    theta: float | None = None,
    max_samples: int | None = None,
    seed: int | None = None,
    standardize: bool | None = None,
    skip_null_rows: bool | None = None,
) -> pl.Expr:
    """The entanglement (mean over levels of the per-level mean entropy) of
    the rows: a ``Float64`` per frame or group. ``label`` (integer, boolean
    or string) gives the labeled measure; omit it for unlabeled data."""
    options = given(locals(), "features", "label")
    return _reduction("entanglement", [_features(features), *_label(label)], options)


@documented(
    "polars.Expr\nA list of structs ``{level, chunk, size, entropy, geometric}`` per frame "
    "or group.",
    features=EXPRESSION_FEATURES,
    label=EXPRESSION_LABEL,
)
def entanglement_profile(
    features: Features,
    label: Label = None,
    *,
    shape: Shape = None,
    levels: Levels = None,
    theta: float | None = None,
    max_samples: int | None = None,
    seed: int | None = None,
    standardize: bool | None = None,
    skip_null_rows: bool | None = None,
) -> pl.Expr:
    """Every canonical partition's entanglement: a list of structs
    ``{level, chunk, size, entropy, geometric}`` per frame or group
    (``explode`` then ``unnest`` it for rows)."""
    options = given(locals(), "features", "label")
    return _reduction("entanglement_profile", [_features(features), *_label(label)], options)


@documented(
    "polars.Expr\nA ``Float64`` per frame or group.",
    features=EXPRESSION_FEATURES,
)
def surrogate_entanglement(
    features: Features,
    *,
    shape: Shape = None,
    levels: Levels = None,
    skip_null_rows: bool | None = None,
    weights: str | None = None,
    neighbours: int | None = None,
) -> pl.Expr:
    """The surrogate entanglement from all rows: the mean over levels of the
    mean |correlation| cut by the canonical partitions. ``weights`` is
    ``"auto"`` (default: sparse above 4096 features), ``"dense"`` or
    ``"sparse"``; ``neighbours`` is the number of strongest correlations
    kept per feature with sparse weights (default 16)."""
    options = given(locals(), "features")
    return _reduction("surrogate_entanglement", [_features(features)], options)


@documented(
    "polars.Expr\nA ``List(Int32)`` per frame or group: element g is the input position "
    "of the feature placed at grid position g.",
    features=EXPRESSION_FEATURES,
)
def feature_order(
    features: Features,
    *,
    shape: Shape = None,
    levels: Levels = None,
    seed: int | None = None,
    skip_null_rows: bool | None = None,
    placement: str | None = None,
    shrink: str | float | None = None,
    weights: str | None = None,
    neighbours: int | None = None,
) -> pl.Expr:
    """The feature order that lowers the entanglement, a ``List(Int32)``:
    element g is the input position of the feature placed at grid position g.
    ``placement`` is ``"seams"`` (default) or ``"tree"``; ``shrink`` is
    ``"none"`` (default), ``"auto"`` or τ (as ``entangle arrange --shrink``);
    ``weights`` and ``neighbours`` as for :func:`surrogate_entanglement`."""
    options = given(locals(), "features")
    return _reduction("feature_order", [_features(features)], options)


@documented(
    "polars.Expr\nThe column, of the same type, with each row's elements reordered.",
    features=("polars.Expr or str", "An Array or List column (an expression or its name)."),
    order=(
        "sequence of int",
        "A permutation of the row width: element g of the result is element ``order[g]`` "
        "of the input (a :func:`feature_order`'s value).",
    ),
)
def permute(features: pl.Expr | str, order: Sequence[int]) -> pl.Expr:
    """Each row's elements reordered: element g becomes element ``order[g]``
    (apply a saved :func:`feature_order` to an Array or List column)."""
    expr = pl.col(features) if isinstance(features, str) else features
    return register_plugin_function(
        plugin_path=_LIBRARY,
        function_name="permute",
        args=[expr],
        kwargs={"order": [int(i) for i in order]},
        is_elementwise=True,
    )


@documented(
    "tuple of (frame, list of int)\nThe frame, of the type given, with its features "
    "rearranged; and the order (element g is the input position of the feature placed at "
    "grid position g).",
    frame=("polars.DataFrame or polars.LazyFrame", "The frame; a ``LazyFrame`` stays lazy."),
    features=(
        "sequence of str, optional",
        "The feature columns (wide layout), in grid order. Give exactly one of ``features``, "
        "``array`` and ``features_prefix``.",
    ),
)
def rearrange(
    frame: Frame,
    features: Sequence[str] | None = None,
    *,
    array: str | None = None,
    features_prefix: str | None = None,
    shape: Shape = None,
    levels: Levels = None,
    seed: int | None = None,
    skip_null_rows: bool | None = None,
    placement: str | None = None,
    shrink: str | float | None = None,
    weights: str | None = None,
    neighbours: int | None = None,
) -> tuple[Frame, list[int]]:
    """``frame`` with its features rearranged, and the order. Wide layout
    (``features`` names, or every numeric column starting with
    ``features_prefix``): the feature columns trade places, names and values
    together; ``array`` layout: each row's elements are permuted. Other
    columns and the row order are untouched. The order is computed from all
    rows in one pass; a ``LazyFrame`` stays lazy."""
    if sum(x is not None for x in (features, array, features_prefix)) != 1:
        raise ValueError("rearrange: give exactly one of features=, array= and features_prefix=")
    lazy = frame.lazy()
    schema = lazy.collect_schema()
    options = dict(
        shape=shape,
        levels=levels,
        seed=seed,
        skip_null_rows=skip_null_rows,
        placement=placement,
        shrink=shrink,
        weights=weights,
        neighbours=neighbours,
    )
    if array is not None:
        order = _order(lazy, pl.col(array), options)
        result = lazy.with_columns(permute(array, order))
    else:
        if features is not None:
            names = list(features)
        else:
            names = [
                name
                for name, dtype in schema.items()
                if name.startswith(features_prefix) and dtype.is_numeric()
            ]
            if not names:
                raise ValueError(
                    f"rearrange: no numeric column starts with {features_prefix!r}"
                )
        order = _order(lazy, pl.struct(names), options)
        # The column of feature g (selection order) receives feature order[g].
        slot = {name: g for g, name in enumerate(names)}
        result = lazy.select(
            pl.col(names[order[slot[name]]]) if name in slot else pl.col(name)
            for name in schema.names()
        )
    return (result.collect() if isinstance(frame, pl.DataFrame) else result), order


def _order(lazy: pl.LazyFrame, features: pl.Expr, options: dict) -> list[int]:
    result = lazy.select(feature_order(features, **options).alias("order")).collect()
    order = result["order"][0]
    if order is None:
        raise ValueError("rearrange: the frame has no rows to order features by")
    return [int(i) for i in order]
