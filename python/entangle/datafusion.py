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

from entangle import _native

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


def register(ctx: _datafusion.SessionContext) -> None:
    """Registers every entangle SQL function in ``ctx``."""
    for name in _native.AggregateFunction.names:
        ctx.register_udaf(_datafusion.udaf(_native.AggregateFunction(name)))
    ctx.register_udf(_datafusion.udf(_native.PermuteFunction()))
    ctx.register_udtf(_datafusion.udtf(_native.RearrangeFunction(), "rearrange"))
