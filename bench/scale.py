"""Scale: time and peak memory of the main operations at 10,000, 100,000 and 1,000,000 samples.

    python bench/scale.py [--sizes 10000 100000 1000000] [--repeat 3]

Each size runs in its own process against its own fresh mongod. Samples are
synthetic and made in chunks: a filepath, tags (10% "validation"), a ground
truth ``Classification`` (10 classes, 10% of them wrong), a float ``score``, a
prediction with 10 logits and a 64-d embedding. Each row gives the wall time,
the Python process's peak resident memory during the operation (absolute) and
mongod's, sampled every 20 ms. Rows marked "stream" should grow at most
linearly (1M / 100k <= 11x) with flat Python memory (<= 1.5x); the others
return or fit on all N values and so hold O(N). The App rows are server time
(``Server-Timing``) through an in-process ASGI client, median of ``--repeat``,
with the indexes the App needs (``score``, ``label_issue``, ``tags``) created first.
Targets: ``compute_label_issues`` under 30 s at 100k and under 5 min
and 8 GiB at 1M; App requests under 500 ms at 1M.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import benchmark_server, print_table  # noqa: E402

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CHUNK = 10_000
DIM = 64
PAGE_SIZE = resource.getpagesize()


def rss_mib(pid: int | str = "self") -> float:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE / 2**20
    except OSError:
        return 0.0


def mongod_pid(uri: str) -> int | None:
    """The pid of the mongod listening on ``uri``'s port (found through /proc)."""
    port = uri.rsplit(":", 1)[-1].split("/")[0].split("?")[0]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"mongod") and port.encode() in args:
            return int(proc.name)
    return None


class Peaks:
    """Peak resident memory (MiB) of this process and of mongod while the block runs."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.python = self.server = 0.0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self._update()

    def _update(self) -> None:
        self.python = max(self.python, rss_mib())
        if self.server_pid:
            self.server = max(self.server, rss_mib(self.server_pid))

    def __enter__(self) -> Peaks:
        self._update()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._update()


def chunks(size: int, seed: int = 0) -> Iterator[dict[str, np.ndarray]]:
    """Synthetic columns, CHUNK rows at a time (so nothing of size N is held)."""
    centres = np.random.default_rng(seed).normal(size=(len(CLASSES), DIM)).astype(np.float32)
    for index, start in enumerate(range(0, size, CHUNK)):
        rng = np.random.default_rng([seed, index])
        rows = min(CHUNK, size - start)
        true = rng.integers(0, len(CLASSES), rows)
        wrong = rng.random(rows) < 0.1
        given = np.where(wrong, (true + rng.integers(1, len(CLASSES), rows)) % len(CLASSES), true)
        logits = (2.5 * np.eye(len(CLASSES))[true] + rng.normal(size=(rows, len(CLASSES)))).astype(np.float32)
        embeddings = centres[true] + 1.5 * rng.normal(size=(rows, DIM)).astype(np.float32)
        yield {"start": np.arange(start, start + rows), "given": given, "wrong": wrong, "logits": logits,
               "embeddings": embeddings, "score": rng.random(rows), "validation": rng.random(rows) < 0.1}


def add_samples(dataset: Any, size: int) -> list[str]:
    import labellens as ll

    def samples() -> Iterator[Any]:
        for chunk in chunks(size):
            for i, label, score, validation in zip(chunk["start"], chunk["given"], chunk["score"],
                                                   chunk["validation"]):
                yield ll.Sample(f"/data/images/{i:08d}.jpg", tags=["validation" if validation else "train"],
                                ground_truth=ll.Classification(label=CLASSES[label]), score=float(score))

    return dataset.add_samples(samples())


def set_predictions(dataset: Any, ids: list[str], size: int) -> None:
    import labellens as ll

    for chunk in chunks(size):
        logits = chunk["logits"]
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        labels = [ll.Classification(label=CLASSES[j], confidence=float(p[j]), logits=row)
                  for j, p, row in zip(probs.argmax(axis=1), probs, logits)]
        dataset.set_values("predictions", labels, ids=ids[chunk["start"][0]:chunk["start"][-1] + 1])


def set_embeddings(dataset: Any, ids: list[str], size: int) -> None:
    for chunk in chunks(size):
        batch = ids[chunk["start"][0]:chunk["start"][-1] + 1]
        dataset.set_values("embedding", list(chunk["embeddings"]), ids=batch)


def app_ms(client: Any, url: str, body: dict[str, Any], repeat: int) -> float:
    times = []
    for _ in range(repeat + 1):
        response = client.post(url, json=body)
        response.raise_for_status()
        times.append(float(response.headers["server-timing"].split("dur=")[1]))
    return statistics.median(times[1:])


def run_size(size: int, repeat: int, out: Any) -> None:
    import labellens as ll
    from labellens import brain

    rows: list[list[Any]] = []
    with benchmark_server(f"bench_scale_{size}") as uri:
        server = mongod_pid(uri)

        def measure(name: str, kind: str, fn: Callable[[], Any]) -> Any:
            with Peaks(server) as peaks:
                start = time.perf_counter()
                result = fn()
                seconds = time.perf_counter() - start
            rows.append([size, name, kind, seconds, peaks.python, peaks.server])
            print(f"  {size:>9,}  {name:<42} {seconds:9.3f} s  python {peaks.python:7.0f} MiB  "
                  f"mongod {peaks.server:7.0f} MiB", flush=True)
            return result

        dataset = ll.Dataset(f"scale-{size}")
        dataset.default_classes = CLASSES
        ids = measure("add_samples", "stream", lambda: add_samples(dataset, size))
        measure("set_values predictions (10 logits)", "stream", lambda: set_predictions(dataset, ids, size))
        measure("set_values embedding (64-d)", "stream", lambda: set_embeddings(dataset, ids, size))
        ids.clear()  # the later rows measure without the (N,) id list
        measure('values("ground_truth.label")', "O(N) result", lambda: dataset.values("ground_truth.label"))
        measure('count_values("ground_truth.label")', "stream",
                lambda: dataset.count_values("ground_truth.label"))
        measure('len(match_tags("validation"))', "stream", lambda: len(dataset.match_tags("validation")))
        measure('sort_by("score").limit(100), no index', "stream",
                lambda: dataset.sort_by("score", reverse=True).limit(100).values("id"))
        measure('create_index("score")', "stream", lambda: dataset.create_index("score"))
        measure('sort_by("score").limit(100), indexed', "stream",
                lambda: dataset.sort_by("score", reverse=True).limit(100).values("id"))
        measure("compute_mistakenness (logits)", "stream",
                lambda: brain.compute_mistakenness(dataset, "predictions", use_logits=True, progress=False))
        measure("compute_label_issues (embeddings, votes)", "fits on N",
                lambda: brain.compute_label_issues(dataset, "predictions", embeddings_field="embedding",
                                                   progress=False))
        measure('histogram_values("label_issue")', "stream",
                lambda: dataset.histogram_values("label_issue", bins=20))
        measure('create_index("label_issue")', "stream", lambda: dataset.create_index("label_issue"))
        measure('create_index("tags")', "stream", lambda: dataset.create_index("tags"))
        rows += app_rows(dataset, size, repeat)
    out.put(rows)


def app_rows(dataset: Any, size: int, repeat: int) -> list[list[Any]]:
    from starlette.testclient import TestClient

    from labellens.server import AppState, create_app

    base = f"/api/datasets/{dataset.name}"
    cases = [
        ("App: first page of 50 by label_issue", "samples",
         {"filters": {"sort": {"field": "label_issue", "reverse": True}}, "limit": 50}),
        ("App: tag counts", "tags", {}),
        ("App: count, label_issue in [0.5, 1]", "count",
         {"filters": {"ranges": {"label_issue": [0.5, 1.0]}}}),
        ("App: histogram of label_issue, 20 bins", "histogram",
         {"field": "label_issue", "range": [0.0, 1.0]}),
    ]
    rows = []
    with TestClient(create_app(AppState(dataset.name)), base_url="http://127.0.0.1") as client:
        for name, endpoint, body in cases:
            ms = app_ms(client, f"{base}/{endpoint}", body, repeat)
            rows.append([size, name, "server ms", ms / 1000, 0.0, 0.0])
            print(f"  {size:>9,}  {name:<42} {ms:9.1f} ms", flush=True)
    return rows


def growth(rows: list[list[Any]], small: int, large: int) -> list[list[Any]]:
    """Per operation: time and Python peak of ``large`` over ``small``."""
    table = {(r[0], r[1]): r for r in rows}
    out = []
    for size, name, kind, seconds, python, _ in rows:
        if size != large or (small, name) not in table:
            continue
        base = table[(small, name)]
        out.append([name, kind, seconds / max(base[3], 1e-6), python / max(base[4], 1e-6) if python else "-"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    rows: list[list[Any]] = []
    for size in args.sizes:
        queue = context.Queue()
        process = context.Process(target=run_size, args=(size, args.repeat, queue))
        process.start()
        rows += queue.get()
        process.join()
    print("\nTime (s; App rows: server ms / 1000) and peak resident MiB during each operation")
    print_table(["N", "operation", "kind", "s", "python MiB", "mongod MiB"],
                [[f"{r[0]:,}", *r[1:]] for r in rows])
    sizes = sorted(set(args.sizes))
    if len(sizes) >= 2:
        small, large = sizes[-2], sizes[-1]
        print(f"\nGrowth {large:,} / {small:,} (stream targets: time <= {1.1 * large / small:.0f}x, "
              "python memory <= 1.5x)")
        print_table(["operation", "kind", "time x", "python MiB x"], growth(rows, small, large))


if __name__ == "__main__":
    main()
