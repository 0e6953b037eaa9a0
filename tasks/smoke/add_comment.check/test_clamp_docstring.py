import inspect

import pytest

from mathutils import average, clamp


def test_clamp_has_a_docstring():
    doc = inspect.getdoc(clamp)
    assert doc is not None and len(doc.strip()) >= 10


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
