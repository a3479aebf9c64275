"""entangle: how well a dataset suits locally connected neural networks.

The entanglement of a dataset's data tensor under the canonical partitions of
its features tells, without training anything, whether a CNN, RNN, S4 model or
local attention can fit it in this feature order; ``arrange`` finds an order
that suits them better. One native library carries everything:

* polars expressions: :func:`entanglement`, :func:`entanglement_profile`,
  :func:`surrogate_entanglement`, :func:`feature_order`, :func:`permute`, and
  :func:`rearrange` for a whole frame;
* DataFusion SQL functions: ``entangle.datafusion.register(ctx)``;
* notebook functions on Parquet/CSV files: :func:`profile`, :func:`arrange`,
  :func:`apply` (the command line's jobs; the GIL is released while they run),
  returning a :class:`Report`: the ``--json`` dictionary that Jupyter shows
  as the report page.
"""

from __future__ import annotations

from entangle._expressions import (
    entanglement,
    entanglement_profile,
    feature_order,
    permute,
    rearrange,
    surrogate_entanglement,
)
from entangle._jobs import Report, apply, arrange, profile
from entangle._native import __version__

__all__ = [
    "Report",
    "__version__",
    "apply",
    "arrange",
    "entanglement",
    "entanglement_profile",
    "feature_order",
    "permute",
    "profile",
    "rearrange",
    "surrogate_entanglement",
]
