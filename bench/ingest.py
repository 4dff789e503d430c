"""Ingest benchmark: labellens add_samples / set_values vs raw pymongo on the same server.

    python bench/ingest.py [--n 100000] [--repeat 2]

Both sides start from the same inputs (file paths, class names, logits arrays).
Two raw baselines, both with the garbage collector on as in a user's script:
"raw, streamed" is the loop a pymongo user writes, building and writing batches of
10,000 documents; "raw, one list" builds every document in one list, then writes it
("write only" is that driver call alone, the floor no library can beat). The
labellens side is timed from the ``Sample(...)`` / ``Classification(...)``
constructor calls in the user's loop to the acknowledged write. Targets:
add_samples <= 1.3x and set_values <= 1.2x the raw baseline.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from pathlib import Path

import numpy as np
from bson import ObjectId
from pymongo import UpdateOne

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import benchmark_server, print_table, timed  # noqa: E402

import labellens as ll  # noqa: E402
from labellens import db  # noqa: E402

BATCH = 10_000
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def raw_sample(i: int) -> dict:
    return {"_id": ObjectId(), "filepath": f"/data/{i}.png", "tags": ["test"], "metadata": None,
            "ground_truth": {"_id": ObjectId(), "_cls": "Classification", "tags": [],
                             "label": CLASSES[i % 10], "confidence": None, "logits": None},
            "_rand": random.random()}


def raw_prediction(row: np.ndarray) -> dict:
    return {"_id": ObjectId(), "_cls": "Classification", "tags": [], "label": CLASSES[int(row.argmax())],
            "confidence": None, "logits": row.tobytes()}


def settle() -> None:
    """Flush the server's pending writes so the next timed step does not pay for the previous one's."""
    db.get_database().client.admin.command("fsync")
    time.sleep(0.2)


def one_round(n: int, logits: np.ndarray, *, ours_first: bool) -> dict[str, float]:
    """Seconds of each step on fresh collections; ``ours_first`` says which side goes first."""
    times: dict[str, float] = {}

    def raw_side() -> None:
        raw = db.get_database()["raw"]
        raw.drop()
        settle()
        times["build_docs"], docs = timed(lambda: [raw_sample(i) for i in range(n)])
        times["write_docs"], _ = timed(lambda: raw.insert_many(docs, ordered=True))
        ids = [d["_id"] for d in docs]
        settle()
        times["build_updates"], updates = timed(lambda: [
            UpdateOne({"_id": i}, {"$set": {"pred": raw_prediction(row)}}) for i, row in zip(ids, logits)])
        times["write_updates"], _ = timed(lambda: raw.bulk_write(updates, ordered=False))
        raw.drop()

    def raw_streamed() -> None:
        # What a pymongo user writes: build a batch, write it, next batch (the collector stays on).
        raw = db.get_database()["raw_streamed"]
        raw.drop()
        settle()
        ids: list[ObjectId] = []

        def insert() -> None:
            for start in range(0, n, BATCH):
                docs = [raw_sample(i) for i in range(start, min(start + BATCH, n))]
                raw.insert_many(docs, ordered=True)
                ids.extend(d["_id"] for d in docs)

        def update() -> None:
            for start in range(0, n, BATCH):
                raw.bulk_write([UpdateOne({"_id": i}, {"$set": {"pred": raw_prediction(row)}})
                                for i, row in zip(ids[start:start + BATCH], logits[start:start + BATCH])],
                               ordered=False)

        times["streamed_insert"], _ = timed(insert)
        settle()
        times["streamed_set"], _ = timed(update)
        raw.drop()

    def our_side() -> None:
        # Timed from the user's constructor calls to the acknowledged write, as the raw side is.
        dataset = ll.Dataset()
        settle()
        times["ours_insert"], _ = timed(lambda: dataset.add_samples(
            ll.Sample(f"/data/{i}.png", tags=["test"], ground_truth=ll.Classification(label=CLASSES[i % 10]))
            for i in range(n)))
        settle()
        times["ours_set"], _ = timed(lambda: dataset.set_values("pred", [
            ll.Classification(label=CLASSES[int(row.argmax())], logits=row) for row in logits]))
        dataset.delete()

    for side in ((our_side, raw_streamed, raw_side) if ours_first else (raw_streamed, raw_side, our_side)):
        side()
        gc.collect()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2, help="interleaved rounds; the best of each is shown")
    args = parser.parse_args()
    n = args.n
    logits = np.random.default_rng(0).normal(size=(n, 10)).astype(np.float32)
    with benchmark_server("bench_ingest"):
        # Interleaved rounds, alternating which side goes first, best of each step: the machine is
        # shared, so single runs swing.
        rounds = [one_round(n, logits, ours_first=r % 2 == 1) for r in range(args.repeat)]
    best = {step: min(r[step] for r in rounds) for step in rounds[0]}
    raw_insert = best["build_docs"] + best["write_docs"]
    raw_set = best["build_updates"] + best["write_updates"]
    print(f"ingest benchmark: {n:,} samples on a local mongod (seconds, best of {args.repeat} rounds; "
          f"ratios = labellens / each raw baseline)")
    headers = ["operation", "raw write only", "raw, one list", "raw, streamed", "labellens",
               "ratio vs one list", "ratio vs streamed", "labellens docs/s"]
    print_table(headers, [
        [label, write_only, one_list, streamed, ours, ours / one_list, ours / streamed, round(n / ours)]
        for label, write_only, one_list, streamed, ours in (
            ("add_samples vs insert_many", best["write_docs"], raw_insert, best["streamed_insert"],
             best["ours_insert"]),
            ("set_values vs bulk_write $set", best["write_updates"], raw_set, best["streamed_set"],
             best["ours_set"]))])

if __name__ == "__main__":
    main()
