"""The NLU interpreter: normalised text in, intent ranking and countries out.

Loads the trained Rasa model in-process once (slow: seconds) and parses in milliseconds.
Commands never reach it: Rasa reads text that starts with "/" as an intent, so the engine
handles commands itself and this class refuses them.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class _Model:
    """Rasa's prediction graph and the node whose output is the parsed message."""

    runner: Any  # rasa.engine.runner.interface.GraphRunner
    target: str
    storage: tempfile.TemporaryDirectory[str]  # the unpacked components, kept as long as the graph

    def parse(self, text: str) -> dict[str, Any]:
        """Run the graph on one (normalised) message: Rasa's parse data (intent, intent_ranking)."""
        from rasa.core.channels.channel import UserMessage

        results = self.runner.run(inputs={"__message__": [UserMessage(text)]}, targets=[self.target])
        return results[self.target][0].as_dict(only_output_properties=True)


class Interpreter:
    """A loaded NLU model plus the country gazetteer."""

    def __init__(self, model: _Model, gazetteer: Gazetteer, safety: SafetyPhrases | None = None) -> None:
        self._model = model
        self.gazetteer = gazetteer
        self.safety = safety or SafetyPhrases()

    @classmethod
    def load(cls, model: Path, languages: list[str]) -> Interpreter:
        """Load a model produced by `nlu.train.train` (Rasa's engine: prediction graph only)."""
        if not Path(model).exists():
            raise FileNotFoundError(f"NLU model {model} not found: run `avrr train` (or `make run`)")
        root = logging.getLogger()
        level, handlers = root.level, list(root.handlers)
        # Not `rasa.core.agent.Agent`: it imports Rasa's dialogue policies and TensorFlow (~330 MB),
        # which an NLU-only model does not use.
        from rasa.engine.loader import load_predict_graph_runner
        from rasa.engine.runner.dask import DaskGraphRunner
        from rasa.engine.storage.local_model_storage import LocalModelStorage

        storage = tempfile.TemporaryDirectory(prefix="avrr-nlu-")  # removed with the interpreter
        metadata, runner = load_predict_graph_runner(Path(storage.name), Path(model), LocalModelStorage,
                                                     DaskGraphRunner)
        root.setLevel(level)  # Rasa sets the root logger to WARNING: keep ours
        root.handlers[:] = handlers
        return cls(_Model(runner, metadata.nlu_target, storage), Gazetteer(languages))

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
        result = self._model.parse(norm)
        intent = result.get("intent") or {}
        ranking = [(r["name"], float(r["confidence"])) for r in result.get("intent_ranking") or []]
        return Parse(str(intent.get("name") or "out_of_scope"), float(intent.get("confidence") or 0.0),
                     ranking, countries, danger)
