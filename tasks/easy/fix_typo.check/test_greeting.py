import inspect
import subprocess
import sys
from pathlib import Path

from greet import greet

HERE = Path(__file__).resolve().parent


def test_greet_default(capsys):
    greet()
    assert capsys.readouterr().out == "Hello, world!\n"


def test_greet_name(capsys):
    greet("Ada")
    assert capsys.readouterr().out == "Hello, Ada!\n"


def test_signature_unchanged():
    params = inspect.signature(greet).parameters
    assert list(params) == ["name"]
    assert params["name"].default == "world"


def test_command_line():
    result = subprocess.run(
        [sys.executable, "main.py", "Grace"],
        cwd=HERE, capture_output=True, text=True, timeout=10,
    )
    assert result.returncode == 0
    assert result.stdout == "Hello, Grace!\n"
