"""Every keyword option is the native library's declared key (one
declaration, ``entangle::options``): the same names, the same checks, the
same messages as the SQL string form."""

from __future__ import annotations

import inspect

import polars as pl
import pytest

import entangle
from entangle._options import KEYS

# The functions and the set of keys (``OptionKeys``) that each one takes.
TAKES = {
    "entanglement": "Profile",
    "entanglement_profile": "Profile",
    "surrogate_entanglement": "Surrogate",
    "feature_order": "Surrogate",
    "profile": "ProfileJob",
    "arrange": "ArrangeJob",
}
# Keywords that only the jobs take: the column list and what to report.
JOB_ARGUMENTS = {"features", "report", "order_out"}


def keywords(function: str) -> set[str]:
    parameters = inspect.signature(getattr(entangle, function)).parameters.values()
    return {p.name for p in parameters if p.kind == p.KEYWORD_ONLY} - JOB_ARGUMENTS


@pytest.mark.parametrize("function", TAKES)
def test_keywords_are_declared_keys(function):
    declared = {key["name"] for key in KEYS if TAKES[function] in key["takes"]}
    assert keywords(function) <= declared
    if function in ("profile", "arrange"):
        assert keywords(function) == declared


def test_a_bad_keyword_is_refused_when_the_expression_is_built():
    message = "entangle.feature_order: options: placement: expected seams or tree, got 'best'"
    with pytest.raises(ValueError, match=message):
        entangle.feature_order("pixels", placement="best")
    with pytest.raises(pl.exceptions.ComputeError, match=message):
        entangle.feature_order("pixels", placement="best")
    with pytest.raises(ValueError, match=r"levels: '1\.\.x' is not a level|'x' is not a level number"):
        entangle.entanglement("pixels", levels="1..x")
    # Text forms and Python values give the same expression.
    assert str(entangle.entanglement("pixels", levels="1..3", shape="16x16")) != ""
