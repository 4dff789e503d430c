"""Out-of-sample predictions from embeddings: the remedy for a model trained on the labels it checks.

A model that saw a sample's label during training agrees with it, right or
wrong, so its predictions cannot reveal the mistake. K-fold cross-fitting fixes
that: a multinomial logistic classifier is fitted on the embeddings of a
pretrained backbone (features that never saw these labels) in ``num_folds``
folds, and each sample is predicted by the classifier that did not see it.

:func:`out_of_sample_log_proba` is the pure function (numpy in, numpy out);
``labellens.brain.compute_out_of_sample_predictions`` runs it on a dataset.
:func:`in_sample_warning` tells when given predictions look in-sample.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from labellens.brain.mislabel_model import standardize
from labellens.brain.noisy_logreg import cross_val_log_proba
from labellens.errors import ValidationError

IN_SAMPLE_AGREEMENT = 0.99     # held-out predictions of real data rarely agree with more of the labels
IN_SAMPLE_MIN_SAMPLES = 200


def out_of_sample_log_proba(embeddings: np.ndarray, labels: np.ndarray, num_classes: int, *,
                            num_folds: int = 5, l2: float = 1e-2, seed: int = 0) -> np.ndarray:
    """(N, K) log-probabilities of each sample from a logistic model fitted on the other folds.

    Parameters
    ----------
    embeddings : numpy.ndarray
        (N, D) finite features, standardised here.
    labels : numpy.ndarray
        (N,) given class indices in [0, K).
    num_classes : int
        K (classes nobody is given get a low probability everywhere).
    num_folds : int
        At least 2; each fold's classifier never sees that fold's labels.
    l2, seed : float, int
        Penalty on the weights; seed of the stratified fold assignment.
    """
    features = standardize(np.asarray(embeddings, dtype=np.float64))
    labels = np.asarray(labels, dtype=np.int64)
    likelihood = np.zeros((len(labels), num_classes))
    likelihood[np.arange(len(labels)), labels] = 1.0        # the labels as given: no noise model
    with threadpool_limits(limits=1, user_api="blas"):
        return cross_val_log_proba(np.zeros((0, len(labels), num_classes)), features, labels, likelihood,
                                   num_folds=num_folds, l2=l2, seed=seed)


def check_num_folds(num_folds: object) -> None:
    """Raise unless ``num_folds`` is an integer of at least 2."""
    if isinstance(num_folds, bool) or not isinstance(num_folds, int) or num_folds < 2:
        raise ValidationError(f"num_folds must be an integer >= 2, got {num_folds!r}")


def in_sample_warning(agreement: float, num_samples: int) -> str | None:
    """A warning when predictions agree with the given labels as only an in-sample model does, else None.

    ``agreement`` is the fraction of ``num_samples`` predictions equal to the
    given label. Held-out predictions on real data, whose labels are never all
    right, rarely reach 0.99; a model trained on these labels does (on 200
    samples or more), agreeing with the wrong labels too. The message says what to do.
    """
    if num_samples < IN_SAMPLE_MIN_SAMPLES or agreement < IN_SAMPLE_AGREEMENT:
        return None
    return (f"the predictions agree with {agreement:.1%} of the given labels: they look in-sample, from a "
            "model trained on these labels, and such predictions agree with the wrong labels too. Use "
            "out-of-sample predictions: labellens.brain.compute_out_of_sample_predictions(samples, "
            "embeddings_field) on a pretrained backbone's embeddings, or (samples, model=...) to "
            "fine-tune the model in K folds")
