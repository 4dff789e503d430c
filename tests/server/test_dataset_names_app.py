"""Every legal dataset name opens in the App: its JSON API and media routes, reached through the
URLs the page builds (the name percent-encoded)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from labelled_images import make_samples
from starlette.testclient import TestClient

import labellens as ll
from labellens.server import AppState, create_app
from labellens.server.app import STATIC_DIR

NAMES = ["my data.v2-final_3", "a..b", "v1.", "données 2024", "x" * 100]


@pytest.mark.parametrize("name", NAMES)
def test_a_name_with_spaces_dots_and_dashes_opens_in_the_app(backend: str, tmp_path: Path, name: str) -> None:
    dataset = ll.Dataset(name)
    dataset.add_samples(make_samples(tmp_path / "images", ["cat", "dog", "cat", "ship"]))
    with TestClient(create_app(AppState(name), cache_dir=tmp_path / "thumbs"),
                    base_url="http://127.0.0.1") as client:
        assert client.get("/api/datasets").json() == {"datasets": [name]}
        path = f"/api/datasets/{quote(name, safe='')}"  # as the page's encodeURIComponent writes it
        summary = client.post(f"{path}/summary", json={})
        assert summary.status_code == 200, summary.text
        assert summary.json()["name"] == name and summary.json()["count"] == 4
        page = client.post(f"{path}/samples", json={"offset": 0, "limit": 10})
        assert page.status_code == 200, page.text
        ids = [sample["id"] for sample in page.json()["samples"]]
        assert ids == dataset.values("id")
        assert client.get(f"{path}/samples/{ids[0]}").status_code == 200
        media = client.get(f"/media/{quote(name, safe='')}/{ids[0]}")
        assert media.status_code == 200 and media.headers["content-type"] == "image/png"


def test_the_page_encodes_dataset_names_in_every_url() -> None:
    """The JS builds dataset URLs only through dsPath / mediaUrl, which percent-encode the name."""
    api = (STATIC_DIR / "js" / "api.js").read_text(encoding="utf-8")
    assert "`api/datasets/${encodeURIComponent(dataset)}${rest}`" in api
    assert "`media/${encodeURIComponent(dataset)}/" in api
    for script in (STATIC_DIR / "js").glob("*.js"):
        source = script.read_text(encoding="utf-8")
        for url in re.findall(r"`(?:api/datasets|media)/\$\{([^}]*)\}", source):
            assert url.startswith("encodeURIComponent("), f"{script.name} puts {url} in a URL unencoded"
