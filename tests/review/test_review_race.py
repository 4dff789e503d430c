"""Two reviewers deciding on one sample at the same moment, through a real App server and a real mongod.

The App runs under uvicorn (``launch_app``) on a free loopback port; two threads post their
decisions at the same instant (a barrier). Exactly one wins: one 200, one 409 naming the
winner, one history entry, the winner's label.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import labellens as ll

ROUNDS = 5


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_two_reviewers_at_the_same_moment_one_wins_one_gets_409(real_mongod: str, tmp_path: Path) -> None:
    dataset = ll.Dataset("race")
    dataset.default_classes = ["cat", "dog", "frog"]
    ids = dataset.add_samples([ll.Sample(filepath=str(tmp_path / f"{i}.png"),
                                         ground_truth=ll.Classification(label="cat", confidence=0.8,
                                                                        logits=[1.0, 0.0, 0.0]))
                               for i in range(ROUNDS)])
    picks = {"ana": "dog", "bo": "frog"}
    with ll.launch_app(dataset, port=0, auto=False) as session:
        url = session.url.split("?")[0].rstrip("/") + f"/api/datasets/{dataset.name}/review/decide"
        for round_, sample_id in enumerate(ids):
            barrier = threading.Barrier(len(picks), timeout=20)
            answers: dict[str, tuple[int, dict[str, Any]]] = {}

            def decide(name: str, sample_id: str = sample_id, round_: int = round_,
                       barrier: threading.Barrier = barrier, answers: dict = answers) -> None:
                body = {"client": f"tab-{name}", "sample_id": sample_id, "decision": "pick",
                        "label": picks[name], "seen_label": "cat", "decision_id": f"{name}-{round_}",
                        "reviewer": name}
                barrier.wait()
                answers[name] = _post(url, body)

            threads = [threading.Thread(target=decide, args=(name,), daemon=True) for name in picks]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert not any(thread.is_alive() for thread in threads), "a decision did not answer in 30 s"
            assert sorted(status for status, _ in answers.values()) == [200, 409], answers
            winner = next(name for name, (status, _) in answers.items() if status == 200)
            loser = next(name for name in picks if name != winner)
            history = dataset.label_history(sample_id=sample_id)
            assert [(e["reviewer"], e["old_label"], e["new_label"]) for e in history] == [
                (winner, "cat", picks[winner])]
            assert answers[winner][1]["entry"]["id"] == history[0]["id"]
            error = answers[loser][1]["error"]
            assert f"is now {picks[winner]!r}: {winner} changed it at" in error and history[0]["id"] in error
            stored = dataset[sample_id].ground_truth
            assert stored.label == picks[winner] and stored.logits.tolist() == [1.0, 0.0, 0.0]
