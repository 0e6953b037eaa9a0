import hashlib
from pathlib import Path

import pytest

import config
from retry import call_with_retries

HERE = Path(__file__).resolve().parent
# retry.py as shipped: the task is to change the setting, not the code that reads it.
RETRY_PY_SHA256 = "af549fa5853e8e01d2249be55e8592d97301bd01bd839419978e5f34fc6b54be"


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


def test_the_setting_is_three_retries():
    assert config.MAX_RETRIES == 3


def test_retry_py_is_unchanged():
    digest = hashlib.sha256((HERE / "retry.py").read_bytes()).hexdigest()
    assert digest == RETRY_PY_SHA256, "retry.py must not change; change the setting in config.py"


def test_no_other_file_was_added():
    found = {p.relative_to(HERE).as_posix() for p in HERE.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts}
    extra = sorted(found - {"config.py", "retry.py", Path(__file__).name})
    assert not extra, f"only config.py should change; these files should not exist: {extra}"
