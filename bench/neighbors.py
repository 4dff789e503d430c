"""Nearest-neighbour libraries compared at scale: build time, query time, recall@10, memory.

    python bench/neighbors.py [--size 1000000] [--dim 64] [--libraries faiss-hnsw hnswlib faiss-ivf]

Synthetic clustered embeddings (1,000 Gaussian clusters in ``--dim`` dimensions,
unit-normalised, so inner product = cosine). Each library builds an index over
all N vectors and then queries every vector for its 11 nearest (self + 10), as
``labellens.brain.neighbors.knn`` does. Recall@10 is measured against the exact
neighbours of 2,000 random queries. Each library runs in its own process, so the
memory columns are that process's resident growth over the data (the index and the
(N, 11) results) and its peak resident size, data included.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table  # noqa: E402

K = 10
NUM_TRUTH = 2_000
HEADERS = ["library", "build s", "query all s", "recall@10", "index+results MiB", "process peak MiB"]


def rss_mib() -> float:
    """This process's resident memory now, in MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def make_data(size: int, dim: int, seed: int = 0, chunk: int = 100_000) -> np.ndarray:
    """(size, dim) unit float32 rows, made in chunks so the peak memory is the array itself."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((1_000, dim)).astype(np.float32)
    data = np.empty((size, dim), dtype=np.float32)
    for start in range(0, size, chunk):
        rows = min(chunk, size - start)
        noise = rng.standard_normal((rows, dim), dtype=np.float32)
        block = centres[rng.integers(0, len(centres), rows)] + noise
        data[start:start + rows] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return data


def exact_truth(data: np.ndarray, queries: np.ndarray, block: int = 100) -> np.ndarray:
    """(Q, K) exact nearest neighbours of ``queries`` (self excluded), in blocks of ``block`` queries."""
    tops = []
    for start in range(0, len(queries), block):
        rows = queries[start:start + block]
        sims = data[rows] @ data.T
        sims[np.arange(len(rows)), rows] = -np.inf
        tops.append(np.argpartition(-sims, K - 1, axis=1)[:, :K])
    return np.concatenate(tops)


def run_library(name: str, size: int, dim: int, threads: int, out: Any) -> None:
    data = make_data(size, dim)
    before = rss_mib()
    start = time.perf_counter()
    if name == "hnswlib":
        import hnswlib
        index = hnswlib.Index(space="ip", dim=dim)
        index.init_index(max_elements=size, M=16, ef_construction=64)
        index.set_num_threads(threads)
        index.add_items(data, num_threads=threads)
        built = time.perf_counter()
        index.set_ef(32)
        found, _ = index.knn_query(data, k=K + 1, num_threads=threads)
    else:
        import faiss
        faiss.omp_set_num_threads(threads)
        if name == "faiss-hnsw":
            index = faiss.IndexHNSWFlat(dim, 16, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 64
            index.add(data)
            built = time.perf_counter()
            index.hnsw.efSearch = 32
        elif name == "faiss-ivf":
            nlist = int(4 * np.sqrt(size))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.train(data[np.random.default_rng(1).choice(size, min(size, 40 * nlist), replace=False)])
            index.add(data)
            built = time.perf_counter()
            index.nprobe = 8
        else:
            index = faiss.IndexFlatIP(dim)
            index.add(data)
            built = time.perf_counter()
        _, found = index.search(data, K + 1)
    queried = time.perf_counter()
    grown = rss_mib() - before
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queries = np.random.default_rng(2).choice(size, NUM_TRUTH, replace=False)
    truth = exact_truth(data, queries)
    hits = [len(set(found[q].tolist()) - {q} & set(t.tolist())) for q, t in zip(queries, truth)]
    out.put([name, built - start, queried - built, float(np.mean(hits)) / K, grown, peak])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--libraries", nargs="+", default=["faiss-hnsw", "hnswlib", "faiss-ivf"])
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    rows = []
    for name in args.libraries:
        queue = context.Queue()
        process = context.Process(target=run_library, args=(name, args.size, args.dim, args.threads, queue))
        process.start()
        rows.append(queue.get())
        process.join()
        print_table(HEADERS, rows[-1:])
    print(f"\n{args.size:,} x {args.dim} float32, k={K}, {args.threads} threads")
    print_table(HEADERS, rows)


if __name__ == "__main__":
    main()
