"""The numpy-style ``Parameters`` and ``Returns`` sections of the public
functions. A keyword that several functions take (``theta``, ``shape``, ...)
is described once, here; a function gives its own text only where its
meaning differs. A parameter without a description fails at import."""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])

# name -> (type, description), as numpydoc writes ``name : type``.
SHARED: dict[str, tuple[str, str]] = {
    "label": (
        "str, optional",
        "The label column (integer, boolean or string; a float column is refused). With "
        "two classes the labeled entropy, with more the mean over one-vs-rest classes. "
        "Omit it for unlabeled data.",
    ),
    "shape": (
        "sequence of int, optional",
        "The grid the features lie on, e.g. ``(16, 16)`` for images; its sizes multiply to "
        "the number of features. Default: one dimension.",
    ),
    "levels": (
        "int, str or iterable of int, optional",
        "The levels of the canonical tree to report or minimise: ``2``, ``'1..3'``, "
        "``'1,2,3'``, ``range(1, 4)``. Default: every level where all nodes exist.",
    ),
    "theta": (
        "float, optional",
        "The frequency of the feature map x -> (cos(pi theta x), sin(pi theta x)). "
        "Default 0.085.",
    ),
    "max_samples": (
        "int, optional",
        "Rows the entropies are computed on; beyond it a seeded bottom-k sample of the "
        "rows is used. Default 1000.",
    ),
    "seed": ("int, optional", "The seed of the row sample and of the arrangement. Default 0."),
    "standardize": (
        "bool, optional",
        "Standardize each feature (mean 0, variance 1) before the feature map. Default True.",
    ),
    "skip_null_rows": (
        "bool, optional",
        "Drop rows whose features hold a null instead of failing. Default False.",
    ),
    "weights": (
        "{'auto', 'dense', 'sparse'}, optional",
        "The surrogate's |correlation| weights: ``'dense'`` (N x N co-moments), "
        "``'sparse'`` (each feature's strongest correlations, computed in blocks; for tens "
        "of thousands of features) or ``'auto'`` (default: sparse above 4096 features).",
    ),
    "neighbours": (
        "int, optional",
        "The strongest correlations kept per feature with sparse weights. Default 16.",
    ),
    "placement": (
        "{'seams', 'tree'}, optional",
        "How each tree node's children are placed: ``'seams'`` (default) maximises the "
        "|correlation| of grid neighbours, which CNN kernels and sequence models see; "
        "``'tree'`` keeps them as the partitioner left them. No canonical cut changes "
        "either way.",
    ),
    "shrink": (
        "{'none', 'auto'} or float, optional",
        "Lower every |correlation| by tau (to at least 0) before partitioning, so that weak, "
        "noisy ones (about 1/sqrt(rows)) stop pulling features together: ``'none'`` "
        "(default), a number tau in [0, 1), or ``'auto'`` (arranges with tau = 0, 0.05, ..., "
        "0.3 and keeps the order with the highest seam score). For few rows (hundreds).",
    ),
    "features_prefix": (
        "str, optional",
        "Every numeric column whose name starts with this prefix, in column order, is a "
        "feature.",
    ),
    "array": (
        "str, optional",
        "One Array or List column of numbers holding each row's features.",
    ),
}

# The features of the file jobs (profile, arrange, apply).
JOB_FEATURES = (
    "sequence of str, optional",
    "The feature columns, in grid order. Give at most one of ``features``, "
    "``features_prefix`` and ``array``; with none, every numeric column but the label is a "
    "feature (a ``UserWarning`` names an integer column that looks like a row identifier).",
)

# The features argument of the polars expressions.
EXPRESSION_FEATURES = (
    "polars.Expr, str or sequence of str",
    "The features: an Array or List column of numbers (an expression or its name), or a "
    "list of numeric column names (passed as a struct, which copies no buffer).",
)

# The label argument of the polars expressions.
EXPRESSION_LABEL = (
    "polars.Expr or str, optional",
    "The label column (integer, boolean or string; cast a float one with "
    "``pl.col(name).cast(pl.Int64)``). Omit it for unlabeled data.",
)


def _indented(text: str) -> str:
    return textwrap.fill(text, width=76, initial_indent="    ", subsequent_indent="    ")


def _entry(name: str, kind: str, text: str) -> str:
    return f"{name} : {kind}\n{_indented(text)}"


def documented(returns: str, **own: tuple[str, str]) -> Callable[[F], F]:
    """Appends ``Parameters`` (every parameter of the signature, in order:
    ``own`` first, then ``SHARED``) and ``Returns`` to the function's docstring."""

    def decorate(function: F) -> F:
        entries = []
        for name in inspect.signature(function).parameters:
            if name == "self":
                continue
            described = own.get(name) or SHARED.get(name)
            if described is None:
                raise TypeError(f"{function.__qualname__}: parameter {name!r} is not described")
            entries.append(_entry(name, *described))
        summary = inspect.cleandoc(function.__doc__ or "")
        kind, _, text = returns.partition("\n")
        function.__doc__ = (
            f"{summary}\n\nParameters\n----------\n"
            + "\n".join(entries)
            + f"\n\nReturns\n-------\n{kind}\n{_indented(text)}\n"
        )
        return function

    return decorate
