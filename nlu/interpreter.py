"""The NLU interpreter: normalised text in, intent ranking and countries out.

Loads the trained Rasa model in-process once (slow: seconds) and parses in milliseconds.
Commands never reach it: Rasa reads text that starts with "/" as an intent, so the engine
handles commands itself and this class refuses them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from nlu.countries import CountryMatch, Gazetteer
from nlu.normalize import normalize
from nlu.safety import SafetyPhrases


@dataclass(frozen=True)
class Parse:
    """What the model understood from one message."""

    intent: str
    confidence: float
    ranking: list[tuple[str, float]] = field(default_factory=list)
    countries: list[CountryMatch] = field(default_factory=list)
    danger: bool = False  # a safety phrase was found: emergency, whatever the model says


class Interpreter:
    """A loaded NLU model plus the country gazetteer."""

    def __init__(self, agent: object, gazetteer: Gazetteer, safety: SafetyPhrases | None = None) -> None:
        self._agent = agent
        self.gazetteer = gazetteer
        self.safety = safety or SafetyPhrases()

    @classmethod
    def load(cls, model: Path, languages: list[str]) -> Interpreter:
        """Load a model produced by `nlu.train.train`."""
        if not Path(model).exists():
            raise FileNotFoundError(f"NLU model {model} not found: run `avrr train` (or `make run`)")
        root = logging.getLogger()
        level, handlers = root.level, list(root.handlers)
        from rasa.core.agent import Agent  # heavy import: TensorFlow and friends

        agent = Agent.load(str(model))
        root.setLevel(level)  # loading a model sets the root logger to WARNING: keep ours
        root.handlers[:] = handlers
        return cls(agent, Gazetteer(languages))

    def danger(self, text: str) -> bool:
        """A safety phrase in the message (checked without the model, e.g. during a handoff)."""
        return self.safety.found(normalize(text))

    async def parse(self, text: str) -> Parse:
        """Classify one message; text without letters ("99", "👍") or a command is out of scope."""
        norm = normalize(text)
        countries = self.gazetteer.find(norm)
        if not any(ch.isalpha() for ch in norm) or text.lstrip().startswith("/"):
            return Parse("out_of_scope", 0.0, [], countries)
        danger = self.safety.found(norm)
        result = await self._agent.parse_message(norm)  # type: ignore[attr-defined]
        intent = result.get("intent") or {}
        ranking = [(r["name"], float(r["confidence"])) for r in result.get("intent_ranking") or []]
        return Parse(str(intent.get("name") or "out_of_scope"), float(intent.get("confidence") or 0.0),
                     ranking, countries, danger)
