"""The worker's NLU: Rasa's prediction graph, loaded without TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys

from bot.config import ROOT
from nlu.train import model_path

PROBE = """
import json, sys
from pathlib import Path
from nlu.interpreter import Interpreter
interpreter = Interpreter.load(Path(sys.argv[1]), ["en"])
import asyncio
parse = asyncio.run(interpreter.parse("who pays for my plane ticket home"))
print(json.dumps({"intent": parse.intent, "tensorflow": "tensorflow" in sys.modules}))
"""


def test_a_worker_loads_the_model_without_tensorflow() -> None:
    """TensorFlow is ~330 MB per worker and the model does not use it: keeping it out keeps a
    webhook worker well under its memory target (a Rasa default-recipe component would pull it in)."""
    model = model_path(ROOT, ROOT / "var")
    out = subprocess.run([sys.executable, "-c", PROBE, str(model)], capture_output=True, text=True, check=True,
                         cwd=ROOT, timeout=120)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"intent": "cost", "tensorflow": False}
