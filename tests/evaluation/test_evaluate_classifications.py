"""evaluate_classifications: maths against scikit-learn, fields, cell views and runs, on both backends."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import classification_report, confusion_matrix

import labellens as ll
from labellens.errors import RunNotFoundError, SchemaError, ValidationError
from labellens.evaluation import (
    ClassificationResults,
    delete_evaluation,
    evaluate_classifications,
    list_evaluations,
    load_evaluation_results,
    metrics,
    summarize_classifications,
)

CLASSES = ["cat", "dog", "bird", "fish"]


def make_dataset(n: int = 200, seed: int = 0) -> tuple[ll.Dataset, list, list]:
    """Samples with ground truth and predictions (about 70% right); a few labels missing."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, size=n)
    pred = np.where(rng.random(n) < 0.7, truth, rng.integers(0, 4, size=n))
    gt_labels = [CLASSES[t] for t in truth]
    pred_labels: list[str | None] = [CLASSES[p] for p in pred]
    pred_labels[5] = pred_labels[17] = None
    ds = ll.Dataset()
    ds.add_samples(ll.Sample(filepath=f"/img/{i}.png", tags=["even" if i % 2 == 0 else "odd"],
                             ground_truth=ll.Classification(label=gt_labels[i]),
                             pred=None if pred_labels[i] is None else ll.Classification(label=pred_labels[i]))
                   for i in range(n))
    return ds, gt_labels, pred_labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_equal_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 5, size=300)
    pred = np.where(rng.random(300) < 0.6, truth, rng.integers(0, 6, size=300))  # class 5 only predicted
    names = [f"c{i}" for i in range(6)]
    cm = metrics.confusion_matrix(truth, pred, 6)
    np.testing.assert_array_equal(cm, confusion_matrix(truth, pred, labels=range(6)))
    ours = metrics.classification_report(cm, names)
    theirs = classification_report([names[t] for t in truth], [names[p] for p in pred], output_dict=True,
                                   zero_division=0)
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        if key == "accuracy":
            assert ours[key] == pytest.approx(value)
        else:
            assert ours[key] == pytest.approx(value), key
    text = metrics.format_report(ours)
    assert "weighted avg" in text and "c5" in text


def test_fields_report_and_matrix(backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    ds, gt, pred = make_dataset()
    results = evaluate_classifications(ds, "pred", eval_key="eval")
    assert ds.values("eval") == [g == p for g, p in zip(gt, pred)]
    assert ds.get_field_schema()["eval"] == "BooleanField"
    labels = CLASSES + ["(none)"]
    truth = gt
    shown = [p or "(none)" for p in pred]
    assert results.classes == sorted(CLASSES) + ["(none)"]
    np.testing.assert_array_equal(results.confusion_matrix(labels),
                                  confusion_matrix(truth, shown, labels=labels))
    expected = classification_report(truth, shown, output_dict=True, zero_division=0)
    assert results.report()["accuracy"] == pytest.approx(expected["accuracy"])
    assert results.accuracy == pytest.approx(np.mean(ds.values("eval")))
    assert results.report()["dog"] == pytest.approx(expected["dog"])
    assert results.report(["cat", "dog"])["macro avg"]["support"] == gt.count("cat") + gt.count("dog")
    results.print_report()
    assert "precision" in capsys.readouterr().out
    with pytest.raises(ValidationError, match="not in this evaluation"):
        results.confusion_matrix(["horse"])


def test_cell_views_hold_the_cell_counts(backend: str) -> None:
    ds, gt, pred = make_dataset()
    results = evaluate_classifications(ds, "pred")
    matrix = results.confusion_matrix()
    for i, true in enumerate(results.classes):
        for j, predicted in enumerate(results.classes):
            view = results.view_cell(true, predicted)
            assert len(view) == matrix[i, j], (true, predicted)
    missing = results.view_cell("cat", None)
    assert set(missing.values("id")) <= {ds.values("id")[5], ds.values("id")[17]}
    dog = results.classes.index("dog")
    assert len(ds.match(results.cell_filter("dog", "dog"))) == matrix[dog, dog]


def test_views_and_explicit_classes(backend: str) -> None:
    ds, gt, pred = make_dataset()
    view = ds.match_tags("even")
    results = evaluate_classifications(view, "pred", eval_key="even_eval", classes=["dog", "cat"])
    assert results.classes == ["dog", "cat"]  # the missing predictions are on odd samples
    rows = [i for i in range(len(gt)) if i % 2 == 0]
    assert results.matrix.sum() == sum(gt[i] in ("dog", "cat") and pred[i] in ("dog", "cat") for i in rows)
    values = ds.values("even_eval")
    assert all(values[i] is None for i in range(len(gt)) if i % 2)
    cell = results.view_cell("dog", "dog")
    assert len(cell) == results.matrix[0, 0] and all(t == ["even"] for t in cell.values("tags"))
    summary = summarize_classifications(view, "pred")
    assert "even_eval" in ds.get_field_schema() and summary.eval_key is None
    assert summary.matrix.sum() == len(view)


def test_runs_persist_across_processes(backend: str) -> None:
    ds, _, _ = make_dataset(60)
    ds.persistent = True
    view = ds.match_tags("odd")
    results = evaluate_classifications(view, "pred", eval_key="ev")
    assert list_evaluations(ds) == ["ev"]
    if backend == "mongod":  # mongomock lives in this process only
        _check_in_another_process(ds.name, results)
    loaded = load_evaluation_results(ll.load_dataset(ds.name), "ev")
    np.testing.assert_array_equal(loaded.matrix, results.matrix)
    assert len(loaded.view_cell("cat", "cat")) == len(results.view_cell("cat", "cat"))
    delete_evaluation(ds, "ev")
    assert list_evaluations(ds) == [] and "ev" not in ds.get_field_schema()
    with pytest.raises(RunNotFoundError):
        load_evaluation_results(ds, "ev")


def _check_in_another_process(name: str, results: ClassificationResults) -> None:
    script = (f"import labellens as ll; from labellens.evaluation import load_evaluation_results as l\n"
              f"r = l(ll.load_dataset({name!r}), 'ev')\n"
              "print(r.accuracy, len(r.view_cell('cat', 'cat')), r.confusion_matrix().sum())")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    accuracy, cat_cat, total = out.split()
    assert float(accuracy) == pytest.approx(results.accuracy)
    assert int(cat_cat) == len(results.view_cell("cat", "cat")) and int(total) == results.matrix.sum()


def test_bad_input_writes_nothing(backend: str) -> None:
    ds, _, _ = make_dataset(20)
    ds.add_sample_field("score", "FloatField")
    before = ds.get_field_schema()
    with pytest.raises(SchemaError, match="eval_key 'score' already holds FloatField, not BooleanField"):
        evaluate_classifications(ds, "pred", eval_key="score")
    with pytest.raises(ValidationError, match="eval_key 'pred' would overwrite"):
        evaluate_classifications(ds, "pred", eval_key="pred")
    with pytest.raises(ValidationError, match="eval_key must be a top-level"):
        evaluate_classifications(ds, "pred", eval_key="a.b")
    with pytest.raises(Exception, match="does not exist"):
        evaluate_classifications(ds, "nope")
    assert ds.get_field_schema() == before and list_evaluations(ds) == []


def test_collection_methods_are_the_evaluation_functions(backend) -> None:
    """FiftyOne's spelling works too: view.evaluate_classifications(...) and the run methods."""
    ds, gt_labels, pred_labels = make_dataset(60)
    view = ds.match_tags("even")
    results = view.evaluate_classifications("pred", eval_key="eval_even")
    expected = evaluate_classifications(view, "pred", eval_key=None)
    assert results.report() == expected.report()
    assert ds.list_evaluations() == ["eval_even"]
    assert ds.load_evaluation_results("eval_even").report() == expected.report()
    assert len(ds.exists("eval_even")) == len(view)
    ds.delete_evaluation("eval_even")
    assert ds.list_evaluations() == [] and "eval_even" not in ds.get_field_schema()
