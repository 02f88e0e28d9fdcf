"""Kernel SHAP's coalition sampling design: paired coalitions stratified by size.

Strata of coalition sizes, the budget shared between them by water filling
and rounded systematically, each stratum's pairs drawn lazily in one random
order, and the game's values gathered over rounds of growing budgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

# Pair counts (Python ints of any size) become floats capped here: C(M, s)
# overflows a float beyond about a thousand segments, and no budget comes
# near such counts.
_BIG = 10**300


def _strata(n_segments, sampling):
    """The coalition sizes paired with their complements' sizes.

    Stratum ``j`` holds the coalitions of size ``s = j + 1`` and of size
    ``M - s`` (one size when ``2 s = M``), as pairs ``(z, complement)``.

    Returns
    -------
    sizes : ndarray of int, 1..M // 2
    n_pairs : list of int
        Distinct pairs per stratum (Python ints, exact).
    mass : ndarray of float
        Total Shapley-kernel weight of the stratum's coalitions.
    target : ndarray of float
        How to share the budget between strata: ``mass`` for ``"kernel"``
        sampling, one unit per coalition size for ``"leverage"``.
    """
    m = n_segments
    sizes = np.arange(1, m // 2 + 1)
    n_pairs, mass, target = [], [], []
    for s in sizes:
        n_sizes = 1 if 2 * s == m else 2
        n_pairs.append(comb(m, s) // 2 if n_sizes == 1 else comb(m, s))
        # The kernel gives each coalition of size s the weight
        # (M - 1) / (C(M, s) s (M - s)): each size weighs (M - 1) / (s (M - s)).
        mass.append(n_sizes * (m - 1) / (s * (m - s)))
        target.append(mass[-1] if sampling == "kernel" else float(n_sizes))
    return sizes, n_pairs, np.array(mass), np.array(target)


def _expected_pairs(n_pairs, target, budget):
    """Expected pairs drawn per stratum: ``min(n_pairs, c * target)``.

    ``c`` is set so that the expectations add up to ``budget``: strata the
    budget covers are enumerated in full, the rest share what is left in
    proportion to ``target`` (water filling).
    """
    capacity = np.array([float(min(n, _BIG)) for n in n_pairs])
    full = np.zeros(len(capacity), dtype=bool)
    while True:
        if full.all():
            return capacity, full
        left = budget - capacity[full].sum()
        scale = left / target[~full].sum()
        # (A relative slack: at a budget of exactly every pair, rounding
        # must not leave the last stratum a hair short of full.)
        newly = ~full & (scale * target >= capacity * (1 - 1e-12))
        if not newly.any():
            break
        full |= newly
    return np.where(full, capacity, scale * target), full


#: A stratum with at most this many pairs more than four times the budget is
#: listed and shuffled; a larger one is drawn by rejecting repeats.
_LIST_SLACK = 1000
#: Candidates drawn at once when rejecting repeats: fixed, so that the order
#: of a stratum's pairs does not depend on how many are asked for at a time.
_BLOCK = 64


class _StratumOrder:
    """The pairs of one stratum in a uniformly random order, drawn lazily.

    The first ``n`` pairs of the order are a simple random sample of ``n``
    pairs without replacement, for every ``n``: a design that grows by
    taking more of the order (``n_samples="auto"``) draws, at each size,
    exactly what a design drawn at that size would. When ``2 size = M`` a
    coalition and its complement are the same pair, represented by the
    member holding segment 0.
    """

    def __init__(self, n_segments, size, n_pairs, max_pairs, rng):
        self.rng = rng
        self.half = 2 * size == n_segments
        self.n_items, self.k = (
            (n_segments - 1, size - 1) if self.half else (n_segments, size)
        )
        self.listed = n_pairs <= 4 * max_pairs + _LIST_SLACK
        self.rows = None
        self.seen = set()

    def _extend(self, n):
        if self.listed:
            pool = np.array(
                list(combinations(range(self.n_items), self.k)), dtype=np.intp
            ).reshape(comb(self.n_items, self.k), self.k)
            rows = np.zeros((len(pool), self.n_items), dtype=bool)
            np.put_along_axis(rows, pool, True, axis=1)
            self.rows = rows[self.rng.permutation(len(pool))]
            return
        # Many more pairs than will ever be drawn: uniform random subsets,
        # repeats rejected, in blocks of fixed size.
        rows = [] if self.rows is None else [self.rows]
        count = 0 if self.rows is None else len(self.rows)
        while count < n:
            keys = self.rng.random((_BLOCK, self.n_items))
            picks = np.argpartition(keys, self.k - 1, axis=1)[:, : self.k]
            new = np.zeros(keys.shape, dtype=bool)
            np.put_along_axis(new, picks, True, axis=1)
            keep = []
            for i, row in enumerate(np.packbits(new, axis=1)):
                key = row.tobytes()
                if key not in self.seen:
                    self.seen.add(key)
                    keep.append(i)
            rows.append(new[keep])
            count += len(keep)
        self.rows = np.concatenate(rows)

    def take(self, start, stop):
        """Coalitions ``(stop - start, M)`` of pairs ``start..stop-1`` of the order."""
        if self.rows is None or len(self.rows) < stop:
            self._extend(stop)
        rows = self.rows[start:stop]
        if not self.half:
            return rows.copy()
        return np.concatenate([np.ones((len(rows), 1), dtype=bool), rows], axis=1)


def _systematic_counts(expected, full, budget, offset):
    """Integer pairs per stratum with these expectations, adding up to ``budget``.

    Strata drawn in full keep their size; the others share what is left by
    systematic rounding at ``offset`` in [0, 1): each count is the floor or
    the ceiling of its expectation, with that expectation over a uniform
    ``offset``.
    """
    counts = np.where(full, expected, 0).astype(np.int64)
    if not full.all():
        share = np.cumsum(expected[~full])
        share *= (budget - counts.sum()) / share[-1]
        edges = np.floor(np.concatenate([[0.0], share]) + offset)
        counts[~full] = np.diff(edges).astype(np.int64)
    return counts


class _PairDesign:
    """Kernel SHAP's sampling design: paired coalitions stratified by size.

    Pairs ``(z, 1 - z)`` are drawn without replacement, stratified by size:
    each pair with probability ``min(1, c q(z))`` (``q`` the Shapley kernel
    or the leverage score, ``c`` set by the budget), the number per stratum
    rounded systematically so that the budget is met exactly, each stratum's
    pairs the first ones of its own random order (:class:`_StratumOrder`).
    ``_Sample.draw(design, budget)`` gives the sample at any budget; samples
    at growing budgets share their pairs, and each is distributed as a
    sample drawn afresh at its budget.

    Parameters
    ----------
    n_segments : int
    sampling : {"kernel", "leverage"}
    max_pairs : int
        The largest budget that will be asked for (decides which strata are
        listed).
    rng : numpy.random.Generator
    """

    def __init__(self, n_segments, sampling, max_pairs, rng):
        self.n_segments = n_segments
        self.sizes, self.n_pairs, self.mass, self.target = _strata(n_segments, sampling)
        self.offset = rng.random()
        seed = int(rng.integers(2**63))
        self.orders = [
            _StratumOrder(
                n_segments, int(size), n, max_pairs, np.random.default_rng([seed, j])
            )
            for j, (size, n) in enumerate(zip(self.sizes, self.n_pairs, strict=True))
        ]
        self.total_pairs = sum(self.n_pairs)

    def plan(self, budget):
        """``(counts, expected, full)`` per stratum at ``budget`` pairs."""
        expected, full = _expected_pairs(self.n_pairs, self.target, budget)
        return _systematic_counts(expected, full, budget, self.offset), expected, full

    def pair_weight(self, expected):
        """Regression weight of each coalition of each stratum: kernel weight
        over inclusion probability, the stratum's mass shared by the
        ``2 * expected`` coalitions it contributes on average."""
        return self.mass / (2 * np.maximum(expected, 1e-300))

    def rounding_counts(self, budget):
        """Every way the rounding can fall: counts ``(k, strata)`` and their
        probabilities ``(k,)`` over a uniform offset."""
        expected, full = _expected_pairs(self.n_pairs, self.target, budget)
        if full.all():
            return self.plan(budget)[0][np.newaxis], np.ones(1)
        share = np.cumsum(expected[~full])
        share *= (budget - np.where(full, expected, 0).sum()) / share[-1]
        cuts = np.unique(np.concatenate([[0.0, 1.0], (1.0 - share % 1.0) % 1.0]))
        mids, lengths = (cuts[1:] + cuts[:-1]) / 2, np.diff(cuts)
        counts = np.stack(
            [_systematic_counts(expected, full, budget, u) for u in mids[lengths > 0]]
        )
        return counts, lengths[lengths > 0]


def sample_coalitions(n_segments, n_samples, rng, sampling="kernel"):
    """Coalitions for Kernel SHAP, each with its complement, and their weights.

    Pairs ``(z, 1 - z)`` are drawn without replacement, stratified by size:
    each pair is drawn with probability ``min(1, c q(z))`` with ``q`` the
    Shapley kernel (``"kernel"``) or the leverage score (``"leverage"``: each
    coalition size equally likely), ``c`` set so that ``n_samples // 2``
    pairs are drawn on average; a pair's regression weight is its kernel
    weight over that probability (exactly the kernel weight for sizes drawn in
    full; the same for every sampled coalition with ``"kernel"``). How many
    pairs each size gets is rounded systematically, so the total is exact.
    When the budget covers all ``2**M - 2`` coalitions they are all listed
    and the solution is exactly the Shapley values.

    Parameters
    ----------
    n_segments : int
        ``M``, the number of players (superpixels).
    n_samples : int
        Coalitions wanted besides the empty and the full one; paired, so an
        odd number draws one fewer.
    rng : numpy.random.Generator
    sampling : {"kernel", "leverage"}, default="kernel"

    Returns
    -------
    masks : ndarray of shape (m, M), bool
        The drawn coalitions, then their complements in the same order.
    weights : ndarray of shape (m,)
        Regression weights, summing to 1.
    exact : bool
        Whether every coalition is there.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.attribution._shapley_sampling import sample_coalitions
    >>> masks, weights, exact = sample_coalitions(4, 100, np.random.default_rng(0))
    >>> masks.shape, exact
    ((14, 4), True)
    """
    m = n_segments
    budget = n_samples // 2
    if m < 2 or budget == 0:
        return np.zeros((0, m), dtype=bool), np.zeros(0), m < 2
    design = _PairDesign(m, sampling, budget, rng)
    sample = _Sample.draw(design, budget)
    masks = np.concatenate([sample.pairs, ~sample.pairs])
    weights = np.concatenate([sample.weights, sample.weights])
    return masks, weights / weights.sum(), sample.exact


@dataclass
class _Sample:
    """Pairs of a design at one budget, with the game's values on them.

    ``pairs`` holds one member of each pair (``(n, M)``, bool), ``values``
    ``v`` of the member and of its complement (``(n, 2)``), ``weights`` the
    regression weight of either member, ``strata`` each pair's stratum.
    """

    pairs: np.ndarray
    values: np.ndarray
    weights: np.ndarray
    strata: np.ndarray
    counts: np.ndarray
    budget: int
    exact: bool

    @classmethod
    def draw(cls, design, budget, values=None):
        counts, expected, full = design.plan(budget)
        weight = design.pair_weight(expected)
        drawn = np.flatnonzero(counts)
        pairs = np.concatenate([design.orders[j].take(0, counts[j]) for j in drawn])
        return cls(
            pairs=pairs,
            values=(
                np.concatenate([values[j][: counts[j]] for j in drawn])
                if values is not None
                else None
            ),
            weights=np.repeat(weight[drawn], counts[drawn]),
            strata=np.repeat(drawn, counts[drawn]),
            counts=counts,
            budget=budget,
            exact=bool(full.all()),
        )

    def coalitions(self):
        """``(masks (2n, M), weights (2n,))``: members, then complements;
        the weights sum to 1."""
        weights = np.concatenate([self.weights, self.weights])
        return np.concatenate([self.pairs, ~self.pairs]), weights / weights.sum()


class _SampledGame:
    """The game's values on a growing design, each coalition evaluated once.

    ``sample(budget)`` evaluates (in one batched model call) the pairs the
    design at ``budget`` holds that no earlier budget held, the two ends with
    the first ones, and returns the :class:`_Sample`.
    """

    def __init__(self, design, evaluate):
        self.design, self.evaluate = design, evaluate
        self.done = np.zeros(len(design.orders), dtype=np.int64)
        self.values = [np.zeros((0, 2)) for _ in design.orders]
        self.full_value = self.base_value = None
        self.n_evaluations = 0

    def cost(self, budget):
        """Pairs evaluated in all once the sample at ``budget`` is drawn.

        A stratum's count can fall by one as the budget grows (systematic
        rounding), so this may exceed ``budget`` by a few pairs: those stay
        evaluated but outside the sample.
        """
        return int(np.maximum(self.design.plan(budget)[0], self.done).sum())

    def sample(self, budget):
        counts = self.design.plan(budget)[0]
        new = np.flatnonzero(counts > self.done)
        pairs = [self.design.orders[j].take(self.done[j], counts[j]) for j in new]
        pairs = np.concatenate(pairs) if pairs else np.zeros((0, 0), dtype=bool)
        masks = np.concatenate([pairs, ~pairs]) if len(pairs) else pairs
        if self.full_value is None:
            m = self.design.n_segments
            ends = np.array([np.ones(m, bool), np.zeros(m, bool)])
            masks = np.concatenate([ends, masks]) if len(masks) else ends
        if len(masks):
            values = self.evaluate(masks)
            self.n_evaluations += len(masks)
            if self.full_value is None:
                self.full_value, self.base_value = float(values[0]), float(values[1])
                values = values[2:]
            half = len(values) // 2
            values = np.stack([values[:half], values[half:]], axis=1)
            start = 0
            for j in new:
                stop = start + counts[j] - self.done[j]
                self.values[j] = np.concatenate([self.values[j], values[start:stop]])
                self.done[j], start = counts[j], stop
        return _Sample.draw(self.design, budget, self.values)


#: Pairs per segment in the first round of ``n_samples="auto"``: with 2 the
#: standard errors of the first round were too noisy to stop on (errors
#: 1.19 standard errors on average at the stop, 16 segments), with 4 1.08-1.16.
_FIRST_ROUND = 4


def _budgets(game, max_pairs, auto):
    """Pair budgets of the rounds: one for a fixed ``n_samples``; else from
    ``4 M`` pairs (at least 32), 1.5 times more each round, up to the largest
    budget whose rounds evaluate at most ``max_pairs`` pairs."""
    if not auto:
        yield max_pairs
        return
    budget = min(max_pairs, max(_FIRST_ROUND * game.design.n_segments, 32))
    while True:
        while budget > 1 and game.cost(budget) > max_pairs:
            budget -= 1
        yield budget
        if budget >= max_pairs or game.cost(budget + 1) > max_pairs:
            return
        budget = min(max_pairs, int(np.ceil(1.5 * budget)))
