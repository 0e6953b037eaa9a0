from pathlib import Path

import pytest

from durations import format_duration, parse_duration

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1h30m", 5400),
        ("45s", 45),
        ("2h", 7200),
        ("1h2m3s", 3723),
        ("90m", 5400),
        ("0s", 0),
        ("1h5s", 3605),
        ("  10m\n", 600),
        ("100s", 100),
    ],
)
def test_valid(text, expected):
    result = parse_duration(text)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    "text",
    ["", "   ", "5", "abc", "1x", "h", "30m1h", "1h1h", "-5s", "1.5h", "1h 30m", "1H", "m5", "1h30", "2h5", "1hm",
     "1h\n30m", "s1"],
)
def test_invalid(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("seconds", [0, 1, 59, 60, 61, 3599, 3600, 5400, 86399, 90061])
def test_round_trip(seconds):
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(
    "seconds, text",
    [(5400, "1h30m"), (0, "0s"), (59, "59s"), (60, "1m"), (3600, "1h"), (3723, "1h2m3s"), (3605, "1h5s"),
     (90061, "25h1m1s")],
)
def test_format_unchanged(seconds, text):
    assert format_duration(seconds) == text


def test_no_other_file_was_added():
    found = {p.relative_to(HERE).as_posix() for p in HERE.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts}
    extra = sorted(found - {"durations.py", Path(__file__).name})
    assert not extra, f"only durations.py should change; these files should not exist: {extra}"
