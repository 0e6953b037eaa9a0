""" "Did you mean": the one name a typo most likely meant, for every error that refuses an unknown name
(--models, --assistants, models_config.yaml's keys), so that they all suggest alike."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.6  # difflib's own default: below it a guess misleads more than it helps
NEAR = 0.05  # ratios this close are equally good guesses: the shortest (the plain name, not a variant) wins


def closest(word: str, choices: Iterable[str], *, cutoff: float = CUTOFF) -> str | None:
    """The choice nearest ``word`` (difflib's ratio, case folded); among near-equals the shortest, then the
    first given. None when none is near enough."""
    scored = []
    for index, choice in enumerate(dict.fromkeys(choices)):
        ratio = difflib.SequenceMatcher(None, word.casefold(), choice.casefold()).ratio()
        scored.append((ratio, index, choice))
    best = max((ratio for ratio, _, _ in scored), default=0.0)
    if best < cutoff:
        return None
    near = [(len(choice), index, choice) for ratio, index, choice in scored if ratio >= best - NEAR]
    return min(near)[2]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``did you mean 'x'? `` (to go before the list of what is known), or nothing when nothing is near."""
    guess = closest(word, choices)
    return f"did you mean {guess!r}? " if guess is not None else ""
