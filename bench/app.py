"""App server benchmark: pages and counts on a large dataset, server time vs the raw driver.

    python bench/app.py [--n 100000] [--repeat 15]

Targets, on 100,000 samples sorted by an indexed ``mistakenness``:
the first page of 50 grid tiles in under 150 ms of server time, and a filtered
count in under 200 ms. Rows without a target show other requests the App makes
(a deep page, a wide range combined with a tag, where MongoDB's planner fetches
half the collection through the index, as the raw driver does too). Server time
is the ``Server-Timing`` the App reports (from the request's arrival to the
response's start: view rebuilt from JSON, catalog read, query, JSON encoding),
measured through an in-process ASGI client.

Review mode rows: the server time of leasing the next queued sample
and of writing one decision (with decisions written per second, one after the
other as a reviewer makes them), and, when Debian's Chromium and playwright are
installed, the time from a key press to the next sample shown (its image
loaded and painted) in review mode, target under 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import benchmark_server, print_table  # noqa: E402

import labellens as ll  # noqa: E402
from labellens import db  # noqa: E402
from labellens.server import AppState, create_app  # noqa: E402
from labellens.session import launch_app  # noqa: E402

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
PAGE = 50
IMAGES = 64
CHROMIUM = Path("/usr/bin/chromium")
KEY_TARGET_MS = 100.0


def build(n: int, image_dir: Path) -> ll.Dataset:
    """``n`` samples like the tutorial's: tags, ground truth, a prediction with logits, mistakenness.

    Their files are :data:`IMAGES` real 256 px PNGs in ``image_dir``, shared round robin.
    """
    rng = np.random.default_rng(0)
    for i in range(IMAGES):
        pixels = rng.integers(0, 255, size=(256, 256, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(image_dir / f"{i:03d}.png")
    logits = rng.normal(size=(n, 10)).astype(np.float32)
    scores = rng.random(n)
    dataset = ll.Dataset("bench-app")
    dataset.default_classes = CLASSES
    dataset.add_samples(
        ll.Sample(str(image_dir / f"{i % IMAGES:03d}.png"),
                  tags=["test", "processed"] if i % 4 == 0 else ["test"],
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
    with benchmark_server("bench_app"), tempfile.TemporaryDirectory(prefix="bench-app-img-") as images:
        start = time.perf_counter()
        dataset = build(args.n, Path(images))
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
            rows += review_rows(client, dataset, args.repeat)
        key_row = key_press_row(dataset, args.repeat)
        if key_row is not None:
            rows.append(key_row)
            failed |= key_row[-1] == "NO"
    print(f"App server benchmark, {args.n:,} samples, local mongod, median of {args.repeat} (ms)")
    print_table(["request", "server ms", "round trip ms", "raw pymongo ms", "target", "met"], rows)
    if failed:
        sys.exit(1)


def review_rows(client: TestClient, dataset: ll.Dataset, repeat: int) -> list[list[Any]]:
    """Server time of leasing the next queued sample, and of writing decisions one after the other."""
    base = f"/api/datasets/{dataset.name}/review"
    server_ms(client, f"{base}/next", {"client": "bench", "count": 1}, 2)
    lease, lease_wall = server_ms(client, f"{base}/next", {"client": "bench", "count": 1}, repeat)
    decisions = max(repeat * 4, 40)
    server, started = [], time.perf_counter()
    for i in range(decisions):
        (card,) = client.post(f"{base}/next", json={"client": "bench", "count": 1}).json()["samples"]
        body = {"client": "bench", "sample_id": card["id"], "decision": "keep" if i % 2 else "pick",
                "label": CLASSES[i % 10], "seen_label": card["label"], "decision_id": f"bench-{i}"}
        response = client.post(f"{base}/decide", json=body)
        response.raise_for_status()
        server.append(float(response.headers["server-timing"].split("dur=")[1]))
    per_second = decisions / (time.perf_counter() - started)
    return [["review: lease the next queued sample", lease, lease_wall, "-", "-", "-"],
            [f"review: one decision written ({per_second:.0f} decisions/s with the lease)",
             statistics.median(server), "-", "-", "-", "-"]]


def key_press_row(dataset: ll.Dataset, repeat: int) -> list[Any] | None:
    """Key press (K) to the next sample shown in review mode, in headless Chromium; None without one."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("(no playwright: the key-press row is left out; pip install playwright)")
        return None
    if not CHROMIUM.exists():
        print("(no /usr/bin/chromium: the key-press row is left out; apt-get install chromium)")
        return None
    probe = """() => { window.__shown = []; let pressed = 0;
      document.addEventListener('keydown', () => { pressed = performance.now(); }, true);
      const root = document.getElementById('review');
      new MutationObserver(() => {
        const img = root.querySelector('[data-testid=review-img]'); const t0 = pressed;
        const done = () => requestAnimationFrame(() => window.__shown.push(performance.now() - t0));
        if (img.complete && img.naturalWidth) done(); else img.addEventListener('load', done, {once: true});
      }).observe(root, {attributes: true, attributeFilter: ['data-sample-id']}); }"""
    presses = max(repeat * 2, 20)
    with launch_app(dataset, port=0, auto=False) as session, sync_playwright() as playwright:
        flags = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=flags)
        page = browser.new_context(bypass_csp=True, viewport={"width": 1400, "height": 900}).new_page()
        page.goto(session.url + "#review")
        page.wait_for_selector("[data-testid=review][data-sample-id]:not([data-sample-id=''])")
        page.wait_for_timeout(500)
        page.evaluate(probe)
        for i in range(presses):
            page.keyboard.press("k")
            page.wait_for_function(f"window.__shown.length > {i}")
            page.wait_for_timeout(30)
        shown = page.evaluate("window.__shown")
        browser.close()
    median, worst = statistics.median(shown), max(shown)
    return [f"review: key press to next sample shown (browser; max {worst:.0f} ms)", median, "-", "-",
            f"< {KEY_TARGET_MS:.0f}", "yes" if median < KEY_TARGET_MS else "NO"]


if __name__ == "__main__":
    main()
