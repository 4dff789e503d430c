"""Per-sample review leases: two concurrent reviewers never hold the same sample."""

from __future__ import annotations

import threading

from labellens.server.review_leases import Leases


def test_two_concurrent_reviewers_never_share_a_sample() -> None:
    leases = Leases(ttl=60)
    queue = [str(i) for i in range(200)]
    done: set[str] = set()
    shown: dict[str, list[str]] = {"ana": [], "bo": []}
    lock = threading.Lock()

    def review(name: str) -> None:
        while True:
            with lock:
                candidates = [s for s in queue if s not in done]
            sample = leases.claim(name, candidates)
            if sample is None:
                return
            shown[name].append(sample)
            assert leases.renew(name, sample)
            with lock:
                done.add(sample)
            leases.release(name, sample)

    threads = [threading.Thread(target=review, args=(n,)) for n in shown]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(shown["ana"] + shown["bo"], key=int) == queue
    assert not set(shown["ana"]) & set(shown["bo"])


def test_a_lease_expires_and_is_renewed_only_by_its_holder() -> None:
    now = [0.0]
    leases = Leases(ttl=10, clock=lambda: now[0])
    assert leases.claim("ana", ["a", "b"]) == "a"
    assert leases.claim("bo", ["a", "b"]) == "b"
    assert leases.claim("bo", ["a"]) is None and not leases.renew("bo", "a")
    assert leases.held_by_others("bo") == {"a"}
    now[0] = 8.0
    assert leases.renew("ana", "a")
    now[0] = 15.0
    assert leases.claim("bo", ["a"]) is None
    now[0] = 19.0
    assert leases.claim("bo", ["a"]) == "a"
    leases.release("ana", "a")
    assert leases.held_by_others("ana") == {"a"}  # bo holds a; b expired at 10
