"""The Label Studio round trip against a real server: send, annotate over HTTP, load back."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import labellens as ll
from labellens.annotation import AnnotationServerError

CLASSES = ["cat", "dog", "frog"]


def _api(ls: Any, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Token {ls.token}", "Content-Type": "application/json"}
    req = urllib.request.Request(ls.url + path, method=method, data=data, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


def _dataset(root: Path, name: str) -> ll.Dataset:
    root.mkdir(parents=True, exist_ok=True)
    samples = []
    for i in range(20):
        path = root / f"{i:02d}.jpg"
        Image.new("RGB", (8, 8), (i * 10, 0, 0)).save(path)
        samples.append(ll.Sample(str(path), ground_truth=ll.Classification(label=CLASSES[i % 3]),
                                 label_issue_suggestion=CLASSES[(i + 1) % 3]))
    ds = ll.Dataset(name)
    ds.add_samples(samples)
    return ds


def _play_annotator(ls: Any, project_id: int) -> dict[str, str]:
    """Annotate 15 of the 20 tasks (5 with a new label, 10 confirming it); return sample id -> label."""
    page = _api(ls, "GET", f"/api/tasks?project={project_id}&page_size=100")
    tasks = sorted(page["tasks"] if isinstance(page, dict) else page, key=lambda t: t["data"]["sample_id"])
    assert len(tasks) == 20
    given = {}
    for n, task in enumerate(tasks[:15]):
        old = task["data"]["label"]
        new = CLASSES[(CLASSES.index(old) + 1) % 3] if n < 5 else old
        _api(ls, "POST", f"/api/tasks/{task['id']}/annotations", {"result": [
            {"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": [new]}}]})
        given[task["data"]["sample_id"]] = new
    return given


def test_round_trip(backend: str, label_studio: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # mongomock serves images through local-files storage, mongod uploads them: both image paths.
    root = label_studio.files_root / backend
    ds = _dataset(root, f"ls_{backend}")
    before = dict(zip(map(str, ds.values("id")), ds.values("ground_truth.label")))
    monkeypatch.setenv("LABELLENS_LABELSTUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABELLENS_LABELSTUDIO_API_KEY", label_studio.token)
    local = str(label_studio.files_root) if backend == "mongomock" else None
    config = ds.annotate("fix1", classes=CLASSES, local_files_root=local)
    assert config["image_path"] == ("local-files" if local else "upload")
    assert ds.list_annotation_runs() == ["fix1"]
    info = ds.get_annotation_info("fix1")
    assert label_studio.token not in json.dumps(info, default=str)

    given = _play_annotator(label_studio, config["project_id"])
    counts = ds.load_annotations("fix1")
    assert counts == {"imported": 15, "changed": 5, "unfinished": 5, "unchanged": 0}

    after = dict(zip(map(str, ds.values("id")), ds.values("ground_truth.label")))
    tags = dict(zip(map(str, ds.values("id")), ds.values("tags")))
    for sid, label in before.items():
        if sid in given:
            assert after[sid] == given[sid]
            assert "reviewed" in tags[sid]
            assert ("relabeled" in tags[sid]) == (given[sid] != label)
        else:
            assert after[sid] == label and tags[sid] == []
    history = ds.label_history(field="ground_truth")
    assert len(history) == 15
    assert {h["decision"] for h in history} == {"import"}
    assert {h["reviewer"] for h in history} == {label_studio.username}
    assert {h["sample_id"] for h in history} == set(given)

    assert ds.load_annotations("fix1")["imported"] == 0
    assert len(ds.label_history(field="ground_truth")) == 15
    assert dict(zip(map(str, ds.values("id")), ds.values("ground_truth.label"))) == after

    ds.delete_annotation_run("fix1", delete_project=True)
    assert ds.list_annotation_runs() == []


def test_deleted_project_and_bad_credentials(backend: str, label_studio: Any, tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "img", f"ls2_{backend}")
    config = ds.annotate("k", url=label_studio.url, api_key=label_studio.token, classes=CLASSES)
    _api(label_studio, "DELETE", f"/api/projects/{config['project_id']}")
    with pytest.raises(AnnotationServerError, match="deleted"):
        ds.load_annotations("k", api_key=label_studio.token)

    labels = ds.values("ground_truth.label")
    with pytest.raises(AnnotationServerError, match=label_studio.url):
        ds.annotate("bad", url=label_studio.url, api_key="wrong", classes=CLASSES)
    with pytest.raises(AnnotationServerError, match="cannot reach Label Studio at http://127.0.0.1:9"):
        ds.annotate("down", url="http://127.0.0.1:9", api_key="x", classes=CLASSES)
    assert ds.list_annotation_runs() == ["k"]
    assert ds.values("ground_truth.label") == labels
    assert ds.values("tags") == [[]] * 20


def test_import_labellens_does_not_load_annotation() -> None:
    import subprocess
    import sys

    code = "import sys, labellens; print(any(m.startswith('labellens.annotation') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_cli_round_trip(backend: str, label_studio: Any, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from labellens.cli.main import cli

    ds = _dataset(tmp_path / "img", f"ls3_{backend}")
    ds.persistent = True
    monkeypatch.setenv("LABELLENS_LABELSTUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABELLENS_LABELSTUDIO_API_KEY", label_studio.token)
    view = json.dumps(ds.limit(4).to_json())
    sent = CliRunner().invoke(cli, ["annotate", ds.name, "--anno-key", "c", "--view-json", view])
    assert sent.exit_code == 0, sent.output
    assert "sent 4 samples" in sent.output and label_studio.token not in sent.output
    loaded = CliRunner().invoke(cli, ["load-annotations", ds.name, "c"])
    assert loaded.exit_code == 0, loaded.output
    assert "imported 0" in loaded.output and "4 unfinished" in loaded.output
