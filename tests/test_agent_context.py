"""The turn loop keeps every prompt inside the model's context and never applies a reply cut off mid-block.

Real loopback model servers (tests/support/scripted.py), a real workspace and check; the scripted servers
count a prompt as one token per 4 characters, so what they received can be measured against num_ctx.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

from benchtui.engine.contestants import run_task
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers import make_provider
from benchtui.engine.tasks import load_task
from tests.support.scripted import Script, ScriptedOllama, ScriptedOpenAI, fixed

NUM_CTX = 1024
MAX_TOKENS = 200
PADDING = "".join(f"# note {i:02d}: this line only makes the file long enough to matter.\n" for i in range(12))


def counter_task(folder: Path, *, padding: str = PADDING, max_turns: int = 6) -> Path:
    """A task no reply solves (the check wants DONE), over a file of ~800 characters plus ``padding``."""
    (folder / "ws").mkdir(parents=True)
    (folder / "ws" / "counter.py").write_text(f"{padding}VALUE = 0\n")
    task = folder / "counter.md"
    task.write_text(
        f"---\nid: counter\ntitle: Count\ndifficulty: easy\nworkspace: ws/\n"
        f"check: grep -q DONE counter.py\nmax_turns: {max_turns}\ntimeout: 120\n---\n"
        "Set VALUE in counter.py to DONE.\n"
    )
    return task


def stepping_reply() -> Any:
    """Each turn bumps VALUE by one (so the file changes and is sent back), with some chatter."""
    state = {"n": 0}

    def reply(messages: list[dict[str, Any]]) -> str:
        n = state["n"]
        state["n"] += 1
        return (
            "I will increase the value step by step, which is surely what the task means. " * 4
            + f"\n\ncounter.py\n```\n<<<<<<< SEARCH\nVALUE = {n}\n=======\nVALUE = {n + 1}\n>>>>>>> REPLACE\n```\n"
        )

    return reply


def ollama_spec(server: ScriptedOllama, **settings: Any) -> ModelSpec:
    return ModelSpec(
        key="ollama/m",
        name="m",
        provider="ollama",
        display_name="m",
        base_url=server.url,
        settings=MappingProxyType(settings),
    )


def server_tokens(body: dict[str, Any]) -> int:
    """The prompt size as the scripted server counts it."""
    return sum(len(m.get("content", "")) for m in body["messages"]) // 4


def test_every_prompt_fits_the_context_with_room_for_the_reply(tmp_path: Path) -> None:
    # Measured on the embedded 4096-token models: by turns 4-5 of easy tasks the whole history no longer
    # fit and replies were cut. Here the history outgrows a 1024-token context by the second turn.
    task = load_task(counter_task(tmp_path))
    with ScriptedOllama({"m": Script(stepping_reply())}) as server:
        spec = ollama_spec(server, num_ctx=NUM_CTX, max_tokens=MAX_TOKENS)
        result, transcript = run_task(task, spec, make_provider(spec))
        bodies = server.bodies_snapshot()["m"]
    assert result["status"] == "failed" and result["error"] is None, result["error_message"]
    assert result["prompts_sent"] == len(bodies) == 6
    assert all(server_tokens(b) + MAX_TOKENS <= NUM_CTX for b in bodies), [server_tokens(b) for b in bodies]
    dropped = result["history_dropped"]
    assert dropped is not None and 1 <= dropped <= 5
    last = bodies[-1]["messages"]
    # The task and the current file stand where the first prompt was; the latest feedback is last.
    assert last[0]["role"] == "system" and "Set VALUE in counter.py to DONE." in last[1]["content"]
    assert "Earlier turns were left out" in last[1]["content"] and "VALUE = 5\n" in last[1]["content"]
    assert "VALUE = 0\n" not in "".join(m["content"] for m in last)  # no stale copy of the file
    assert last[-1]["role"] == "user" and "The tests still fail" in last[-1]["content"]
    # The transcript keeps every prompt whole: only what is sent is trimmed.
    assert sum(e["kind"] == "prompt" for e in transcript) == 6


def test_a_conversation_that_fits_is_sent_whole(tmp_path: Path) -> None:
    task = load_task(counter_task(tmp_path, padding="", max_turns=3))
    with ScriptedOllama({"m": Script(stepping_reply())}) as server:
        spec = ollama_spec(server, num_ctx=8192, max_tokens=MAX_TOKENS)
        result, _ = run_task(task, spec, make_provider(spec))
        bodies = server.bodies_snapshot()["m"]
    assert result["history_dropped"] == 0
    assert [len(b["messages"]) for b in bodies] == [2, 4, 6]


def test_a_task_that_cannot_fit_fails_as_context_exhausted_without_a_request(tmp_path: Path) -> None:
    task = load_task(counter_task(tmp_path, padding=PADDING * 8))  # ~6,000 characters of file alone
    with ScriptedOllama({"m": Script(fixed("no"))}) as server:
        spec = ollama_spec(server, num_ctx=NUM_CTX, max_tokens=MAX_TOKENS)
        result, transcript = run_task(task, spec, make_provider(spec))
        bodies = server.bodies_snapshot().get("m", [])
    assert result["status"] == "error" and result["error"] == "context_exhausted"
    message = result["error_message"]
    assert message is not None and f"{MAX_TOKENS} (max_tokens)" in message and f"{NUM_CTX} tokens" in message
    assert result["prompts_sent"] == 0 and bodies == []
    assert transcript[-1]["kind"] == "error" and transcript[-1]["error"] == "context_exhausted"


def test_without_a_known_context_a_long_history_is_trimmed_but_never_fails(tmp_path: Path) -> None:
    task = load_task(counter_task(tmp_path, padding=PADDING * 8, max_turns=3))
    with ScriptedOpenAI({"m": Script(stepping_reply())}) as server:
        spec = ModelSpec(key="m", name="m", provider="openai", display_name="m", base_url=f"{server.url}/v1")
        result, _ = run_task(task, spec, make_provider(spec), context_chars=6000)
        sizes = [sum(len(m["content"]) for m in b["messages"]) for b in server.bodies_snapshot()["m"]]
    assert result["status"] == "failed" and result["prompts_sent"] == 3
    assert result["history_dropped"] == 2  # the second and third prompts
    assert sizes[0] > 6000  # the first prompt alone is over the budget: sent anyway, as it is all there is


def test_a_whole_file_reply_cut_off_by_the_token_limit_is_not_written_and_the_model_is_told(tmp_path: Path) -> None:
    # Seen in all three parse_duration runs of Qwen2.5-Coder-1.5B: the cut reply replaced durations.py and
    # wiped format_duration().
    task_md = counter_task(tmp_path, padding="def keep_me():\n    return 1\n\n\n", max_turns=2)
    task = load_task(task_md)
    cut = "counter.py\n```python\ndef keep_me():\n    return 1\n\n\nVALUE = DO"
    with ScriptedOpenAI({"m": Script(fixed(cut), finish_reason="length")}) as server:
        spec = ModelSpec(
            key="m",
            name="m",
            provider="openai",
            display_name="m",
            base_url=f"{server.url}/v1",
            edit_format="whole",
            settings=MappingProxyType({"max_tokens": 30}),
        )
        result, transcript = run_task(task, spec, make_provider(spec))
        bodies = server.bodies_snapshot()["m"]
    assert result["files_modified"] == 0 and result["diff"] == ""
    assert result["malformed_replies"] == 2
    feedback = bodies[1]["messages"][-1]["content"]
    assert "counter.py: your reply ended inside an edit block" in feedback and "not applied" in feedback
    edits = [e for e in transcript if e["kind"] == "edits"]
    assert edits[0]["applied"] == [] and edits[0]["failed"] == 1


def test_a_feedback_loses_exactly_its_file_dump_wherever_it_stands() -> None:
    from benchtui.engine import prompts

    files = [("a.py", "x = 1\n\n\ny = 2\n")]
    for check_output in ("E   assert 1 == 2", None):
        feedback = prompts.feedback_prompt(
            check_output=check_output,
            edit_failures=[],
            no_edits=False,
            changed_files=files,
            hint="try y",
            human_messages=[],
            edit_format="diff",
        )
        slim = prompts.without_files(feedback, files)
        assert "y = 2" in feedback and "y = 2" not in slim and "The files now look like this" not in slim
        assert slim == prompts.feedback_prompt(
            check_output=check_output,
            edit_failures=[],
            no_edits=False,
            changed_files=[],
            hint="try y",
            human_messages=[],
            edit_format="diff",
        )
