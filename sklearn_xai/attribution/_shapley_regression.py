"""Kernel SHAP's constrained regression and its standard errors."""

from __future__ import annotations

import numpy as np

from ._shapley_sampling import _BIG


def solve_shapley(masks, weights, values, base_value, full_value):
    """Weighted least squares with the efficiency constraint, solved exactly.

    Minimises ``sum_z w(z) (v(z) - v(0) - phi . z)**2`` subject to
    ``sum(phi) = v(1) - v(0)`` through its KKT system (Lundberg and Lee,
    2017; Covert and Lee, 2021); a least-squares solve gives the
    minimum-norm answer when too few coalitions leave it underdetermined.

    Parameters
    ----------
    masks : ndarray of shape (m, M)
    weights : ndarray of shape (m,)
    values : ndarray of shape (m,)
        ``v(z)`` of each coalition.
    base_value, full_value : float
        ``v(0)`` and ``v(1)``.

    Returns
    -------
    phi : ndarray of shape (M,)
    """
    n_players = masks.shape[1]
    if n_players == 1 or len(masks) == 0:
        total = full_value - base_value
        return np.full(n_players, total / max(n_players, 1))
    return _solve(_System(masks, weights), values, base_value, full_value)


class _System:
    """The weighted coalitions and the KKT matrix of the constrained
    regression, built once for every game solved on the same coalitions."""

    def __init__(self, masks, weights):
        n_players = masks.shape[1]
        self.z = masks.astype(np.float64)
        self.weighted = self.z * weights[:, np.newaxis]
        self.kkt = np.zeros((n_players + 1, n_players + 1))
        self.kkt[:n_players, :n_players] = self.weighted.T @ self.z
        self.kkt[:n_players, n_players] = self.kkt[n_players, :n_players] = 1.0


def _solve(system, values, base_value, full_value):
    """:func:`solve_shapley` on a :class:`_System` of two players or more."""
    n_players = system.z.shape[1]
    total = full_value - base_value
    rhs = np.append(system.weighted.T @ (values - base_value), total)
    solution = np.linalg.lstsq(system.kkt, rhs, rcond=None)[0]
    return solution[:n_players]


def _constraint_inverse(system):
    """``Q``: how the constrained solution moves with the normal equations.

    With ``A = Z' W Z`` and the constraint ``1' phi = t``, a change ``r`` of
    ``Z' W y - A phi`` moves ``phi`` by ``Q r``, ``Q = A^-1 - A^-1 1 1' A^-1 /
    1' A^-1 1``, the top-left block of the inverse of the KKT matrix (of the
    :class:`_System`), which projects out the direction ``1`` (``Q 1 = 0``)
    the efficiency constraint fixes. None when the KKT matrix is singular
    (too few coalitions).
    """
    m = system.z.shape[1]
    if np.linalg.matrix_rank(system.kkt) < m + 1:
        return None
    return np.linalg.inv(system.kkt)[:m, :m]


def _score_covariance(design, sample, scores):
    """Covariance ``(p, p)`` of the weighted score totals of a sample.

    ``scores`` ``(n_pairs, p)``: one row per pair, the independent units of
    the design. Within a stratum the pairs are a simple random sample
    without replacement: its total varies by ``n (1 - n / N) S^2``, ``S^2``
    estimated by the stratum's sample covariance (centred within the
    stratum; strata drawn in full add nothing; a stratum with one drawn pair
    is pooled with its neighbour, which errs on the large side). The
    systematic rounding of the counts adds the variance of ``sum_h n_h
    mean_h`` over its offset, computed exactly over the offsets that give
    different counts. None when no variance can be estimated.
    """
    counts, _, full = design.plan(sample.budget)
    capacity = np.array([float(min(n, _BIG)) for n in design.n_pairs])
    p = scores.shape[1]
    cov = np.zeros((p, p))
    group, group_size = [], 0
    groups = []
    for j in np.flatnonzero((counts > 0) & ~full):
        group.append(j)
        group_size += counts[j]
        if group_size >= 2:
            groups.append(group)
            group, group_size = [], 0
    if group:
        if not groups:
            return None
        groups[-1].extend(group)
    means = np.zeros((len(counts), p))
    for group in groups:
        rows = scores[np.isin(sample.strata, group)]
        n = len(rows)
        centred = rows - rows.mean(axis=0)
        fraction = n / capacity[group].sum()
        cov += (1 - fraction) * n / (n - 1) * centred.T @ centred
        for j in group:
            means[j] = scores[sample.strata == j].mean(axis=0)
    if groups:
        # The rounding: E[total | counts] = sum_h counts_h mean_h.
        ways, probability = design.rounding_counts(sample.budget)
        totals = ways @ means
        centred = totals - probability @ totals
        cov += (centred * probability[:, np.newaxis]).T @ centred
    return cov


def _pair_scores(masks, weights, residuals, inverse):
    """Each pair's score ``sum w z r*`` over its two members, ``(n_pairs, M)``.

    Fitted residuals are smaller than the errors they stand for, the more so
    the more a pair pulls the fit; each pair's two residuals are scaled by
    ``(I - H_k)^(-1/2)``, ``H_k = w Z_k Q Z_k'`` its 2 x 2 block of the hat
    matrix of the constrained fit (MacKinnon and White's HC2, which is
    unbiased for equal error variances). Without it the standard errors came
    out 8% low at 100 pairs for 16 segments, 30% low at 40 pairs.
    """
    half = len(masks) // 2
    pair_masks = np.stack([masks[:half], masks[half:]], axis=1)  # (n, 2, M)
    pair_residuals = np.stack([residuals[:half], residuals[half:]], axis=1)
    weight = weights[:half, np.newaxis, np.newaxis]  # equal within a pair
    hat = weight * np.einsum("nim,mk,njk->nij", pair_masks, inverse, pair_masks)
    scale, vectors = np.linalg.eigh(np.eye(2) - hat)
    scale = np.clip(scale, 1e-3, None) ** -0.5
    pair_residuals = np.einsum(
        "nij,nj,nkj,nk->ni", vectors, scale, vectors, pair_residuals
    )
    return np.einsum("nim,ni->nm", pair_masks, pair_residuals) * weight[:, 0]


def _estimate(design, sample, base_value, full_value, control=None):
    """Shapley values and their standard errors from a sample.

    The standard errors linearise the constrained solution (the sandwich
    estimate of Covert and Lee, 2021): ``Cov(phi) = Q V Q`` with ``V`` the
    covariance of the pairs' weighted residual scores ``sum w z (v(z) -
    v(0) - z . phi)`` under the sampling design (:func:`_score_covariance`).

    ``control``, ``(game, phi_g, variance_g)``, is a control variate (see
    :mod:`._control_variate`): its Kernel SHAP estimate ``phi_g_hat`` on the
    same coalitions is computed too and ``phi - beta (phi_g_hat - phi_g)``
    returned, with one ``beta = tr Cov(phi, phi_g_hat) / tr Var(phi_g_hat)``
    for all segments (estimated by the same linearisation; one coefficient
    keeps efficiency, and measured better than one per segment, whose
    noise cost more than it gained below 128 samples).

    Returns
    -------
    phi, stderr : ndarray of shape (M,)
    beta : float or None
    """
    masks, weights = sample.coalitions()
    values = np.concatenate([sample.values[:, 0], sample.values[:, 1]])
    m = masks.shape[1]
    # One KKT system for every solve and the standard errors.
    system = _System(masks, weights)

    def solve(values, base_value, full_value):
        if m == 1 or len(masks) == 0:
            return solve_shapley(masks, weights, values, base_value, full_value)
        return _solve(system, values, base_value, full_value)

    phi = solve(values, base_value, full_value)
    if sample.exact:
        return phi, np.zeros(m), None
    inverse = _constraint_inverse(system)
    if inverse is None:
        return phi, np.full(m, np.inf), None
    z = system.z
    scores = [_pair_scores(z, weights, values - base_value - z @ phi, inverse)]
    if control is not None:
        game, phi_g, variance_g = control
        g_values = game.values(masks)
        phi_g_hat = solve(g_values, game.base_value, game.full_value)
        g_residuals = g_values - game.base_value - z @ phi_g_hat
        scores.append(_pair_scores(z, weights, g_residuals, inverse))
    cov = _score_covariance(design, sample, np.concatenate(scores, axis=1))
    if cov is None:
        return phi, np.full(m, np.inf), None
    cov_ff = inverse @ cov[:m, :m] @ inverse
    if control is None:
        return phi, np.sqrt(np.clip(np.diag(cov_ff), 0, None)), None
    cov_fg = np.diag(inverse @ cov[:m, m:] @ inverse)
    var_g = np.diag(inverse @ cov[m:, m:] @ inverse)
    beta = cov_fg.sum() / var_g.sum() if var_g.sum() > 0 else 0.0
    phi = phi - beta * (phi_g_hat - phi_g)
    variance = np.diag(cov_ff) - 2 * beta * cov_fg + beta**2 * (var_g + variance_g)
    return phi, np.sqrt(np.clip(variance, 0, None)), beta
