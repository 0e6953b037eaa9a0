import inspect
import re
from pathlib import Path

import pytest

from mathutils import average, clamp

HERE = Path(__file__).resolve().parent


def test_clamp_has_a_docstring():
    assert inspect.getdoc(clamp), "clamp() has no docstring"


def test_the_docstring_says_what_clamp_returns():
    doc = inspect.getdoc(clamp) or ""
    assert re.search(r"\breturn", doc, re.IGNORECASE), "the docstring must say what clamp() returns"
    words = set(re.findall(r"\w+", doc))
    assert {"low", "high"} <= words, "the docstring must say how the result relates to low and high"


def test_the_docstring_says_when_clamp_raises():
    doc = inspect.getdoc(clamp) or ""
    assert "ValueError" in doc, "the docstring must say that clamp() raises ValueError (when low > high)"


def test_no_other_file_was_added():
    found = {p.relative_to(HERE).as_posix() for p in HERE.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts}
    extra = sorted(found - {"mathutils.py", Path(__file__).name})
    assert not extra, f"only mathutils.py should change; these files should not exist: {extra}"


def test_clamp_signature_unchanged():
    assert list(inspect.signature(clamp).parameters) == ["value", "low", "high"]


@pytest.mark.parametrize(
    "value, low, high, expected",
    [(5, 0, 10, 5), (-3, 0, 10, 0), (42, 0, 10, 10), (0, 0, 0, 0), (2.5, 1, 3, 2.5)],
)
def test_clamp_still_clamps(value, low, high, expected):
    assert clamp(value, low, high) == expected


def test_clamp_still_rejects_inverted_range():
    with pytest.raises(ValueError):
        clamp(1, 10, 0)


def test_average_unchanged():
    assert average([1, 2, 3, 4]) == 2.5
    assert average([]) == 0.0
