"""Edit blocks: lenient where models drift, strict about where files go."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchtui.engine.edits import ApplyReport, PathRejected, apply_edits, parse_edits, replace_text, safe_target

GREET = 'def greet(name="world"):\n    print(f"Helo, {name}!")\n'


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "greet.py").write_text(GREET)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "util.py").write_text("X = 1\n")
    return tmp_path


def apply(root: Path, reply: str, edit_format: str = "diff") -> ApplyReport:
    known = {"greet.py", "pkg/util.py"}
    return apply_edits(root, parse_edits(reply, edit_format, known), known)


def test_canonical_search_replace(workspace: Path) -> None:
    reply = (
        'greet.py\n```python\n<<<<<<< SEARCH\n    print(f"Helo, {name}!")\n=======\n'
        '    print(f"Hello, {name}!")\n>>>>>>> REPLACE\n```\n'
    )
    report = apply(workspace, reply)
    assert report.applied == ["greet.py"] and not report.malformed
    assert "Hello," in (workspace / "greet.py").read_text()


@pytest.mark.parametrize(
    "reply",
    [
        # path inside the fence
        '```python\ngreet.py\n<<<<<<< SEARCH\n    print(f"Helo, {name}!")\n=======\n    print(f"Hello, {name}!")\n'
        ">>>>>>> REPLACE\n```",
        # decorated path, CRLF, trailing prose
        '**greet.py**\r\n```\r\n<<<<<<< SEARCH\r\n    print(f"Helo, {name}!")\r\n=======\r\n'
        '    print(f"Hello, {name}!")\r\n>>>>>>> REPLACE\r\n```\r\nThat fixes it.',
        # indentation-only mismatch in SEARCH; missing closing marker
        'greet.py\n```\n<<<<<<< SEARCH\nprint(f"Helo, {name}!")\n=======\nprint(f"Hello, {name}!")\n```',
        # no path at all, but the SEARCH text is in exactly one file
        '<<<<<<< SEARCH\n    print(f"Helo, {name}!")\n=======\n    print(f"Hello, {name}!")\n>>>>>>> REPLACE',
    ],
)
def test_lenient_forms_still_apply(workspace: Path, reply: str) -> None:
    report = apply(workspace, reply)
    assert report.applied == ["greet.py"], report.failures
    assert '    print(f"Hello, {name}!")' in (workspace / "greet.py").read_text()


def test_whole_file_format_and_new_file(workspace: Path) -> None:
    reply = (
        'greet.py\n```python\ndef greet(name="world"):\n    print(f"Hello, {name}!")\n```\n\n'
        "pkg/new.py\n```\nY = 2\n```\n"
    )
    report = apply(workspace, reply, "whole")
    assert sorted(report.applied) == ["greet.py", "pkg/new.py"]
    assert (workspace / "pkg" / "new.py").read_text() == "Y = 2\n"


def test_empty_search_creates_a_file(workspace: Path) -> None:
    report = apply(workspace, "notes.txt\n```\n<<<<<<< SEARCH\n=======\nhello\n>>>>>>> REPLACE\n```")
    assert report.applied == ["notes.txt"]
    assert (workspace / "notes.txt").read_text() == "hello\n"


def test_prose_only_and_unmatched_search_are_malformed(workspace: Path) -> None:
    assert apply(workspace, "I think the code looks fine.").malformed
    report = apply(workspace, "greet.py\n```\n<<<<<<< SEARCH\nnot there\n=======\nx\n>>>>>>> REPLACE\n```")
    assert report.malformed and "did not match" in report.failures[0]
    assert (workspace / "greet.py").read_text() == GREET


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/etc/passwd", "absolute"),
        ("../outside.py", "'..'"),
        ("pkg/../../x.py", "'..'"),
        ("a\0b.py", "NUL"),
        ("x" * 300 + ".py", "too long"),
        ("~/.bashrc", "absolute"),
    ],
)
def test_paths_outside_the_workspace_are_refused_before_writing(workspace: Path, path: str, reason: str) -> None:
    with pytest.raises(PathRejected, match=reason):
        safe_target(workspace, path)
    report = apply(workspace, f"{path}\n```\n<<<<<<< SEARCH\n=======\npwned\n>>>>>>> REPLACE\n```")
    assert not report.applied


def test_symlink_leading_outside_is_refused(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    os.symlink(outside, workspace / "link")
    with pytest.raises(PathRejected, match="symbolic link"):
        safe_target(workspace, "link/evil.py")
    os.symlink(outside / "target.py", workspace / "file_link.py")
    report = apply(workspace, "file_link.py\n```\n<<<<<<< SEARCH\n=======\npwned\n>>>>>>> REPLACE\n```")
    assert not report.applied and not (outside / "target.py").exists()


def test_replace_text_reindents_by_the_found_offset() -> None:
    content = "class A:\n    def f(self):\n        return 1\n"
    updated = replace_text(content, "def f(self):\n    return 1", "def f(self):\n    return 2")
    assert updated == "class A:\n    def f(self):\n        return 2\n"


MODULE = (
    'import sys\n\n\ndef greet(name="world"):\n    print(f"Helo, {name}!")\n\n\n'
    "def main():\n    greet(*sys.argv[1:2])\n"
)


@pytest.fixture
def module(tmp_path: Path) -> Path:
    (tmp_path / "greet.py").write_text(MODULE)
    (tmp_path / "other.py").write_text("def helper():\n    return 1\n")
    return tmp_path


def apply_to(root: Path, reply: str, edit_format: str = "diff") -> ApplyReport:
    known = {"greet.py", "other.py"}
    return apply_edits(root, parse_edits(reply, edit_format, known), known)


def test_bare_search_and_replace_labels_with_fences(module: Path) -> None:
    # Seen from Qwen2.5-Coder-0.5B: the markers written as labels above two fenced blocks.
    reply = 'SEARCH\n```\n    print(f"Helo, {name}!")\n```\n\nREPLACE\n```\n    print(f"Hello, {name}!")\n```\n'
    report = apply_to(module, reply)
    assert report.applied == ["greet.py"], report.failures
    assert 'print(f"Hello, {name}!")' in (module / "greet.py").read_text()


def test_a_pathless_corrected_function_replaces_that_function_only(module: Path) -> None:
    # Seen from SmolLM2-135M: the whole corrected function, no path, some prose around it.
    reply = 'Here is the corrected version:\n\n```python\ndef greet(name="world"):\n    print(f"Hello, {name}!")\n```\n'
    report = apply_to(module, reply)
    assert report.applied == ["greet.py"] and not report.malformed
    assert (module / "greet.py").read_text() == MODULE.replace("Helo", "Hello")


def test_a_fragment_under_a_path_in_diff_mode_does_not_clobber_the_file(module: Path) -> None:
    reply = 'greet.py\n```python\ndef greet(name="world"):\n    print(f"Hello, {name}!")\n```\n'
    report = apply_to(module, reply)
    assert report.applied == ["greet.py"]
    assert "def main():" in (module / "greet.py").read_text()


def test_a_block_matching_no_file_is_malformed_and_writes_nothing(module: Path) -> None:
    report = apply_to(module, "Run it like this:\n\n```bash\npython main.py Ada\n```\n")
    assert report.malformed and not report.applied
    assert (module / "greet.py").read_text() == MODULE


def test_an_example_block_is_ignored_beside_a_real_edit(module: Path) -> None:
    reply = (
        'greet.py\n```\n<<<<<<< SEARCH\n    print(f"Helo, {name}!")\n=======\n    print(f"Hello, {name}!")\n'
        ">>>>>>> REPLACE\n```\nThen run:\n```bash\npython main.py Ada\n```\n"
    )
    report = apply_to(module, reply)
    assert report.applied == ["greet.py"] and not report.malformed


def test_a_pathless_search_that_matches_nothing_says_so(module: Path) -> None:
    report = apply_to(module, "SEARCH\n```\ndef nowhere():\n    pass\n```\n\nREPLACE\n```\ndef x():\n    pass\n```\n")
    assert report.malformed and "matches no file exactly" in report.failures[0]


# Paths come from labels, never from the code; a reply cut off inside a block is never applied.

PROVERB = 'def proverb(*items):\n    return ""\n\n\ndef format_line(a, b):\n    return f"For want of a {a}"\n'


@pytest.fixture
def proverb(tmp_path: Path) -> Path:
    (tmp_path / "proverb.py").write_text(PROVERB)
    return tmp_path


def apply_proverb(root: Path, reply: str, edit_format: str) -> object:
    known = {"proverb.py"}
    return apply_edits(root, parse_edits(reply, edit_format, known), known)


@pytest.mark.parametrize("edit_format", ["whole", "diff"])
def test_a_comment_naming_a_file_inside_the_code_is_not_a_path(proverb: Path, edit_format: str) -> None:
    # Seen from Qwen2.5-Coder-1.5B: an unlabelled block opening with '# Proverb.py' created Proverb.py.
    fixed = PROVERB.replace('return ""', 'return "And all for the want of a nail."')
    reply = f"Here is the solution:\n\n```python\n# Proverb.py\n{fixed}```\n"
    report = apply_proverb(proverb, reply, edit_format)
    assert sorted(p.name for p in proverb.iterdir()) == ["proverb.py"]
    assert report.applied == ["proverb.py"]  # type: ignore[attr-defined]
    assert "want of a nail" in (proverb / "proverb.py").read_text()


@pytest.mark.parametrize("label", ["Proverb.py", "PROVERB.PY", "```Proverb.py"])
def test_a_path_differing_only_in_case_is_that_file(proverb: Path, label: str) -> None:
    fixed = PROVERB.replace('return ""', 'return "done"')
    head = f"{label}\n" if not label.startswith("```") else ""
    fence = "```" if head else label
    report = apply_proverb(proverb, f"{head}{fence}\n{fixed}```\n", "whole")
    assert report.applied == ["proverb.py"]  # type: ignore[attr-defined]
    assert sorted(p.name for p in proverb.iterdir()) == ["proverb.py"]


def test_a_whole_file_cut_off_before_its_closing_fence_is_not_written(proverb: Path) -> None:
    # Seen three times from Qwen2.5-Coder-1.5B on parse_duration: the reply hit max_tokens mid-file and
    # the half file replaced the whole one, wiping the function after the cut.
    reply = "proverb.py\n```python\ndef proverb(*items):\n    lines = []\n    for a, b in zip(items"
    report = apply_proverb(proverb, reply, "whole")
    assert (proverb / "proverb.py").read_text() == PROVERB
    assert report.malformed and not report.applied  # type: ignore[attr-defined]
    assert "cut off" in report.failures[0] and "not applied" in report.failures[0]  # type: ignore[attr-defined]


def test_complete_files_before_a_cut_off_one_still_apply(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("A = 1\n")
    (tmp_path / "b.py").write_text("B = 1\n")
    known = {"a.py", "b.py"}
    reply = "a.py\n```python\nA = 2\n```\n\nb.py\n```python\nB ="
    report = apply_edits(tmp_path, parse_edits(reply, "whole", known), known)
    assert report.applied == ["a.py"] and len(report.failures) == 1 and "b.py" in report.failures[0]
    assert (tmp_path / "a.py").read_text() == "A = 2\n" and (tmp_path / "b.py").read_text() == "B = 1\n"


@pytest.mark.parametrize(
    "reply",
    [
        # cut inside the REPLACE part
        'greet.py\n```\n<<<<<<< SEARCH\n    print(f"Helo, {name}!")\n=======\n    print(f"Hel',
        # cut inside the SEARCH part
        'greet.py\n```\n<<<<<<< SEARCH\n    print(f"Helo, {name}!")\n',
        # labelled drift, cut inside the REPLACE fence
        'SEARCH\n```\n    print(f"Helo, {name}!")\n```\n\nREPLACE\n```\n    print(f"Hel',
    ],
)
def test_a_search_replace_block_cut_off_is_not_applied(workspace: Path, reply: str) -> None:
    report = apply(workspace, reply)
    assert (workspace / "greet.py").read_text() == GREET
    assert report.malformed and not report.applied
    assert "cut off" in report.failures[0]
