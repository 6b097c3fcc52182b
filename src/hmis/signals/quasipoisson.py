"""A quasi-Poisson GLM with log link, fitted step for step as R's ``glm.fit`` fits it.

The Farrington methods (:mod:`hmis.signals.farrington`) must give R's bounds to 1e-6, and a
quasi-Poisson fit stops after a tolerance, not at the exact optimum: the last iteration's
weights, which R keeps for the covariance, the hat values and the dispersion, differ from the
fitted means by about the square root of that tolerance. So this is not "a" Poisson fit but
R's iteration (``stats::glm.fit``, R 4.2): the same start (``mu = y + 0.1``), the same working
response and weights, the same stopping rule (``|dev - dev_old| / (|dev| + 0.1) < 1e-8``,
at most 25 iterations), the same rule for dropping a column that is (nearly) a combination of
the previous ones (LINPACK ``dqrdc2``'s, tolerance 1e-11), and what ``glm.fit`` keeps at the
end: coefficients and means of the last step, working weights and the QR decomposition of the
step before.

statsmodels is not among the project's dependencies, and its fit stops elsewhere; numpy is
all this needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, special

EPSILON = 1e-8
MAX_ITERATIONS = 25
# glm.fit passes min(1e-7, epsilon / 1000) to its QR as the tolerance for a dropped column.
QR_TOLERANCE = 1e-11
DOUBLE_EPS = np.finfo(float).eps


@dataclass(frozen=True)
class Fit:
    """What the Farrington methods read from R's ``glm`` object.

    ``coefficients`` has NaN for a column the QR dropped (R's ``NA``); ``kept`` lists the
    columns used, in R's pivot order. ``working_weights`` and ``q``/``r`` belong to the last
    iteration's weighted least squares, as R's ``weights`` and ``qr`` do; ``mu``, ``eta`` and
    ``residuals`` (working residuals ``(y - mu) / mu``) to the final coefficients.
    """

    coefficients: np.ndarray
    kept: np.ndarray
    mu: np.ndarray
    eta: np.ndarray
    residuals: np.ndarray
    working_weights: np.ndarray
    prior_weights: np.ndarray
    q: np.ndarray
    r: np.ndarray
    df_residual: int
    converged: bool

    def dispersion(self, weights: np.ndarray | None = None) -> float:
        """``summary.glm``'s estimate: ``sum(weights * residuals^2) / df_residual`` over positive weights.

        ``weights`` defaults to the working weights (the Pearson statistic); the Farrington
        code passes others where R's object carries others (see :mod:`hmis.signals.farrington`).
        NaN without residual degrees of freedom, as in R.
        """
        weights = self.working_weights if weights is None else weights
        if self.df_residual <= 0:
            return float("nan")
        positive = weights > 0
        return float(np.sum((weights * self.residuals**2)[positive]) / self.df_residual)

    def unscaled_covariance(self) -> np.ndarray:
        """``(R'R)^-1`` over the kept columns (R's ``chol2inv`` of the QR's ``R``)."""
        r_inverse = linalg.solve_triangular(self.r, np.eye(len(self.r)), check_finite=False)
        return r_inverse @ r_inverse.T

    def hat_values(self) -> np.ndarray:
        """Diagonal of the hat matrix of the weighted fit, as ``hatvalues`` gives it (0 for zero weight)."""
        hat = np.zeros(len(self.mu))
        good = self.working_weights > 0
        hat[good] = np.sum(self.q**2, axis=1)
        # lm.influence rounds a leverage within 10 ulp of 1 to exactly 1.
        hat[hat > 1 - 10 * DOUBLE_EPS] = 1.0
        return hat

    def linear_predictor(self, row: np.ndarray, offset: float = 0.0) -> tuple[float, float]:
        """Link-scale prediction and its unscaled standard error (``sqrt(x' (R'R)^-1 x)``) at ``row``."""
        x = np.asarray(row, dtype=float)[self.kept]
        eta = float(x @ self.coefficients[self.kept]) + offset
        r_inverse_t = linalg.solve_triangular(self.r, x, trans="T", check_finite=False)
        return eta, float(np.sqrt(r_inverse_t @ r_inverse_t))


def _link_inverse(eta: np.ndarray) -> np.ndarray:
    # R's poisson()$linkinv and $mu.eta for the log link: exp(eta), never below machine epsilon.
    return np.maximum(np.exp(eta), DOUBLE_EPS)


def link_inverse(eta: float) -> float:
    """R's ``poisson()$linkinv`` (also its ``mu.eta``) for one value."""
    return float(_link_inverse(np.asarray([eta]))[0])


def _deviance(y: np.ndarray, mu: np.ndarray, weights: np.ndarray) -> float:
    # Poisson deviance; xlogy makes y log(y / mu) 0 for y = 0, as R's dev.resids does.
    return float(2 * np.sum(weights * (special.xlogy(y, y / mu) - (y - mu))))


def _qr(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return linalg.qr(x, mode="economic", check_finite=False)


def _pivoted_qr(x: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Householder QR keeping columns in order, moving a negligible one to the end as ``dqrdc2`` does.

    A column is negligible when what is left of it after the kept columns is below
    ``tolerance`` times its original norm (1 for a zero column). Returns the kept column
    indices, and the reduced ``Q`` and ``R`` of those columns.
    """
    original = np.linalg.norm(x, axis=0)
    original[original == 0] = 1.0
    q, r = _qr(x)
    # What is left of column j after the columns before it is |R[j, j]|: with none
    # negligible (the usual case) the plain decomposition is dqrdc2's.
    if x.shape[0] >= x.shape[1] and np.all(np.abs(np.diag(r)) >= tolerance * original):
        return np.arange(x.shape[1]), q, r
    kept: list[int] = []
    q_basis = np.zeros((x.shape[0], 0))
    for column in range(x.shape[1]):
        if len(kept) == x.shape[0]:
            break  # no more independent columns than rows
        rest = x[:, column] - q_basis @ (q_basis.T @ x[:, column])
        if np.linalg.norm(rest) < tolerance * original[column]:
            continue
        kept.append(column)
        q_basis, _ = _qr(x[:, kept])
    kept_array = np.asarray(kept, dtype=int)
    q, r = _qr(x[:, kept_array])
    return kept_array, q, r


class _RankDeficient(Exception):
    """The quick path met a design without full rank: the fit is redone the exact way."""


def fit(
    y,
    x,
    *,
    weights=None,
    offset=None,
    epsilon: float = EPSILON,
    max_iterations: int = MAX_ITERATIONS,
) -> Fit:
    """Fit ``log E[y] = x b + offset`` by iteratively reweighted least squares, as ``glm.fit`` does.

    ``y``: counts (no missing values); ``x``: the design matrix with its intercept column;
    ``weights``: prior weights (1 by default; a zero weight drops the row as in R);
    ``offset``: added to the linear predictor. Never raises for non-convergence: the returned
    ``converged`` says whether the stopping rule was met within ``max_iterations``.
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    n = len(y)
    weights = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    offset = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
    # The steps solve the normal equations, which agree with R's QR to ~1e-12 on these
    # small, full-rank designs at a fraction of the cost (the Farrington methods fit a
    # few models per judged period); the last step's QR decides whether a column was
    # negligible, and if one was, the fit is redone with R's pivoted QR at every step.
    try:
        return _iterate(y, x, weights, offset, epsilon, max_iterations, exact=False)
    except (np.linalg.LinAlgError, _RankDeficient):
        return _iterate(y, x, weights, offset, epsilon, max_iterations, exact=True)


def _iterate(y, x, weights, offset, epsilon, max_iterations, *, exact: bool) -> Fit:
    n = len(y)
    eta = np.log(y + 0.1)
    mu = _link_inverse(eta)
    deviance_old = _deviance(y, mu, weights)
    coefficients = np.full(x.shape[1], np.nan)
    converged = False
    kept = np.arange(0)
    q = r = np.zeros((0, 0))
    w_squared = np.zeros(n)
    weighted_x = x
    for _ in range(max_iterations):
        mu_eta = _link_inverse(eta)
        good = (weights > 0) & (mu_eta != 0)
        z = (eta - offset)[good] + (y - mu)[good] / mu_eta[good]
        w = np.sqrt(weights[good] * mu_eta[good] ** 2 / mu[good])
        weighted_x = x[good] * w[:, None]
        step = np.full(x.shape[1], np.nan)
        if exact:
            kept, q, r = _pivoted_qr(weighted_x, QR_TOLERANCE)
            step[kept] = linalg.solve_triangular(r, q.T @ (z * w), check_finite=False)
        else:
            kept = np.arange(x.shape[1])
            step[:] = np.linalg.solve(weighted_x.T @ weighted_x, weighted_x.T @ (z * w))
        w_squared = np.zeros(n)
        w_squared[good] = w**2
        eta = x[:, kept] @ step[kept] + offset
        mu = _link_inverse(eta)
        deviance = _deviance(y, mu, weights)
        coefficients = step
        if abs(deviance - deviance_old) / (abs(deviance) + 0.1) < epsilon:
            converged = True
            break
        deviance_old = deviance
    if not exact:
        kept, q, r = _pivoted_qr(weighted_x, QR_TOLERANCE)
        if len(kept) < x.shape[1]:
            raise _RankDeficient
        # The last step once more the way R solves it, so what is kept is R's to rounding.
        coefficients = linalg.solve_triangular(r, q.T @ (z * w), check_finite=False)
        eta = x @ coefficients + offset
        mu = _link_inverse(eta)

    n_ok = n - int(np.sum(weights == 0))
    return Fit(
        coefficients=coefficients,
        kept=kept,
        mu=mu,
        eta=eta,
        residuals=(y - mu) / _link_inverse(eta),
        working_weights=w_squared,
        prior_weights=weights,
        q=q,
        r=r,
        df_residual=n_ok - len(kept),
        converged=converged,
    )
