"""Train the NLU model when its inputs change (Rasa's lifecycle: train, persist, load).

The model's name carries a fingerprint of `config.yml`, the training data, the normaliser and
the intent classifier's code, so `avrr train` (and `make`) retrain only when one of them changed.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import yaml

from nlu.normalize import normalize

log = logging.getLogger(__name__)

NLU_DIR = Path(__file__).resolve().parent


def training_files(root: Path) -> list[Path]:
    """The per-language training files, `nlu/data/<lang>.yml`."""
    return sorted((root / "nlu" / "data").glob("*.yml"))


def fingerprint(root: Path) -> str:
    """A short hash of everything that changes what the model learns."""
    h = hashlib.sha256()
    for path in [root / "config.yml", NLU_DIR / "normalize.py", NLU_DIR / "classifier.py", *training_files(root)]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def model_path(root: Path, var_dir: Path) -> Path:
    """Where the model for the current inputs is (or will be) stored."""
    return var_dir / "models" / f"nlu-{fingerprint(root)}.tar.gz"


def read_examples(path: Path) -> dict[str, list[str]]:
    """Intent -> examples from one Rasa YAML file (the files carry no entity markup)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: dict[str, list[str]] = {}
    for block in data.get("nlu") or []:
        lines = str(block.get("examples", "")).splitlines()
        examples = [ln.strip()[2:].strip() for ln in lines if ln.strip().startswith("- ")]
        out.setdefault(str(block["intent"]), []).extend(e for e in examples if e)
    return out


def write_normalized(files: list[Path], out: Path) -> int:
    """Merge and normalise the training files into one Rasa file; returns the example count."""
    merged: dict[str, list[str]] = {}
    for path in files:
        for intent, examples in read_examples(path).items():
            bucket = merged.setdefault(intent, [])
            bucket.extend(n for n in (normalize(e) for e in examples) if n)
    blocks = []
    count = 0
    for intent, examples in sorted(merged.items()):
        unique = list(dict.fromkeys(examples))
        count += len(unique)
        blocks.append({"intent": intent, "examples": "".join(f"- {e}\n" for e in unique)})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True), encoding="utf-8")
    return count


def train(root: Path, var_dir: Path, force: bool = False) -> Path:
    """Return the model for the current inputs, training it first if it is missing."""
    target = model_path(root, var_dir)
    if target.exists() and not force:
        log.info("nlu model up to date", extra={"model": target.name})
        return target
    from rasa.model_training import train_nlu  # heavy import, only when training

    work = var_dir / "nlu-train"
    data_file = work / "nlu.yml"
    count = write_normalized(training_files(root), data_file)
    log.info("training nlu model", extra={"examples": count, "model": target.name})
    result = train_nlu(
        config=str(root / "config.yml"),
        nlu_data=str(data_file),
        output=str(target.parent),
        fixed_model_name=target.name.removesuffix(".tar.gz"),
    )
    if not result or not target.exists():
        raise RuntimeError("Rasa did not produce a model; see the messages above")
    for old in target.parent.glob("nlu-*.tar.gz"):
        if old != target:
            old.unlink()
    return target
