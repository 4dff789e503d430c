"""The tutorial as a script (examples/classification_mistakes.py) runs offline on 1,000 shared images."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labellens import db

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "classification_mistakes.py"
PER_CLASS = 100


@pytest.fixture
def cifar_subset(cifar10_test_dir: Path, tmp_path: Path) -> Path:
    """1,000 of the shared CIFAR-10 test JPEGs (100 per class) in a directory tree."""
    root = tmp_path / "cifar10-subset"
    for folder in sorted(p for p in cifar10_test_dir.iterdir() if p.is_dir()):
        (root / folder.name).mkdir(parents=True)
        for image in sorted(folder.iterdir())[:PER_CLASS]:
            shutil.copyfile(image, root / folder.name / image.name)
    return root


@pytest.mark.slow
def test_tutorial_script_runs_offline(cifar_subset: Path, shared_models_dir: Path, mongod_uri: str,
                                      tmp_path: Path) -> None:
    weights = shared_models_dir / "resnet20-12fca82f.th"  # the smallest CIFAR ResNet keeps CI fast
    if not weights.exists():
        pytest.skip(f"{weights} is missing")
    name = f"test_example_{os.getpid()}"
    env = {**os.environ, "LABELLENS_DATABASE_URI": mongod_uri, "LABELLENS_DATABASE_NAME": name}
    command = [sys.executable, str(EXAMPLE), "--dataset-dir", str(cifar_subset), "--weights", str(weights),
               "--num-workers", "0", "--export-dir", str(tmp_path / "review"), "--no-app"]
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=540)
    finally:
        db.get_client(mongod_uri).drop_database(name)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "Num samples:    1000" in out and "Tags:           ['mistake', 'test']" in out
    assert "100 ground truth labels are now mistakes" in out
    assert "Added predictions to 1000 samples" in out
    corrupted = int(re.search(r"(\d+) of these samples have label mistakes", out).group(1))
    assert corrupted == 100
    assert "mistakenness:" in out and "2. SortBy" in out and "'resnet20': <Classification" in out
    found = int(re.search(r"(\d+) of the top 100 samples by mistakenness are real mistakes", out).group(1))
    assert found >= 50
    rows = (tmp_path / "review" / "labels.csv").read_text().splitlines()
    assert rows[0] == "id,filepath,label,prediction,confidence,mistakenness" and len(rows) == 101
