import pytest

import config
from retry import call_with_retries


def flaky(failures):
    calls = []

    def func():
        calls.append(1)
        if len(calls) <= failures:
            raise ConnectionError(f"attempt {len(calls)} failed")
        return "payload"

    return func, calls


def test_succeeds_after_three_failures():
    func, calls = flaky(3)
    assert call_with_retries(func) == "payload"
    assert len(calls) == 4


def test_gives_up_after_four_attempts():
    func, calls = flaky(10)
    with pytest.raises(ConnectionError):
        call_with_retries(func)
    assert len(calls) == 4


def test_no_retry_needed():
    func, calls = flaky(0)
    assert call_with_retries(func) == "payload"
    assert len(calls) == 1


def test_backoff_stays_zero():
    assert config.BACKOFF_SECONDS == 0
