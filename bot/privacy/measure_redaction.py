"""How well redaction does on our table of cases: recall and precision, per kind and overall (issue #7, part 3).

``python -m bot.privacy.measure_redaction [--cases FILE]`` prints the figures, the rows redacted exactly as expected,
what was missed and what was redacted that should not have been, and the time to redact a 300-character message.
It always exits 0: the figures are for reading, and the unit tests hold the redactor to a floor with ``score``.

The scores are entity-level:

* an expected span (a token in a case's ``expected`` text, lined up with the text) is found if one finding of the
  same kind covers all of it; recall is found / expected;
* a false positive is a finding that overlaps no expected span, or a change to a keep-word
  (``data/privacy/keep_words.yml``) that the case does not ask for; precision is the findings that are not false
  positives over all findings and keep-word changes.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

from bot.privacy.redaction import KEEP_WORDS_FILE, KINDS, Finding, Redactor

PROJECT_DIR = Path(__file__).resolve().parents[2]
CASES_FILE = PROJECT_DIR / "tests" / "data" / "redaction_cases.yml"
TOKEN = re.compile(r"\[(" + "|".join(KINDS) + r")\]")
OVERALL = "overall"
# The message timed for the per-message figure: a long chat message, cut to 300 characters.
TIMING_CHARS = 300
TIMING_MESSAGE = (
    "Hi, my son jake is 9 and has ADHD and ASD. The EHCP took 9 months and the SENCo at his school never replies to "
    "my emails. We asked CAMHS for help on 12/01/2026 and they said the wait is over a year. Could someone call me on "
    "07700 900123 please? We live near CV1 2GN and he goes to Whitley Academy. Thanks, Sarah"
)[:TIMING_CHARS]
TIMING_RUNS = 200
# How much lining an expected token up with a finding that covers it counts, against characters merely shared.
COVERED_AGREEMENT = 1000


@dataclass(frozen=True)
class Case:
    """One row of the table."""

    text: str  # as it arrives
    expected: str  # as it must be stored


@dataclass(frozen=True)
class Span:
    """Where an expected token stands in a case's text."""

    kind: str  # the token's kind, e.g. "NAME"
    start: int  # in the original text
    end: int


@dataclass(frozen=True)
class Miss:
    """An expected span no finding covered, or a finding that should not be there."""

    kind: str  # the kind expected (for a miss) or found (for a false positive)
    text: str  # the words concerned
    case: str  # the case's text


@dataclass
class Tally:
    """Counts for one kind (or overall)."""

    expected: int = 0  # expected spans
    found: int = 0  # expected spans covered by a finding of their kind
    findings: int = 0  # findings plus keep-word changes
    false_positives: int = 0  # findings that overlap no expected span, and keep-word changes

    @property
    def recall(self) -> float:
        """Found over expected (1.0 if nothing was expected)."""
        return self.found / self.expected if self.expected else 1.0

    @property
    def precision(self) -> float:
        """Correct findings over all findings (1.0 if nothing was found)."""
        return (self.findings - self.false_positives) / self.findings if self.findings else 1.0


@dataclass
class Score:
    """The result of scoring a redactor on the table."""

    tallies: Dict[str, Tally] = field(default_factory=dict)  # per kind, and OVERALL
    misses: List[Miss] = field(default_factory=list)  # expected spans not found
    false_positives: List[Miss] = field(default_factory=list)  # findings not expected, and keep-word changes
    exact: int = 0  # cases whose redacted text is exactly the expected text
    cases: int = 0  # cases scored

    @property
    def recall(self) -> float:
        """Overall recall."""
        return self.tallies[OVERALL].recall

    @property
    def precision(self) -> float:
        """Overall precision."""
        return self.tallies[OVERALL].precision


def load_cases(path: Path = CASES_FILE) -> List[Case]:
    """The table's cases.

    Raises:
        ValueError: a row lacks ``text`` or ``expected``.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rows = data.get("cases") if isinstance(data, dict) else data
    cases = []
    for number, row in enumerate(rows or [], start=1):
        if not (isinstance(row, dict) and isinstance(row.get("text"), str) and isinstance(row.get("expected"), str)):
            raise ValueError(f"{path}: case {number} needs a text and an expected string")
        cases.append(Case(text=row["text"], expected=row["expected"]))
    return cases


def expected_spans(case: Case, findings: Sequence[Finding] = ()) -> List[Span]:
    """Where the tokens in ``case.expected`` stand in ``case.text``.

    "9a holly lane cv6 4hx" against "[ADDRESS] [POSTCODE]" can be split at any space, so of the ways to line the
    expected text up with the text, this takes the one that agrees most with ``findings`` (a reading the expected
    text allows, never one it does not), and with no findings the first, shortest one.

    Raises:
        ValueError: the expected text is not the text with some parts replaced by tokens.
    """
    pieces = TOKEN.split(case.expected)
    literals, kinds = pieces[0::2], pieces[1::2]
    text = case.text
    if not text.startswith(literals[0]):
        raise ValueError(f"expected text does not line up with its text: {text!r}")

    @functools.lru_cache(maxsize=None)
    def best(index: int, start: int) -> Optional[Tuple[int, Tuple[Span, ...]]]:
        """The best agreement and spans for tokens ``index`` on, the first starting at ``start``."""
        if index == len(kinds):
            return (0, ()) if start == len(text) else None
        following = literals[index + 1]
        chosen = None
        for end in _ends(text, following, start, last=index + 1 == len(kinds)):
            rest = best(index + 1, end + len(following))
            if rest is not None:
                span = Span(kinds[index], start, end)
                agreement = _agreement(span, findings) + rest[0]
                if chosen is None or agreement > chosen[0]:
                    chosen = (agreement, (span, *rest[1]))
        return chosen

    result = best(0, len(literals[0])) if kinds else ((0, ()) if text == literals[0] else None)
    if result is None:
        raise ValueError(f"expected text does not line up with its text: {text!r}")
    return list(result[1])


def _ends(text: str, following: str, start: int, last: bool) -> List[int]:
    """Where a token starting at ``start`` can end: before each later ``following`` (before the end, if ``last``)."""
    if last:
        end = len(text) - len(following)
        return [end] if end > start and text.endswith(following) else []
    ends = []
    end = text.find(following, start + 1)
    while end >= 0:
        ends.append(end)
        end = text.find(following, end + 1)
    return ends


def _agreement(span: Span, findings: Sequence[Finding]) -> int:
    """How well ``span`` agrees with the findings: a lot if one of its kind covers it, else the characters shared."""
    score_ = 0
    for finding in findings:
        if finding.kind != span.kind:
            continue
        if finding.start <= span.start and span.end <= finding.end:
            score_ += COVERED_AGREEMENT
        score_ += max(0, min(finding.end, span.end) - max(finding.start, span.start))
    return score_


def keep_word_spans(text: str, keep_words: Sequence[str]) -> List[Tuple[int, int]]:
    """Where the keep-words are in ``text`` (whole words, any case)."""
    spans = []
    for word in keep_words:
        spans += [m.span() for m in re.finditer(r"(?<!\w)" + re.escape(word) + r"(?!\w)", text, re.IGNORECASE)]
    return spans


def load_keep_words(path: Path = KEEP_WORDS_FILE) -> List[str]:
    """The keep-words, as the redactor reads them."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return list(data.get("keep_words") or []) if isinstance(data, dict) else list(data)


def score(redactor: Redactor, cases: Sequence[Case], keep_words: Optional[Sequence[str]] = None) -> Score:
    """Recall and precision of ``redactor`` on ``cases`` (see the module docstring for the rules).

    Args:
        redactor: the redactor to score.
        cases: the table.
        keep_words: the words a redaction must never change (default: ``data/privacy/keep_words.yml``).

    Returns:
        The tallies, misses and false positives.
    """
    keep_words = load_keep_words() if keep_words is None else keep_words
    result = Score(tallies={kind: Tally() for kind in (*KINDS, OVERALL)})
    for case in cases:
        result.cases += 1
        findings = redactor.findings(case.text)
        spans = expected_spans(case, findings)
        result.exact += redactor.redact(case.text) == case.expected
        for span in spans:
            covered = any(f.kind == span.kind and f.start <= span.start and span.end <= f.end for f in findings)
            for key in (span.kind, OVERALL):
                result.tallies[key].expected += 1
                result.tallies[key].found += covered
            if not covered:
                result.misses.append(Miss(span.kind, case.text[span.start:span.end], case.text))
        for finding in findings:
            wrong = not any(_overlaps(finding, span) for span in spans)
            for key in (finding.kind, OVERALL):
                result.tallies[key].findings += 1
                result.tallies[key].false_positives += wrong
            if wrong:
                result.false_positives.append(Miss(finding.kind, case.text[finding.start:finding.end], case.text))
        _count_keep_word_changes(result, case, spans, findings, keep_words)
    return result


def _count_keep_word_changes(
    result: Score, case: Case, spans: Sequence[Span], findings: Sequence[Finding], keep_words: Sequence[str]
) -> None:
    """Count each keep-word a finding changed, unless the case expects it changed or it is already counted."""
    for start, end in keep_word_spans(case.text, keep_words):
        keep = Span("", start, end)
        if any(_overlaps(keep, span) for span in spans):
            continue
        for finding in findings:
            if _overlaps(finding, keep) and any(_overlaps(finding, span) for span in spans):
                for key in (finding.kind, OVERALL):
                    result.tallies[key].findings += 1
                    result.tallies[key].false_positives += 1
                result.false_positives.append(Miss(finding.kind, case.text[start:end], case.text))
                break


def _overlaps(a: "Span | Finding", b: "Span | Finding") -> bool:
    """True if the two spans share a character."""
    return a.start < b.end and b.start < a.end


def time_per_message(redactor: Redactor, message: str = TIMING_MESSAGE, runs: int = TIMING_RUNS) -> Tuple[float, float]:
    """Median and 95th-percentile milliseconds to redact ``message``, after a first call."""
    redactor.redact(message)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        redactor.redact(message)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.95)]


def report(result: Score) -> str:
    """The figures as a table, then the misses and false positives."""
    lines = [f"{'kind':<15}{'expected':>9}{'found':>7}{'recall':>8}{'findings':>10}{'false+':>8}{'precision':>11}"]
    for kind, tally in result.tallies.items():
        if kind != OVERALL and not tally.expected and not tally.findings:
            continue
        lines.append(f"{kind:<15}{tally.expected:>9}{tally.found:>7}{tally.recall:>8.3f}{tally.findings:>10}"
                     f"{tally.false_positives:>8}{tally.precision:>11.3f}")
    lines.append(f"exact rows: {result.exact}/{result.cases}")
    lines.append(f"misses ({len(result.misses)}):")
    lines += [f"  {m.kind:<14} {m.text!r:<30} in {m.case[:90]!r}" for m in result.misses]
    lines.append(f"false positives ({len(result.false_positives)}):")
    lines += [f"  {m.kind:<14} {m.text!r:<30} in {m.case[:90]!r}" for m in result.false_positives]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Print the scores for the table (or ``--cases FILE``) and the time per message; always 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=CASES_FILE, help="the YAML table of cases")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    redactor = Redactor.default()
    built = time.perf_counter() - started
    cases = load_cases(args.cases)
    print(report(score(redactor, cases)))
    median, p95 = time_per_message(redactor)
    print(f"cases: {len(cases)}; redactor built in {built:.1f} s; "
          f"{len(TIMING_MESSAGE)}-character message: median {median:.2f} ms, 95th percentile {p95:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
