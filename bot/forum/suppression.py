"""Small-number suppression: which published counts must be hidden so that nobody can work out a small one.

Why: a survey of a few dozen families, cut by question and week, quickly has cells of one or two people. Anyone who
knows a family answered (a forum member, a school) could learn how they answered. So the figures follow three
rules, applied to every table before anything is published.

1. Primary suppression. Every count below the threshold (``DEFAULT_THRESHOLD`` = 5, configurable, at least 2) is
   hidden, zero included: "nobody said no" gives away how everyone answered just as "one person said no" gives away
   one answer. It is shown as "fewer than 5" (``SMALL``).

2. Secondary suppression. Published figures are tied together, and anyone can write the ties down and solve them:

   - a question's rows and its "not answered" add up to the responses; "answered" is the sum of the rows (for a
     multiple-choice question the rows do not add up, but each is at most "answered", together at least "answered",
     and "None of these" plus any other option is at most "answered");
   - NPS promoters, passives and detractors are sums of score cells;
   - the weeks of ``over_time`` add up to the responses;
   - a follow-up question (``ask_if``) was answered by at most as many people as gave the answer that asks it;
   - the free-text answers the themes counted are the free-text questions' "answered" counts added up.

   A reader also knows that a "fewer than 5" cell is 0 to 4 and that a "not shown" cell is 5 or more. After primary
   suppression, an audit works out, for every hidden count, the smallest and the largest whole number it could be
   given everything published. When the two are the same the count is given away (for example one small cell next
   to a published total, or two small cells that must both be 4 because they add up to 8), so another published
   count is hidden as "not shown" (``SECONDARY``): the smallest one in the same table that sets it free, then the
   table's subtotals ("answered", "not answered", the NPS groups), and the number of responses only as a last resort.
   This repeats until no hidden count can be pinned down. Then each "not shown" count is tried again, totals first,
   and shown after all if the audit still passes, so no more is hidden than needed.

   The audit is exact: it solves the ties as an integer linear programme (``scipy.optimize.milp``). Tables are tiny
   (a survey has at most ten questions), so this takes milliseconds, whatever the number of responses.

3. Derived figures. A percentage, mean, NPS score, agreement or positive share is published only when every count
   it is computed from is published (``all_published``). A mean times "answered" is a weighted sum of the rows, so
   publishing the mean of a question with a hidden row would pin that row; the same holds for every figure computed
   from a hidden count. A percentage of a published count over a published base adds nothing a reader could not
   work out, so it is safe.

When the number of responses itself is below the threshold, everything is hidden.

What it costs, so nobody is surprised: a question everybody answered has 0 "not answered", a small count; with the
responses published, "answered" would give it away, so "answered" is "not shown" too, then one of its rows (the
rows add up to "answered"), and with the base hidden the question shows no percentages. Likewise a survey whose
every answer to a question was the same, or a week in which nobody answered. With a threshold of 2 there are cases
that no pattern of hiding can protect, because the labels themselves say too much: with a threshold of 2, "fewer
than 2" already says "0 or 1"; with 3, six responses of which three are empty and three answer one question can
be pinned by the labels alone (three weeks "fewer than 3" add up to at most 6; that question's "answered" and "not
answered", both "not shown", to at least 6). Hiding more cannot help then, so ``suppress`` raises
``CannotProtect`` and the caller publishes no table of that survey at all, only its number of responses
(``bot.forum.aggregates``). tests/unit/test_forum_suppression.py searches random responses for such cases.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Hashable, Iterable, List, Mapping, Optional, Set, Tuple

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from bot.forum.results import DEFAULT_THRESHOLD, SECONDARY, SMALL

logger = logging.getLogger(__name__)

Key = Hashable  # names one count, e.g. ("row", "help_right_time", "agree")

MIN_THRESHOLD = 2  # a threshold of 1 would hide nothing but zeros
EQUAL, AT_MOST = "==", "<="
# How willing the secondary step is to hide a count: the cells of a breakdown first, then subtotals, the total last.
INNER, SUBTOTAL, TOTAL = 0, 1, 2

__all__ = [
    "AT_MOST", "CannotProtect", "DEFAULT_THRESHOLD", "EQUAL", "INNER", "MIN_THRESHOLD", "SUBTOTAL", "TOTAL", "Constraint",
    "all_published", "check_threshold", "pinned", "primary", "suppress",
]


class CannotProtect(Exception):
    """No pattern of hiding keeps every small count safe: the tables must not be published at all.

    Why an exception: hiding every count is not enough, because each hidden count still says "below the
    threshold" or "at or above it", and those bounds alone can pin a count. Only withholding the tables is safe.
    """

    def __init__(self, key: Key) -> None:
        super().__init__(f"{key!r} can be worked out however the tables are hidden")
        self.key = key


@dataclass(frozen=True)
class Constraint:
    """One tie a reader can write down between published and hidden counts: sum(coefficient * count) <sense> constant.

    ``table`` groups the ties of one published table (a question, ``over_time``), so secondary suppression looks for
    a count to hide in the table of the count it protects before looking anywhere else.
    """

    terms: Tuple[Tuple[Key, int], ...]
    sense: str = EQUAL  # EQUAL or AT_MOST
    constant: int = 0
    table: str = ""

    def holds(self, counts: Mapping[Key, int]) -> bool:
        """True when the true counts meet the tie (a tie the data does not meet protects nothing and is dropped)."""
        total = sum(coefficient * counts[key] for key, coefficient in self.terms)
        return total == self.constant if self.sense == EQUAL else total <= self.constant

    @property
    def keys(self) -> Tuple[Key, ...]:
        return tuple(key for key, _ in self.terms)


def check_threshold(threshold: Any) -> int:
    """The threshold, checked: a whole number of at least ``MIN_THRESHOLD``.

    Raises:
        ValueError: it is not an int (bool is refused), or it is below ``MIN_THRESHOLD``.
    """
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < MIN_THRESHOLD:
        raise ValueError(f"the suppression threshold must be a whole number of at least {MIN_THRESHOLD}, "
                         f"not {threshold!r}")
    return threshold


def primary(counts: Mapping[Key, int], threshold: int, zero_ok: Iterable[Key] = ()) -> Dict[Key, str]:
    """The counts hidden because they are small (0 included, except for ``zero_ok`` counts), each ``SMALL``.

    A ``zero_ok`` count says nothing about anyone when it is 0: "nobody skipped this question" is the same as
    publishing that everyone answered it. Hiding it would cost the question its every percentage.
    """
    exempt = frozenset(zero_ok)
    return {key: SMALL for key, count in counts.items()
            if count < threshold and not (count == 0 and key in exempt)}


def all_published(hidden: Mapping[Key, str], *keys: Key) -> bool:
    """True when none of ``keys`` is hidden: only then may a figure computed from them be published."""
    return not any(key in hidden for key in keys)


def suppress(counts: Mapping[Key, int], constraints: Iterable[Constraint], threshold: int, *,
             ranks: Optional[Mapping[Key, int]] = None, zero_ok: Iterable[Key] = ()) -> Dict[Key, str]:
    """Which counts to hide, and why (``SMALL`` or ``SECONDARY``), so that no hidden count can be worked out.

    ``counts`` are the true counts of every published table, ``constraints`` every tie between them a reader could
    use, ``ranks`` how reluctant we are to hide each count (``INNER`` if missing; ``TOTAL`` for the number of
    responses: if a ``TOTAL`` is below the threshold everything is hidden), ``zero_ok`` counts that may be shown
    when they are 0 (see ``primary``). Returns only the hidden counts.

    Raises:
        CannotProtect: some hidden count stays pinned down whatever else is hidden (tiny surveys only, see the
            module docstring); the caller must then publish none of these tables.
    """
    threshold = check_threshold(threshold)
    ranks = dict(ranks or {})
    hidden = primary(counts, threshold, zero_ok)
    small = frozenset(hidden)  # hidden for being small: never shown again
    if any(rank == TOTAL and counts[key] < threshold for key, rank in ranks.items()):
        return {key: SMALL if count < threshold else SECONDARY for key, count in counts.items()}
    if not hidden:
        return hidden
    audit = _Audit(counts, constraints, threshold)
    secondary = _Secondary(audit, ranks)
    while True:
        still_pinned = audit.pinned(hidden)
        if not still_pinned:
            break
        choice = secondary.choose(still_pinned[0], hidden)
        if choice is None:  # everything the pinned count is tied to is hidden already: the labels give it away
            raise CannotProtect(still_pinned[0])
        # A zero_ok count hidden to protect another is still a small one, and must say so (the audit's bounds).
        hidden[choice] = SMALL if counts[choice] < threshold else SECONDARY
    return secondary.republish(hidden, small)


def pinned(counts: Mapping[Key, int], constraints: Iterable[Constraint], threshold: int,
           hidden: Mapping[Key, str]) -> List[Key]:
    """The hidden counts a reader could work out exactly from everything else (empty when the figures are safe)."""
    return _Audit(counts, constraints, check_threshold(threshold)).pinned(hidden)


class _Audit:
    """Works out whether a hidden count is pinned down, as a reader with the published figures could.

    It keeps every alternative solution it finds (counts that fit all the ties but differ from the true ones): one
    that moves a count proves it free without solving again, and stays valid while more counts are hidden.
    """

    def __init__(self, counts: Mapping[Key, int], constraints: Iterable[Constraint], threshold: int) -> None:
        self.counts = dict(counts)
        self.threshold = threshold
        self.constraints: List[Constraint] = []
        for constraint in constraints:
            if constraint.holds(self.counts):
                self.constraints.append(constraint)
            else:
                logger.warning("suppression: the data do not meet the tie %s; it is left out of the audit", constraint)
        self.order = {key: index for index, key in enumerate(self.counts)}
        self.by_key: Dict[Key, List[Constraint]] = {}
        self.neighbours: Dict[Key, Set[Key]] = {}  # counts sharing a tie with each count
        for constraint in self.constraints:
            keys = constraint.keys
            for key in keys:
                self.by_key.setdefault(key, []).append(constraint)
                self.neighbours.setdefault(key, set()).update(keys)
        # A bound for the "not shown" counts, so the solver never meets an unbounded problem; far above any real
        # alternative, and cutting one off could only make the audit hide more, never less.
        self.ceiling = 10 * (max(self.counts.values(), default=0) + threshold) + 10
        self.pool: List[Dict[Key, int]] = []
        self.cache: Dict[FrozenSet[Tuple[Key, str]], FrozenSet[Key]] = {}

    def pinned(self, hidden: Mapping[Key, str]) -> List[Key]:
        """The hidden counts that can take only their true value, in the order of ``counts``."""
        found = [key for component in self.components(hidden) for key in self._pinned_in(component, hidden)]
        return sorted(found, key=self.order.__getitem__)

    def is_pinned(self, key: Key, hidden: Mapping[Key, str]) -> bool:
        return key in self._pinned_in(self.component(key, hidden), hidden)

    def components(self, hidden: Mapping[Key, str]) -> List[FrozenSet[Key]]:
        """The hidden counts in groups tied to each other; a group's answer depends on nothing else hidden."""
        seen: Set[Key] = set()
        groups = []
        for key in hidden:
            if key not in seen:
                group = self.component(key, hidden)
                seen |= group
                groups.append(group)
        return groups

    def component(self, key: Key, hidden: Mapping[Key, str]) -> FrozenSet[Key]:
        group, queue = {key}, [key]
        while queue:
            for term in self.neighbours.get(queue.pop(), ()):
                if term in hidden and term not in group:
                    group.add(term)
                    queue.append(term)
        return frozenset(group)

    def _pinned_in(self, component: FrozenSet[Key], hidden: Mapping[Key, str]) -> FrozenSet[Key]:
        """The pinned counts of one group, worked out once per group (hiding a count changes only its group)."""
        marked = frozenset((key, hidden[key]) for key in component)
        if marked not in self.cache:
            self.cache[marked] = _Problem(self, component, hidden).pinned()
        return self.cache[marked]


class _Problem:
    """The integer programme of one group of tied hidden counts: they are the unknowns, the rest are known."""

    SPREAD_TRIES = 2  # solves that try to move every unknown at once, before asking about each one
    PROPAGATION_ROUNDS = 20
    SOLVER_OPTIONS = ({}, {"presolve": False})

    def __init__(self, audit: _Audit, component: Iterable[Key], hidden: Mapping[Key, str]) -> None:
        self.audit = audit
        self.hidden = hidden  # all hidden counts: an earlier alternative fits if it moved only hidden ones
        self.keys = sorted(component, key=audit.order.__getitem__)
        self.index = {key: i for i, key in enumerate(self.keys)}
        self.true = np.array([audit.counts[key] for key in self.keys], dtype=float)
        self.bounds, self.linear = self._build()

    def pinned(self) -> FrozenSet[Key]:
        """The unknowns no whole-number solution of the ties moves off their true value.

        Cheap first: alternatives found before, then solves with mixed-sign objectives that tend to move many
        unknowns at once; only the unknowns still unmoved are each pushed up and down on their own.
        """
        fixed = self._propagated()
        free = self._moved_by_pool()
        signs = np.where(np.arange(len(self.keys)) % 2 == 0, 1.0, -1.0)
        for attempt in range(self.SPREAD_TRIES):
            still = [i for i, key in enumerate(self.keys) if key not in free]
            if len(still) < 2:
                break
            objective = np.zeros(len(self.keys))
            objective[still] = signs[: len(still)] * (1 if attempt == 0 else -1)
            free |= self._moved(self._solve(objective))
        return frozenset(key for key in self.keys if key not in free and (key in fixed or self._stuck(key)))

    def _propagated(self) -> Set[Key]:
        """Unknowns that plain arithmetic on the ties already fixes (as a reader would do first), without solving.

        Each tie bounds each of its unknowns by what the others can be; bounds are tightened until nothing
        changes. The bounds stay true bounds, so an unknown whose lowest and highest are equal is pinned.
        """
        if self.linear is None:
            return set()
        matrix, low, high = self.linear.A, self.linear.lb, self.linear.ub
        lo, hi = self.bounds.lb.copy(), self.bounds.ub.copy()
        positive, negative, nonzero = np.clip(matrix, 0, None), np.clip(matrix, None, 0), matrix != 0
        with np.errstate(divide="ignore", invalid="ignore"):
            for _ in range(self.PROPAGATION_ROUNDS):
                least = positive * lo + negative * hi  # each term's smallest value
                most = positive * hi + negative * lo
                rest_least = least.sum(axis=1, keepdims=True) - least  # the other terms of the tie
                rest_most = most.sum(axis=1, keepdims=True) - most
                upper_side = (high[:, None] - rest_least) / matrix  # a * x <= high - (the rest at its least)
                lower_side = (low[:, None] - rest_most) / matrix  # a * x >= low - (the rest at its most)
                new_hi = np.where(nonzero & (matrix > 0), upper_side, np.where(nonzero, lower_side, np.inf))
                new_lo = np.where(nonzero & (matrix > 0), lower_side, np.where(nonzero, upper_side, -np.inf))
                new_hi = np.floor(np.nan_to_num(new_hi, nan=np.inf, neginf=-np.inf) + 1e-9).min(axis=0)
                new_lo = np.ceil(np.nan_to_num(new_lo, nan=-np.inf, posinf=np.inf) - 1e-9).max(axis=0)
                tighter_hi, tighter_lo = np.minimum(hi, new_hi), np.maximum(lo, new_lo)
                if np.array_equal(tighter_hi, hi) and np.array_equal(tighter_lo, lo):
                    break
                lo, hi = tighter_lo, tighter_hi
        return {key for i, key in enumerate(self.keys) if lo[i] == hi[i]}

    def _stuck(self, key: Key) -> bool:
        """True when ``key`` can be neither larger nor smaller than its true value."""
        for sign in (-1.0, 1.0):  # maximise, then minimise
            objective = np.zeros(len(self.keys))
            objective[self.index[key]] = sign
            solution = self._solve(objective)
            if solution is None:
                return True  # the solver gave up: assume the worst, so more gets hidden
            if key in self._moved(solution):
                return False
        return True

    def _moved(self, solution: Optional[np.ndarray]) -> Set[Key]:
        """The unknowns ``solution`` puts off their true value (kept for later groups when there are any)."""
        if solution is None:
            return set()
        moved = {self.keys[i] for i in np.flatnonzero(solution != self.true)}
        if moved:
            self.audit.pool.append({self.keys[i]: int(solution[i]) for i in range(len(self.keys))})
        return moved

    def _moved_by_pool(self) -> Set[Key]:
        """Unknowns an earlier alternative moved, if that alternative still fits: it changed only hidden counts."""
        counts, free = self.audit.counts, set()
        for solution in self.audit.pool:
            if all(key in self.hidden or value == counts[key] for key, value in solution.items()):
                free |= {key for key, value in solution.items() if key in self.index and value != counts[key]}
        return free

    def _build(self) -> Tuple[Bounds, Optional[LinearConstraint]]:
        audit, threshold = self.audit, self.audit.threshold
        lower = np.array([0 if self.hidden[k] == SMALL else threshold for k in self.keys], dtype=float)
        upper = np.array([threshold - 1 if self.hidden[k] == SMALL else audit.ceiling for k in self.keys],
                         dtype=float)
        rows, lows, highs = [], [], []
        seen: Set[int] = set()
        for key in self.keys:
            for constraint in audit.by_key.get(key, ()):
                if id(constraint) in seen:
                    continue
                seen.add(id(constraint))
                row, rest = np.zeros(len(self.keys)), float(constraint.constant)
                for term, coefficient in constraint.terms:
                    if term in self.index:
                        row[self.index[term]] += coefficient
                    else:
                        rest -= coefficient * audit.counts[term]
                rows.append(row)
                lows.append(rest if constraint.sense == EQUAL else -np.inf)
                highs.append(rest)
        linear = LinearConstraint(np.array(rows), np.array(lows), np.array(highs)) if rows else None
        return Bounds(lower, upper), linear

    def _solve(self, objective: np.ndarray) -> Optional[np.ndarray]:
        """A whole-number solution of the ties minimising ``objective``, checked; None if none was found.

        Only a solution that is checked to meet every tie is used as proof that a count is free; a solver that
        fails or errs can only make the audit hide more, never less. (HiGHS' presolve in scipy 1.10 can call a
        small feasible problem infeasible, so a failure is retried without it.)
        """
        for options in self.SOLVER_OPTIONS:
            result = milp(objective, integrality=np.ones(len(self.keys)), bounds=self.bounds,
                          constraints=[self.linear] if self.linear is not None else None, options=options)
            if result.status == 0 and result.x is not None:
                solution = np.round(result.x)
                if self._fits(solution):
                    return solution
        logger.warning("suppression: the audit's solver found no checked solution: %s", result.message)
        return None

    def _fits(self, solution: np.ndarray) -> bool:
        if np.any(solution < self.bounds.lb) or np.any(solution > self.bounds.ub):
            return False
        if self.linear is None:
            return True
        values = self.linear.A @ solution
        return bool(np.all(values >= self.linear.lb - 1e-6) and np.all(values <= self.linear.ub + 1e-6))


class _Secondary:
    """Chooses the published counts to hide so that the small ones cannot be worked out."""

    def __init__(self, audit: _Audit, ranks: Mapping[Key, int]) -> None:
        self.audit = audit
        self.ranks = ranks

    def choose(self, target: Key, hidden: Mapping[Key, str]) -> Optional[Key]:
        """The count to hide next to free ``target``: the first candidate that frees it (and is free itself);
        failing that the first candidate, and the search goes on from there."""
        candidates = self.candidates(target, hidden)
        for candidate in candidates:
            trial = {**hidden, candidate: SMALL if self.audit.counts[candidate] < self.audit.threshold else SECONDARY}
            if not self.audit.is_pinned(target, trial) and not self.audit.is_pinned(candidate, trial):
                return candidate
        return candidates[0] if candidates else None

    def candidates(self, target: Key, hidden: Mapping[Key, str]) -> List[Key]:
        """Published counts tied to ``target`` (directly or through other hidden counts), most willing first:
        never the total before anything else, the target's own tables before others, then by rank and size."""
        own_tables = {c.table for c in self.audit.by_key.get(target, ())}
        component, queue, found = {target}, [target], set()
        while queue:
            key = queue.pop()
            for constraint in self.audit.by_key.get(key, ()):
                for term in constraint.keys:
                    if term in hidden:
                        if term not in component:
                            component.add(term)
                            queue.append(term)
                    else:
                        found.add(term)
        tables = {term: self._tables(term) for term in found}

        def reluctance(key: Key) -> Tuple[Any, ...]:
            rank = self.ranks.get(key, INNER)
            return (rank == TOTAL, not (tables[key] & own_tables), rank, self.audit.counts[key],
                    self.audit.order[key])

        return sorted(found, key=reluctance)

    def _tables(self, key: Key) -> Set[str]:
        return {c.table for c in self.audit.by_key.get(key, ())}

    def republish(self, hidden: Dict[Key, str], small: FrozenSet[Key] = frozenset()) -> Dict[Key, str]:
        """Show again each count hidden only to protect another (not one of the ``small`` ones) that the audit can
        do without: totals and subtotals first (they are the bases of the percentages), then larger counts."""
        def preference(key: Key) -> Tuple[int, int, int]:
            return (-self.ranks.get(key, INNER), -self.audit.counts[key], self.audit.order[key])

        for key in sorted((k for k in hidden if k not in small), key=preference):
            trial = {k: why for k, why in hidden.items() if k != key}
            if not self.audit.pinned(trial):
                hidden = trial
        return hidden

