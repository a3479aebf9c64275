"""Notebook functions: the command line's ``profile``, ``arrange`` and
``apply`` on Parquet/CSV files, returning what ``--json`` prints, wrapped in
a :class:`Report` that shows the report page in Jupyter."""

from __future__ import annotations

import html
import json
import os
import tempfile
import warnings
from collections.abc import Sequence
from typing import Any, Union

from entangle import _native
from entangle._docs import JOB_FEATURES, documented
from entangle._options import Levels, Shape, given

PathLike = Union[str, "os.PathLike[str]"]


class Report(dict):  # type: ignore[type-arg]
    """What a job returns: the dictionary that ``--json`` prints (``dict(report)``,
    ``report["before"]`` work as on any dictionary), with the report page that
    ``--html`` writes: Jupyter shows it (``_repr_html_``, isolated in an iframe
    so that its style and ids stay its own), :meth:`to_html` writes it."""

    def __init__(self, result: dict[str, Any], page: str) -> None:
        super().__init__(result)
        self._page = page

    @property
    def html(self) -> str:
        """The report page: one self-contained HTML document."""
        return self._page

    def _repr_html_(self) -> str:
        return (
            '<iframe title="entangle report" style="width: 100%; height: 900px; border: 0" '
            f'srcdoc="{html.escape(self._page, quote=True)}"></iframe>'
        )

    @documented(
        "None\nThe page is written to ``path``.",
        path=("str or os.PathLike", "The HTML file to write; its directory must exist."),
    )
    def to_html(self, path: PathLike) -> None:
        """Writes the report page to ``path``, atomically (a temporary file
        beside it, flushed to disk, then renamed over it)."""
        path = os.fspath(path)
        directory = os.path.dirname(os.path.abspath(path))
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=directory, prefix=".entangle-", suffix=".html", delete=False
        ) as out:
            try:
                out.write(self._page)
                out.flush()
                os.fsync(out.fileno())
            except BaseException:
                os.unlink(out.name)
                raise
        os.replace(out.name, path)


def _report(result: tuple[str, str]) -> Report:
    text, page = result
    report = Report(json.loads(text), page)
    taken = report.get("feature_columns", {}).get("identifier_like", [])
    if taken:
        names = ", ".join(repr(name) for name in taken)
        # stacklevel 3: the caller of profile()/arrange().
        warnings.warn(
            f"integer column {names} looks like a row identifier but was taken as a feature: "
            "name the features (features=, features_prefix= or array=) to leave it out",
            UserWarning,
            stacklevel=3,
        )
    return report


@documented(
    "Report\nThe ``--json`` dictionary (with ``feature_columns``: the columns the features "
    "were taken from) and its report page.",
    source=(
    "str, path or frame",
    "A Parquet or CSV file, a directory of them, or a frame: a polars ``DataFrame`` or "
    "``LazyFrame``, a pyarrow ``Table`` (any object with ``__arrow_c_stream__``; its "
    "buffers are read without a copy).",
    ),
    features=JOB_FEATURES,
)
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
) -> Report:
    """The entanglement profile of a Parquet/CSV file or directory, or of a
    frame (a polars ``DataFrame``/``LazyFrame``, a pyarrow ``Table``: any
    object with ``__arrow_c_stream__``, read without copying its buffers), as
    ``entangle profile --json`` prints it: ``rows``, ``samples_used``,
    ``features``, ``shape``, ``levels`` (each partition's entropy and
    geometric value), ``mean_entropy``, ``surrogate`` (with ``seams``); a
    :class:`Report`, which also holds the report page (``--html``)."""
    options = given(locals(), "source")
    if isinstance(source, (str, os.PathLike)):
        return _report(_native.profile(os.fspath(source), json.dumps(options)))
    if hasattr(source, "collect") and not hasattr(source, "__arrow_c_stream__"):
        source = source.collect()  # a polars LazyFrame
    if not hasattr(source, "__arrow_c_stream__"):
        raise TypeError(
            "profile: expected a path, or a frame with __arrow_c_stream__ "
            f"(polars, pyarrow), got {type(source).__name__}"
        )
    return _report(_native.profile_stream(source.__arrow_c_stream__(), json.dumps(options)))


@documented(
    "Report\n``{'report', 'order', 'before', 'after', 'feature_columns'}`` (and ``'shrink'``, "
    "the tau used, when shrinking; the data's size with the surrogate report) and its "
    "report page.",
    source=("str or os.PathLike", "A Parquet or CSV file, or a directory of them."),
    output=(
        "str or os.PathLike",
        "The rearranged dataset (Parquet; CSV if it ends in .csv; a directory for a "
        "directory), written atomically. Its directory must exist.",
    ),
    order_out=(
        "str or os.PathLike, optional",
        "Also write the order file here, for :func:`apply`.",
    ),
    features=JOB_FEATURES,
    report=(
        "{'auto', 'entanglement', 'surrogate'}, optional",
        "What to report before and after: the exact entanglement profiles (on the rows "
        "``profile`` uses), the surrogate alone (all rows, no entropies; seconds for tens of "
        "thousands of features), or ``'auto'`` (default: entanglement up to 4096 features, "
        "the surrogate above).",
    ),
)
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
) -> Report:
    """Rearranges the features of a Parquet/CSV file (or directory) into
    ``output`` (written atomically), as ``entangle arrange --json`` does:
    returns ``{"report", "order", "before", "after"}`` (and ``"shrink"``, the
    τ used, when ``shrink`` is ``"auto"`` or a number). ``order_out`` also
    writes the order file for :func:`apply`. A :class:`Report`: Jupyter shows
    the report page (``--html``), ``to_html(path)`` writes it."""
    options = given(locals(), "source", "output", "order_out")
    order_out = None if order_out is None else os.fspath(order_out)
    return _report(
        _native.arrange(os.fspath(source), os.fspath(output), order_out, json.dumps(options))
    )


@documented(
    "Report\n``{'rows', 'features'}`` and a report page showing the order applied.",
    source=("str or os.PathLike", "A Parquet or CSV file, or a directory of them."),
    order=("str or os.PathLike", "An order file written by :func:`arrange` (``order_out``)."),
    output=(
        "str or os.PathLike",
        "The rearranged dataset, written atomically. Its directory must exist.",
    ),
    features=(
        "sequence of str, optional",
        "The feature columns, overriding the names in the order file.",
    ),
    array=("str, optional", "The array column, overriding the one in the order file."),
    shape=("sequence of int, optional", "The grid, overriding the order file's."),
)
def apply(
    source: PathLike,
    order: PathLike,
    output: PathLike,
    *,
    features: Sequence[str] | None = None,
    array: str | None = None,
    shape: Shape = None,
) -> Report:
    """Puts a file (a test split, new data) in the layout of a saved order
    file, as ``entangle apply`` does; returns ``{"rows", "features"}`` as a
    :class:`Report` whose page shows the order applied."""
    options = given(locals(), "source", "order", "output")
    return _report(
        _native.apply(os.fspath(source), os.fspath(order), os.fspath(output), json.dumps(options))
    )
