"""The App loads each dataset once and keeps it current: changes from Python show at once, a
dataset deleted meanwhile answers the same 404 as one that never existed."""

from __future__ import annotations

import labellens as ll


def test_the_app_reuses_one_loaded_dataset(client, dataset):
    datasets = client.app.state.labellens.datasets
    assert client.post(f"/api/datasets/{dataset.name}/count", json={}).json() == {"count": 12}
    first = datasets.get(dataset.name)
    assert client.post(f"/api/datasets/{dataset.name}/samples", json={"limit": 2}).status_code == 200
    assert datasets.get(dataset.name) is first


def test_changes_made_from_python_show_on_the_next_request(client, dataset):
    url = f"/api/datasets/{dataset.name}"
    assert client.get(url).json()["default_classes"] == ["cat", "dog", "ship"]
    dataset.default_classes = ["cat", "dog", "ship", "frog"]  # the record changes, not the schema
    dataset.set_values("hardness", [0.5] * len(dataset))  # a new field: schema_version moves
    dataset.register_run("evaluation", "eval", {"gt_field": "ground_truth", "pred_field": "predictions"}, [])
    summary = client.get(url).json()
    assert summary["default_classes"] == ["cat", "dog", "ship", "frog"]
    assert "hardness" in summary["numeric_fields"]
    assert client.post(f"{url}/evaluation", json={}).json()["evaluations"] == ["eval"]


def test_a_dataset_deleted_meanwhile_answers_404_naming_the_datasets(client, dataset):
    url = f"/api/datasets/{dataset.name}/count"
    assert client.post(url, json={}).status_code == 200
    ll.delete_dataset(dataset.name)
    gone = client.post(url, json={})
    never = client.post("/api/datasets/never-made/count", json={})
    assert gone.status_code == never.status_code == 404
    assert gone.json()["error"].startswith(f"no dataset named {dataset.name!r}; datasets are:")
    assert gone.json()["error"].split(";")[1] == never.json()["error"].split(";")[1]
    assert client.get(f"/api/datasets/{dataset.name}/samples/{'0' * 24}/history").status_code == 404
    again = ll.Dataset(dataset.name)  # made again under the same name: the new one is served
    again.add_samples([ll.Sample(f"/{i}.png") for i in range(3)])
    assert client.post(url, json={}).json() == {"count": 3}
