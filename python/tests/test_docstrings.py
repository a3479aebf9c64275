"""Every public function explains every keyword (numpy style), so that
``help(entangle.arrange)`` answers what ``theta`` or ``shrink`` is."""

from __future__ import annotations

import inspect
import pydoc
import re

import pytest

import entangle
import entangle.datafusion

PUBLIC = [
    getattr(entangle, name)
    for name in entangle.__all__
    if inspect.isfunction(getattr(entangle, name))
] + [entangle.Report.to_html, entangle.datafusion.register]


def sections(doc: str) -> dict[str, str]:
    """numpydoc's sections: a title line underlined by dashes."""
    parts = re.split(r"\n(\w+)\n-+\n", "\n" + doc)
    return dict(zip(parts[1::2], parts[2::2]))


@pytest.mark.parametrize("function", PUBLIC, ids=lambda f: f.__qualname__)
def test_every_parameter_is_documented(function):
    doc = inspect.getdoc(function)
    found = sections(doc)
    assert doc.split("\n")[0].strip(), "a summary line comes first"
    assert set(found) == {"Parameters", "Returns"}, found.keys()
    entries = re.findall(r"^(\w+) : (.+)\n((?:    .+\n?)+)", found["Parameters"], re.M)
    names = [name for name, _, _ in entries]
    expected = [p for p in inspect.signature(function).parameters if p != "self"]
    assert names == expected
    for name, kind, text in entries:
        assert kind.strip() and len(text.split()) >= 4, (name, kind, text)
    assert found["Returns"].strip()


def test_the_public_functions_are_all_checked():
    assert {f.__name__ for f in PUBLIC} >= {
        "profile", "arrange", "apply", "entanglement", "entanglement_profile",
        "surrogate_entanglement", "feature_order", "permute", "rearrange", "to_html", "register",
    }


def test_help_explains_the_keywords():
    text = pydoc.render_doc(entangle.arrange, renderer=pydoc.plaintext)
    for keyword in ("theta : float, optional", "shrink : {'none', 'auto'} or float, optional",
                    "report : {'auto', 'entanglement', 'surrogate'}, optional",
                    "placement : {'seams', 'tree'}, optional"):
        assert keyword in text
    assert "Default 0.085" in text
