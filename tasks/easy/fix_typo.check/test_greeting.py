import hashlib
import inspect
import subprocess
import sys
from pathlib import Path

from greet import greet

HERE = Path(__file__).resolve().parent
# main.py as shipped: it must print the corrected greeting through greet(), unchanged.
MAIN_PY_SHA256 = "80da03253b27dc42ebc535d076c957cb2a8b3f1f2e5c38e94f842805c2482b99"


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


def test_main_py_is_unchanged():
    digest = hashlib.sha256((HERE / "main.py").read_bytes()).hexdigest()
    assert digest == MAIN_PY_SHA256, "main.py must not change; fix the typo in greet.py"


def test_no_other_file_was_added():
    found = {p.relative_to(HERE).as_posix() for p in HERE.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts}
    extra = sorted(found - {"greet.py", "main.py", Path(__file__).name})
    assert not extra, f"only greet.py should change; these files should not exist: {extra}"
