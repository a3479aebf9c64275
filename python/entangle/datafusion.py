"""entangle's SQL functions in datafusion-python, through the DataFusion FFI.

>>> from datafusion import SessionContext
>>> import entangle.datafusion
>>> ctx = SessionContext()
>>> entangle.datafusion.register(ctx)
>>> ctx.sql("SELECT entanglement(pixels, bright_blob, 'shape=16x16') FROM images")

Registers ``entanglement``, ``entanglement_profile``,
``surrogate_entanglement``, ``feature_order`` (aggregates), ``permute``
(scalar) and the table function ``rearrange``; their documentation is in
``docs/sql.md``. The FFI requires datafusion-python of the same major version
as the DataFusion entangle was built with (55): another version is refused
here, because a mismatch would crash the process.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from entangle import _native
from entangle._docs import documented

if _native.DATAFUSION_MAJOR is None:
    raise ImportError(
        "this build of entangle has no SQL functions: it was built from source without its "
        "`datafusion` feature; install the wheel, or build with the default features"
    )

try:
    import datafusion as _datafusion
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "entangle.datafusion needs datafusion-python "
        f"{_native.DATAFUSION_MAJOR}.x: pip install 'datafusion=={_native.DATAFUSION_MAJOR}.*'"
    ) from error

_version = getattr(_datafusion, "__version__", "0")
if _version.split(".")[0] != str(_native.DATAFUSION_MAJOR):
    raise ImportError(
        f"entangle.datafusion was built for datafusion-python {_native.DATAFUSION_MAJOR}.x, "
        f"found {_version}: the DataFusion FFI needs the same major version "
        f"(pip install 'datafusion=={_native.DATAFUSION_MAJOR}.*')"
    )

__all__ = ["register"]

# `rearrange` runs queries while its caller's query is being planned, on
# datafusion-python's runtime; blocking on that runtime from inside it is
# refused, so they run on a thread of their own.
_planner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="entangle-rearrange")


@documented(
    "None\nThe functions are registered in ``ctx``.",
    ctx=(
        "datafusion.SessionContext",
        "The session to register the functions in (datafusion-python 55.x).",
    ),
)
def register(ctx: _datafusion.SessionContext) -> None:
    """Registers every entangle SQL function in ``ctx``."""
    for name in _native.AggregateFunction.names:
        ctx.register_udaf(_datafusion.udaf(_native.AggregateFunction(name)))
    ctx.register_udf(_datafusion.udf(_native.PermuteFunction()))
    ctx.register_udtf(_datafusion.udtf(_rearrange, "rearrange", with_session=True))


def _rearrange(*arguments: _datafusion.Expr, session: _datafusion.SessionContext) -> Any:
    """``rearrange(source [, options])``: the source with its features
    rearranged, as a view of the calling session."""
    call = _native.RearrangeCall([argument.to_bytes() for argument in arguments])
    return _planner.submit(_rearranged_view, call, session).result()


def _rearranged_view(call: _native.RearrangeCall, session: _datafusion.SessionContext) -> Any:
    source = call.source
    kind = call.source_kind(session.table_exist(source))
    if kind == "table":
        frame = session.table(source)
    elif kind == "csv":
        frame = session.read_csv(source)
    else:
        frame = session.read_parquet(source)
    plan = call.plan(frame.schema())
    order_expr = _datafusion.Expr.from_bytes(plan.order_expr(), session)
    rows = frame.aggregate([], [order_expr]).to_pylist()
    order = rows[0]["order"] if rows else None
    select = [_datafusion.Expr.from_bytes(expr, session) for expr in plan.select(order)]
    return frame.select(*select).into_view(False)
