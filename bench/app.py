"""App server benchmark: pages and counts on a large dataset, server time vs the raw driver.

    python bench/app.py [--n 100000] [--repeat 15]

Targets (issue 6), on 100,000 samples sorted by an indexed ``mistakenness``:
the first page of 50 grid tiles in under 150 ms of server time, and a filtered
count in under 200 ms. Rows without a target show other requests the App makes
(a deep page, a wide range combined with a tag, where MongoDB's planner fetches
half the collection through the index, as the raw driver does too). Server time
is the ``Server-Timing`` the App reports (from the request's arrival to the
response's start: view rebuilt from JSON, catalog read, query, JSON encoding),
measured through an in-process ASGI client.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import benchmark_server, print_table  # noqa: E402

import labellens as ll  # noqa: E402
from labellens import db  # noqa: E402
from labellens.server import AppState, create_app  # noqa: E402

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
PAGE = 50


def build(n: int) -> ll.Dataset:
    """``n`` samples like the tutorial's: tags, ground truth, a prediction with logits, mistakenness."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(n, 10)).astype(np.float32)
    scores = rng.random(n)
    dataset = ll.Dataset("bench-app")
    dataset.default_classes = CLASSES
    dataset.add_samples(
        ll.Sample(f"/data/{i:06d}.png", tags=["test", "processed"] if i % 4 == 0 else ["test"],
                  ground_truth=ll.Classification(label=CLASSES[i % 10]),
                  predictions=ll.Classification(label=CLASSES[int(np.argmax(logits[i]))], logits=logits[i]),
                  mistakenness=float(scores[i]))
        for i in range(n))
    dataset.create_index("mistakenness")
    return dataset


def server_ms(client: TestClient, url: str, body: dict[str, Any] | None, repeat: int) -> tuple[float, float]:
    """Median server time and median client round trip (ms) of a request."""
    server, wall = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.post(url, json=body) if body is not None else client.get(url)
        wall.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
        server.append(float(response.headers["server-timing"].split("dur=")[1]))
    return statistics.median(server), statistics.median(wall)


def raw_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with benchmark_server("bench_app"):
        start = time.perf_counter()
        dataset = build(args.n)
        print(f"built {args.n:,} samples in {time.perf_counter() - start:.1f} s")
        raw = db.get_database()[dataset.collection_name]
        tile_fields = {"filepath": 1, "tags": 1, "ground_truth.label": 1, "predictions.label": 1,
                       "mistakenness": 1}
        sorted_view = dataset.sort_by("mistakenness", reverse=True)
        by_sort = {"filters": {"sort": {"field": "mistakenness", "reverse": True}}, "limit": PAGE}
        by_view = {"view": sorted_view.to_json(), "limit": PAGE}
        deep = {**by_sort, "offset": 20_000}
        high = {"filters": {"ranges": {"mistakenness": [0.9, 1.0]}}}
        tagged = {"view": dataset.match_tags("processed").to_json(),
                  "filters": {"ranges": {"mistakenness": [0.5, 1.0]}}}
        cases = [
            ("first page of 50, sidebar sort", "samples", by_sort, 150.0,
             lambda: list(raw.find({}, tile_fields).sort("mistakenness", -1).limit(PAGE))),
            ("first page of 50, session view SortBy", "samples", by_view, 150.0,
             lambda: list(raw.find({}, tile_fields).sort("mistakenness", -1).limit(PAGE))),
            ("page of 50 at offset 20,000", "samples", deep, None,
             lambda: list(raw.find({}, tile_fields).sort("mistakenness", -1).skip(20_000).limit(PAGE))),
            ("count, mistakenness in [0.9, 1]", "count", high, 200.0,
             lambda: raw.count_documents({"mistakenness": {"$gte": 0.9, "$lte": 1.0}})),
            ("count, tag filter", "count", {"filters": {"tags": ["processed"]}}, 200.0,
             lambda: raw.count_documents({"tags": {"$in": ["processed"]}})),
            ("count, tag + wide range (index, 50% fetched)", "count", tagged, None,
             lambda: raw.count_documents({"tags": "processed", "mistakenness": {"$gte": 0.5, "$lte": 1.0}})),
            ("tag counts (after tagging)", "tags", {}, None, None),
            ("summary (counts, tags, classes, bounds)", "summary", {}, None, None),
        ]
        rows, failed = [], False
        app = create_app(AppState(dataset.name))
        with TestClient(app, base_url="http://127.0.0.1") as client:
            for label, endpoint, body, target, baseline in cases:
                url = f"/api/datasets/{dataset.name}/{endpoint}"
                server_ms(client, url, body, 2)
                server, wall = server_ms(client, url, body, args.repeat)
                reference = raw_ms(baseline, args.repeat) if baseline else None
                ok = "-" if target is None else ("yes" if server < target else "NO")
                failed |= ok == "NO"
                rows.append([label, server, wall, "-" if reference is None else reference,
                             "-" if target is None else f"< {target:.0f}", ok])
    print(f"App server benchmark, {args.n:,} samples, local mongod, median of {args.repeat} (ms)")
    print_table(["request", "server ms", "round trip ms", "raw pymongo ms", "target", "met"], rows)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
