"""Out-of-sample class probabilities learnt from noisy labels.

A multinomial logistic model ``z = sum_s a_s * offset_s + X W + b`` combines
evidence sources given as per-class scores (``offsets``: a model's logits, the
log of neighbour votes), each with one learnt weight ``a_s``, with an
L2-penalised linear correction on features ``X`` (embeddings). It is fitted by
maximum likelihood of the *observed* labels under a noise model (forward loss
correction, Patrini et al., CVPR 2017): each sample's ``likelihood`` row gives
``P(observed label | true class i)`` for every ``i`` (see
:mod:`~labellens.brain.noise_model`, which allows class-conditional and
image-dependent confusions). Samples whose label the model finds implausible
then weigh less in the fit, and systematic flips are explained by the noise
model rather than learnt, so the probabilities describe the true classes.

Probabilities are cross-validated: each sample's come from a model that never
saw its label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from labellens.brain.scores import log_softmax

BIAS_PENALTY = 1e-2   # relative to l2: light enough not to bias the classes that have samples


@dataclass(frozen=True)
class NoisyLogReg:
    """Fitted weights: ``offset_weights`` (S,), ``weights`` (D, K), ``bias`` (K,)."""

    offset_weights: np.ndarray
    weights: np.ndarray
    bias: np.ndarray

    def log_proba(self, offsets: np.ndarray, features: np.ndarray) -> np.ndarray:
        """(N, K) log-probabilities of the true class."""
        z = np.tensordot(self.offset_weights, offsets, axes=1) + features @ self.weights + self.bias
        return log_softmax(z)


def fit_noisy_logreg(offsets: np.ndarray, features: np.ndarray, likelihood: np.ndarray, *,
                     l2: float = 1e-2, max_iter: int = 300) -> NoisyLogReg:
    """Fit the model by penalised maximum likelihood of the noisy labels.

    Parameters
    ----------
    offsets : numpy.ndarray
        (S, N, K) per-class evidence (S may be 0); each gets one weight, started at 1/S.
    features : numpy.ndarray
        (N, D) standardised features (D may be 0).
    likelihood : numpy.ndarray
        (N, K) ``P(observed label of n | true class i)``, positive where the label is possible.
    l2 : float
        Penalty on the feature weights ``W``, and ``BIAS_PENALTY * l2`` on the bias
        ``b`` (the offsets' weights are free): a class absent from the training
        folds keeps a bias near 0 instead of being ruled out.
    max_iter : int
        L-BFGS iterations.
    """
    num_sources, (n, k) = offsets.shape[0], likelihood.shape
    dim = features.shape[1]

    def unpack(theta: np.ndarray) -> NoisyLogReg:
        return NoisyLogReg(theta[:num_sources], theta[num_sources:num_sources + dim * k].reshape(dim, k),
                           theta[num_sources + dim * k:])

    def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        model = unpack(theta)
        log_p = model.log_proba(offsets, features)
        p = np.exp(log_p)
        joint = p * likelihood
        q_label = np.maximum(joint.sum(axis=1), 1e-300)   # P(observed label | image)
        grad_z = (p - joint / q_label[:, None]) / n       # prior minus posterior of the true class
        loss = -np.log(q_label).mean() + l2 * float((model.weights ** 2).sum()
                                                    + BIAS_PENALTY * (model.bias ** 2).sum())
        grad = np.concatenate([np.tensordot(offsets, grad_z, axes=([1, 2], [0, 1])),
                               (features.T @ grad_z + 2 * l2 * model.weights).ravel(),
                               grad_z.sum(axis=0) + 2 * l2 * BIAS_PENALTY * model.bias])
        return loss, grad

    theta0 = np.zeros(num_sources + dim * k + k)
    theta0[:num_sources] = 1.0 / max(num_sources, 1)
    result = minimize(loss_and_grad, theta0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    return unpack(result.x)


def stratified_folds(labels: np.ndarray, num_folds: int, seed: int = 0) -> np.ndarray:
    """(N,) fold index per sample, each class spread evenly over the folds."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(labels), dtype=int)
    start = 0
    order = np.argsort(labels, kind="stable")
    for cls_size in np.bincount(labels):
        members = order[start:start + cls_size]
        folds[rng.permutation(members)] = (np.arange(cls_size) + rng.integers(num_folds)) % num_folds
        start += cls_size
    return folds


def cross_val_log_proba(offsets: np.ndarray, features: np.ndarray, labels: np.ndarray,
                        likelihood: np.ndarray, *, num_folds: int = 5, l2: float = 1e-2,
                        seed: int = 0, max_train: int | None = None) -> np.ndarray:
    """(N, K) out-of-sample log-probabilities: each fold predicted by a model fit on the others.

    ``labels`` (N,) only stratify the folds; ``likelihood`` (N, K) is as for :func:`fit_noisy_logreg`.
    ``max_train``: each fold's model is fit on at most this many of the other folds' rows (a
    random subset, seeded by ``seed`` and the fold; None: all of them), which bounds the fit's
    cost at large N while every row is still predicted.
    """
    folds = stratified_folds(labels, num_folds, seed)
    out = np.empty(likelihood.shape)
    for fold in range(num_folds):
        test, train = folds == fold, np.flatnonzero(folds != fold)
        if max_train is not None and len(train) > max_train:
            train = np.sort(np.random.default_rng([seed, fold]).choice(train, max_train, replace=False))
        model = fit_noisy_logreg(offsets[:, train], features[train], likelihood[train], l2=l2)
        out[test] = model.log_proba(offsets[:, test], features[test])
    return out
