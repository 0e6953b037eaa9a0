import pytest

from durations import format_duration, parse_duration


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
    ["", "   ", "5", "abc", "1x", "h", "30m1h", "1h1h", "-5s", "1.5h", "1h 30m", "1H", "m5"],
)
def test_invalid(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("seconds", [0, 1, 59, 60, 61, 3599, 3600, 5400, 86399, 90061])
def test_round_trip(seconds):
    assert parse_duration(format_duration(seconds)) == seconds


def test_format_unchanged():
    assert format_duration(5400) == "1h30m"
    assert format_duration(0) == "0s"
