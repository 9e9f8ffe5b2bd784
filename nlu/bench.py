"""NLU benchmark: training time, load time, parse latency, memory and held-out accuracy per pipeline.

`make bench-nlu` runs it for `config.yml` and every alternative in `nlu/pipelines/`. Each model is
loaded and measured in a fresh process, so load time and RSS are not polluted by the others.
Results go to `bench/results-nlu.md`; they are measurements, not tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nlu.evaluate import held_out_examples, macro_f1
from nlu.train import training_files, write_normalized

ROOT = Path(__file__).resolve().parent.parent


def train_with(config: Path, out_dir: Path) -> tuple[Path, float]:
    """Train a model from `config`; returns its path and the training time in seconds."""
    os.environ["RASA_MAX_CACHE_SIZE"] = "0"  # no training cache: measure real training time
    from rasa.model_training import train_nlu

    data = out_dir / "nlu.yml"
    write_normalized(training_files(ROOT), data)
    started = time.perf_counter()
    path = train_nlu(config=str(config), nlu_data=str(data), output=str(out_dir), fixed_model_name=config.stem)
    return Path(str(path)), time.perf_counter() - started


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries that over from the parent across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(model: Path) -> dict[str, object]:
    """In this (fresh) process: load time, RSS after load, parse latency and held-out macro-F1."""
    from nlu.interpreter import Interpreter

    started = time.perf_counter()
    interpreter = Interpreter.load(model, ["en"])
    load_s = time.perf_counter() - started
    rss_mb = peak_rss_mb()
    examples = held_out_examples(ROOT)

    async def run() -> tuple[list[float], dict[str, float]]:
        timings: list[float] = []
        f1: dict[str, float] = {}
        for lang, items in examples.items():
            pairs = []
            for text, expected in items:
                t0 = time.perf_counter()
                parse = await interpreter.parse(text)
                timings.append((time.perf_counter() - t0) * 1000)
                pairs.append((expected, parse.intent))
            f1[lang] = macro_f1(pairs)
        return timings, f1

    timings, f1 = asyncio.run(run())
    timings.sort()
    return {
        "load_s": round(load_s, 2),
        "rss_mb": round(rss_mb),
        "parse_p50_ms": round(statistics.median(timings), 2),
        "parse_p95_ms": round(timings[int(len(timings) * 0.95)], 2),
        "macro_f1": f1,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlu.bench")
    parser.add_argument("--measure", type=Path, help="(internal) measure one model in this process")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results-nlu.md")
    parser.add_argument("configs", nargs="*", type=Path)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    configs = args.configs or [ROOT / "config.yml", *sorted((ROOT / "nlu" / "pipelines").glob("*.yml"))]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for config in configs:
            model, train_s = train_with(config, Path(tmp) / config.stem)
            result = subprocess.run([sys.executable, "-m", "nlu.bench", "--measure", str(model)],
                                    capture_output=True, text=True, check=True, cwd=ROOT)
            data = json.loads(result.stdout.strip().splitlines()[-1])
            data.update(config=str(config.relative_to(ROOT)), train_s=round(train_s, 1))
            rows.append(data)
            print(json.dumps(data), flush=True)
    langs = sorted(rows[0]["macro_f1"])
    lines = [
        f"# NLU benchmark ({time.strftime('%Y-%m-%d')})", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
        "Targets: parse p95 ≤ 10 ms, RSS ≤ 700 MB, load ≤ 10 s, macro-F1 ≥ 0.92 per language (intent only, "
        "held-out nlu/test/).", "",
        "| pipeline | train s | load s | RSS MB | parse p50 ms | parse p95 ms | " + " | ".join(langs) + " |",
        "|---" * (6 + len(langs)) + "|",
    ]
    for r in rows:
        f1 = " | ".join(f"{r['macro_f1'][lang]:.3f}" for lang in langs)
        lines.append(f"| {r['config']} | {r['train_s']} | {r['load_s']} | {r['rss_mb']} | {r['parse_p50_ms']} | "
                     f"{r['parse_p95_ms']} | {f1} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
