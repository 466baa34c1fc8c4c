"""How well the theme classifier files answers: scored on the held-out labelled sample it never saw (issue #8).

    python -m bot.forum.measure_themes [--heldout tests/data/themes_heldout.yml] [--training data/forum/themes.yml]
                                       [--cv] [--show-errors]

Prints, per label, precision, recall, F1 and the number of examples; the macro F1 over the six labels (the five
framework areas and Other); and the subset accuracy (an answer counts only when its whole set of labels is right).
The classifier is trained from the training file exactly as the export trains it (``ThemeClassifier.from_file``);
the held-out file is read only here. ``--cv`` adds the same scores from cross-validation on the training file alone
(5 folds, examples from one source page kept in one fold, thresholds chosen inside each fold), which is what to
look at while improving the examples, so the held-out score stays a fair measurement. Exit status 0, or 2 when a
file cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from bot.forum.themes import (
    DEFAULT_AREAS_FILE, DEFAULT_TRAINING_FILE, LABELS, RANDOM_STATE, Example, ThemeClassifier, ThemeDataError,
    label_counts, load_cues, load_examples, load_non_answer_words,
)
from bot.surveys.definitions import PROJECT_DIR

DEFAULT_HELDOUT_FILE = PROJECT_DIR / "tests" / "data" / "themes_heldout.yml"
CV_FOLDS = 5

Scores = Tuple[List[Tuple[str, float, float, float, int]], float, float]  # per label (P, R, F1, n); macro F1; subset


def score(truth: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> Scores:
    """Per-label precision, recall, F1 and support; macro F1 over ``LABELS``; subset accuracy."""
    rows = []
    for label in LABELS:
        tp = sum(1 for t, p in zip(truth, predicted) if label in t and label in p)
        fp = sum(1 for t, p in zip(truth, predicted) if label not in t and label in p)
        fn = sum(1 for t, p in zip(truth, predicted) if label in t and label not in p)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
        rows.append((label, precision, recall, f1, tp + fn))
    macro = float(np.mean([f1 for _, _, _, f1, _ in rows]))
    subset = sum(1 for t, p in zip(truth, predicted) if set(t) == set(p)) / len(truth) if truth else 0.0
    return rows, macro, subset


def cross_validate(examples: Sequence[Example], cues, folds: int = CV_FOLDS, seed: int = RANDOM_STATE + 1,
                   non_answer_words: frozenset = frozenset()) -> List[Tuple[str, ...]]:
    """Out-of-fold predicted labels for each training example (folds grouped by source page)."""
    sources = sorted({e.source for e in examples})
    order = np.random.RandomState(seed).permutation(len(sources))
    fold_of = {sources[index]: rank % folds for rank, index in enumerate(order)}
    predicted: List[Optional[Tuple[str, ...]]] = [None] * len(examples)
    for fold in range(folds):
        train = [e for e in examples if fold_of[e.source] != fold]
        test = [i for i, e in enumerate(examples) if fold_of[e.source] == fold]
        if not test:
            continue
        classifier = ThemeClassifier(train, cues, non_answer_words=non_answer_words)
        for i, labels in zip(test, classifier.classify([examples[i].text for i in test])):
            predicted[i] = tuple(label for label, _ in labels)
    return [p or () for p in predicted]


def report(title: str, examples: Sequence[Example], predicted: Sequence[Sequence[str]], out=None) -> float:
    """Print the scores of ``predicted`` against ``examples``' labels; return the macro F1."""
    out = out or sys.stdout
    rows, macro, subset = score([e.labels for e in examples], predicted)
    print(f"\n{title}: {len(examples)} examples from {len({e.source for e in examples})} pages", file=out)
    print(f"  {'label':<16}{'precision':>10}{'recall':>8}{'F1':>7}{'examples':>10}", file=out)
    for label, precision, recall, f1, support in rows:
        print(f"  {label:<16}{precision:>10.2f}{recall:>8.2f}{f1:>7.2f}{support:>10}", file=out)
    print(f"  macro F1 (6 labels): {macro:.3f}    subset accuracy: {subset:.3f}", file=out)
    return macro


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse the arguments and print the scores."""
    parser = argparse.ArgumentParser(prog="python -m bot.forum.measure_themes", description=__doc__.split("\n")[0])
    parser.add_argument("--heldout", type=Path, default=DEFAULT_HELDOUT_FILE, help="the held-out labelled sample")
    parser.add_argument("--training", type=Path, default=DEFAULT_TRAINING_FILE, help="the training examples")
    parser.add_argument("--areas", type=Path, default=DEFAULT_AREAS_FILE, help="the areas' cue words")
    parser.add_argument("--cv", action="store_true", help="also cross-validate on the training examples")
    parser.add_argument("--show-errors", action="store_true", help="list the held-out examples it gets wrong")
    return main_from_args(parser.parse_args(argv))


def main_from_args(args: argparse.Namespace) -> int:
    """Train, classify the held-out sample and print the scores (and cross-validation with ``--cv``)."""
    try:
        training = load_examples(args.training)
        heldout = load_examples(args.heldout)
        cues = load_cues(args.areas)
        non_answers = load_non_answer_words(args.areas)
    except ThemeDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("examples per label:")
    counts_train, counts_held = label_counts(training), label_counts(heldout)
    print(f"  {'label':<16}{'training':>10}{'held-out':>10}")
    for label in LABELS:
        print(f"  {label:<16}{counts_train[label]:>10}{counts_held[label]:>10}")
    print(f"  {'examples':<16}{len(training):>10}{len(heldout):>10}")
    print(f"  {'multi-label':<16}{sum(len(e.labels) > 1 for e in training):>10}"
          f"{sum(len(e.labels) > 1 for e in heldout):>10}")
    shared = {e.source for e in training} & {e.source for e in heldout}
    if shared:
        print(f"warning: {len(shared)} source page(s) in both files; the held-out score is not independent",
              file=sys.stderr)
    if args.cv:
        report(f"cross-validation on the training file ({CV_FOLDS} folds by page)", training,
               cross_validate(training, cues, non_answer_words=non_answers))
    classifier = ThemeClassifier(training, cues, non_answer_words=non_answers)
    print(f"\nthresholds: " + ", ".join(f"{label} {t:.3f}" for label, t in zip(LABELS, classifier.thresholds)))
    found = classifier.classify([e.text for e in heldout])
    predicted = [tuple(label for label, _ in labels) for labels in found]
    report("held-out sample", heldout, predicted)
    if args.show_errors:
        print("\nheld-out examples with a wrong set of labels:")
        for example, labels in zip(heldout, found):
            if set(example.labels) != {label for label, _ in labels}:
                shown = ", ".join(f"{label} {conf:.2f}" for label, conf in labels)
                print(f"  labelled {list(example.labels)}, got [{shown}]: {example.text[:100]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
