import subprocess
import sys
from pathlib import Path

import pytest

from errors import DuplicateUserError, UserError
from service import register_user
from store import UserStore

HERE = Path(__file__).resolve().parent


def validation_error():
    import errors

    cls = getattr(errors, "ValidationError", None)
    assert cls is not None, "errors.ValidationError is missing"
    return cls


def test_validation_error_class():
    ValidationError = validation_error()
    assert issubclass(ValidationError, UserError)
    err = ValidationError("email", "is not valid")
    assert err.field == "email"
    assert err.message == "is not valid"


def test_valid_user_is_normalised_and_stored():
    store = UserStore()
    user = register_user(store, "  Ada Lovelace ", " Ada@Example.COM ", 36)
    assert (user.name, user.email, user.age) == ("Ada Lovelace", "ada@example.com", 36)
    assert store.get("ada@example.com") == user
    assert len(store) == 1


@pytest.mark.parametrize("age", [13, 120])
def test_age_bounds_are_inclusive(age):
    assert register_user(UserStore(), "Kim", "kim@example.org", age).age == age


def test_fifty_character_name_is_fine():
    assert register_user(UserStore(), "x" * 50, "x@example.org", 30).name == "x" * 50


@pytest.mark.parametrize(
    "name, email, age, field",
    [
        ("", "a@b.co", 30, "name"),
        ("   ", "a@b.co", 30, "name"),
        ("x" * 51, "a@b.co", 30, "name"),
        ("Ada", "", 30, "email"),
        ("Ada", "ada.example.com", 30, "email"),
        ("Ada", "@example.com", 30, "email"),
        ("Ada", "ada@@example.com", 30, "email"),
        ("Ada", "ada@ex@ample.com", 30, "email"),
        ("Ada", "ada@example", 30, "email"),
        ("Ada", "ada@example.", 30, "email"),
        ("Ada", "ada@.com", 30, "email"),
        ("Ada", "a da@example.com", 30, "email"),
        ("Ada", "ada@example.com", 12, "age"),
        ("Ada", "ada@example.com", 121, "age"),
        ("Ada", "ada@example.com", -1, "age"),
        ("Ada", "ada@example.com", 30.0, "age"),
        ("Ada", "ada@example.com", "30", "age"),
        ("Ada", "ada@example.com", True, "age"),
        ("", "broken", 5, "name"),
        ("Ada", "broken", 5, "email"),
    ],
)
def test_invalid_input(name, email, age, field):
    ValidationError = validation_error()
    store = UserStore()
    with pytest.raises(ValidationError) as info:
        register_user(store, name, email, age)
    assert info.value.field == field
    assert isinstance(info.value.message, str) and info.value.message
    assert len(store) == 0


def test_duplicate_uses_normalised_email():
    store = UserStore()
    register_user(store, "Ada", "ada@example.com", 36)
    with pytest.raises(DuplicateUserError):
        register_user(store, "Ada Again", "  ADA@example.com", 40)
    assert len(store) == 1
    assert store.get("ada@example.com").name == "Ada"


def test_invalid_duplicate_reports_validation_first():
    ValidationError = validation_error()
    store = UserStore()
    register_user(store, "Ada", "ada@example.com", 36)
    with pytest.raises(ValidationError):
        register_user(store, "Ada", "ada@example.com", 7)


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "cli.py", *args],
        cwd=HERE, capture_output=True, text=True, timeout=10,
    )


def test_cli_valid():
    result = run_cli("Grace", "Grace@Navy.mil", "45")
    assert result.returncode == 0
    assert result.stdout == "registered grace@navy.mil\n"


@pytest.mark.parametrize(
    "args, field",
    [
        (("Grace", "grace-at-navy", "45"), "email"),
        (("Grace", "grace@navy.mil", "old"), "age"),
        (("Grace", "grace@navy.mil", "4.5"), "age"),
        (("Grace", "grace@navy.mil", "9"), "age"),
        ((" ", "grace@navy.mil", "45"), "name"),
    ],
)
def test_cli_reports_errors(args, field):
    result = run_cli(*args)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {field}: ")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
