"""The bench's baseline: our training data and domain, trained with the config `rasa init` writes (Rasa's default
pipeline and policies), served with Rasa's default stores (in memory), behind the same channels and action server.

Why: "fast" means nothing on its own. A plain Rasa bot on the same machine, data and workload is what our choices
(pipeline, stores, server settings) must beat.

Training it takes most of an hour on 2 cores (DIET, TED and UnexpecTED at 100 epochs each), so the model is kept
in ``var/bench/baseline`` with a fingerprint of what it was trained from and how long that took, and trained again
only when the data, the domain or Rasa's default config change.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List

import rasa.cli

from bot.stack import PROJECT_DIR, VAR_DIR

BASELINE_DIR = VAR_DIR / "bench" / "baseline"
MODEL_NAME = "baseline"
RECORD_FILE = "trained.json"
# What `rasa init` writes: pipeline and policies left empty, so `rasa train` fills in Rasa's defaults.
INIT_CONFIG = Path(rasa.cli.__file__).parent / "initial_project" / "config.yml"
# Rasa's default stores: no tracker_store or lock_store, so both are in memory.
ENDPOINTS = Path(__file__).with_name("endpoints-baseline.yml")


@dataclass(frozen=True)
class TrainedModel:
    """A model archive and how long its training took."""

    path: Path
    training_seconds: float


def training_inputs() -> List[Path]:
    """What the baseline is trained from: our domain and training data, and `rasa init`'s config."""
    data = sorted((PROJECT_DIR / "data").glob("*.yml")) + sorted((PROJECT_DIR / "data" / "nlu").glob("*.yml"))
    return [PROJECT_DIR / "domain.yml", *data, INIT_CONFIG]


def fingerprint() -> str:
    """A hash of every training input's name and content."""
    digest = hashlib.sha256()
    for path in training_inputs():
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def ensure_baseline_model() -> TrainedModel:
    """The baseline model, trained now if it is missing or stale (printing that it is)."""
    model = BASELINE_DIR / f"{MODEL_NAME}.tar.gz"
    record_path = BASELINE_DIR / RECORD_FILE
    wanted = fingerprint()
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    if model.exists() and record.get("fingerprint") == wanted:
        return TrainedModel(model, float(record["training_seconds"]))
    print(f"training the baseline (rasa init's config) into {BASELINE_DIR}: most of an hour on 2 cores", flush=True)
    BASELINE_DIR.mkdir(parents=True, exist_ok=True)
    config = BASELINE_DIR / "config.yml"
    shutil.copyfile(INIT_CONFIG, config)  # rasa train writes the defaults it chose into this copy
    started = time.perf_counter()
    with (BASELINE_DIR / "train.log").open("wb") as log:
        subprocess.run(
            [sys.executable, "-m", "rasa", "train", "--config", str(config), "--domain", "domain.yml", "--data",
             "data", "--out", str(BASELINE_DIR), "--fixed-model-name", MODEL_NAME],
            cwd=PROJECT_DIR, stdout=log, stderr=subprocess.STDOUT, check=True,
        )
    seconds = time.perf_counter() - started
    record_path.write_text(json.dumps({"fingerprint": wanted, "training_seconds": seconds}), encoding="utf-8")
    return TrainedModel(model, seconds)
