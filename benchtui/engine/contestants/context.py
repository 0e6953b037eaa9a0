"""How much of a model's context a conversation may take, and what is left out when it does not fit."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from benchtui.engine.models import ModelSpec
from benchtui.engine.providers.base import ChatMessage

# The prompt budget of a model whose context size benchtui does not know (no settings.num_ctx): history
# beyond it is dropped, but the run is never failed for it.
DEFAULT_CONTEXT_CHARS = 14000
# An embedded model's context when its spec does not say (embedded.DEFAULT_CONTEXT).
EMBEDDED_CONTEXT_TOKENS = 4096
# The reply's room when a model sets no max_tokens (Anthropic's own default is the same).
DEFAULT_REPLY_TOKENS = 1024
# Characters per token before the server has counted a prompt. Measured with the embedded SmolLM2's own
# tokenizer on the 13 shipped tasks' first prompts: 2.96 (JavaScript) to 3.60; 2.8 errs towards sending
# less. The server's own counts then replace it, less LEARN_MARGIN (later turns hold other text).
CHARS_PER_TOKEN = 2.8
LEARN_MARGIN = 0.95
MESSAGE_OVERHEAD_TOKENS = 8  # the chat template's role markers around each message


@dataclass
class Window:
    """How much of a model's context a prompt may take, in estimated tokens.

    ``context`` None: the size is unknown, and a character budget stands in for it (a soft limit, never a
    failure). The estimate starts at CHARS_PER_TOKEN and follows what the server counts for each prompt."""

    context: int | None
    reply_tokens: int
    soft_chars: int
    chars_per_token: float = CHARS_PER_TOKEN

    @classmethod
    def of(cls, spec: ModelSpec, soft_chars: int) -> Window:
        settings = spec.settings
        cap = _count(settings.get("max_tokens")) or _count(settings.get("max_completion_tokens"))
        # An embedded model's context is its server's n_ctx (ModelSpec.context); others may say num_ctx.
        context = spec.context or _count(settings.get("num_ctx"))
        if context is None and spec.provider == "embedded":
            context = EMBEDDED_CONTEXT_TOKENS
        return cls(context, cap or DEFAULT_REPLY_TOKENS, soft_chars)

    def tokens(self, messages: list[ChatMessage]) -> int:
        chars = sum(len(m["content"]) for m in messages)
        return math.ceil(chars / self.chars_per_token) + MESSAGE_OVERHEAD_TOKENS * len(messages)

    def fits(self, messages: list[ChatMessage]) -> bool:
        if self.context is None:
            return sum(len(m["content"]) for m in messages) <= self.soft_chars
        return self.tokens(messages) + self.reply_tokens <= self.context

    def learn(self, sent: list[ChatMessage], prompt_tokens: int | None) -> None:
        """Take the server's token count for ``sent`` as the measure of the next prompts."""
        if not prompt_tokens or prompt_tokens <= 0:
            return
        text_tokens = prompt_tokens - MESSAGE_OVERHEAD_TOKENS * len(sent)
        if text_tokens > 0:
            # Within what tokenizers give: a count cut short by a prompt cache must not make prompts look small.
            measured = sum(len(m["content"]) for m in sent) / text_tokens * LEARN_MARGIN
            self.chars_per_token = min(max(measured, 1.0), 4.5)

    def exhausted(self, sent: list[ChatMessage]) -> str:
        return (
            f"the task does not fit the model's context: its prompt (system prompt, task, current files and "
            f"the latest feedback) takes about {self.tokens(sent)} tokens and the reply needs "
            f"{self.reply_tokens} (max_tokens), more than the {self.context} tokens of its context (num_ctx)"
        )


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def fit(
    messages: list[ChatMessage], window: Window, slim: dict[int, str], refreshed: Callable[[], str]
) -> tuple[list[ChatMessage], bool, bool]:
    """The conversation to send: (messages, whether history was dropped, whether they fit).

    Whole when it fits. Otherwise the file dumps go first: the first prompt is sent again with the files as
    they are now (``refreshed``), the later feedback without its dumps (``slim``), and then the oldest
    exchanges go, never the system prompt, the task or the latest feedback. When even those do not fit, the
    smallest conversation is returned with fits False."""
    if window.fits(messages):
        return messages, False, True
    if len(messages) <= 2:
        return messages, False, False
    head: list[ChatMessage] = [messages[0], {"role": "user", "content": refreshed()}]
    rest: list[ChatMessage] = [
        {"role": m["role"], "content": slim.get(i, m["content"])} for i, m in enumerate(messages) if i >= 2
    ]
    # After the first prompt come (reply, feedback) pairs; dropping whole pairs keeps the turns in order.
    while len(rest) > 2 and not window.fits(head + rest):
        del rest[:2]
    if len(rest) == 2 and not window.fits(head + rest):
        del rest[0]  # the latest reply too: the latest feedback is what the model must answer
    return head + rest, True, window.fits(head + rest)
