"""Themes in the free-text answers: each answer filed under the framework areas it speaks to, or Other (issue #8).

The five areas are the partnership's self-evaluation's (``FRAMEWORK_AREAS``): Identification (needs identified and
assessed), Participation (a real say, being listened to, hearing back), Access (the right help at the right time),
Transition (moves between settings and into adulthood) and Inclusion (visible, valued and included). An answer can
speak to several at once ("the EHCP took a year and nobody called back" is Identification and Participation);
``OTHER`` is an answer that speaks to none of them ("thank you", "no comment", the bus timetable).

How it works, all offline and in about a second:

- ``ThemeClassifier.from_file()`` reads the labelled examples in ``data/forum/themes.yml`` (real parents' and young
  people's words from public pages, each with its address) and the cue words in ``data/forum/theme_areas.yml``, and
  trains one logistic regression per label (one-vs-rest, classes balanced) on TF-IDF word 1-2-grams, character
  3-5-grams and the count of each area's cue words. Nothing is pickled: the model is rebuilt from the data each time,
  and with a fixed ``random_state`` it is the same model every time.
- Each label has its own decision threshold, chosen when the model is trained by cross-validating on the training
  examples (folds by source page) and pulled halfway back to 0.5 against the noise of a small sample; never on
  ``tests/data/themes_heldout.yml``, the labelled sample that measures the model (``python -m
  bot.forum.measure_themes``), which this module never reads.
- ``classify(texts)`` gives each text its labels with a confidence (0-1), highest first, at least one. The areas
  that pass their thresholds are the answer's themes; Other when the Other model stands higher, or when nothing
  passes and Other comes nearest (otherwise the nearest area). Blank text, emoji alone and non-answers made only of
  the ``non_answer_words`` in the areas file ("No comment", "N/A") are Other without asking the model. Text is read
  up to ``MAX_CLASSIFIED_CHARS``; words the model has never seen (another language) simply count for nothing.
- ``build_themes(...)`` counts the answers in each theme and picks key phrases and two or three quotes, applying the
  small-number rule: a theme with fewer answers than the threshold (zero included) shows "fewer than 5" and neither
  phrases nor quotes. A key phrase must be used in two or more of the theme's answers and never contains a
  redaction token such as ``[NAME]``.

Errors::

    ThemeDataError (ValueError)    the training or cue-word file is missing a field or names an unknown label
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import yaml
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.forum.results import OTHER, SMALL, Figure, Theme, Themes
from bot.surveys.definitions import FRAMEWORK_AREAS, PROJECT_DIR

LABELS: Tuple[str, ...] = FRAMEWORK_AREAS + (OTHER,)
FORUM_DATA_DIR = PROJECT_DIR / "data" / "forum"
DEFAULT_TRAINING_FILE = FORUM_DATA_DIR / "themes.yml"
DEFAULT_AREAS_FILE = FORUM_DATA_DIR / "theme_areas.yml"

RANDOM_STATE = 0
TOLERANCE = 1e-3  # liblinear's stopping tolerance: ten times the default, the same labels, a faster start-up
WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (3, 5)  # character n-grams within words: spelling variants, plurals, "assess"/"assessment"
C = 4.0  # inverse regularisation of each label's logistic regression (cross-validated on the training data)
PREFIX_CUE_CHARS = 5  # cues this long or longer also match as the start of a longer word
CUE_WEIGHT = 0.5  # how much one cue word counts next to the TF-IDF features (each block has unit norm)
THRESHOLD_FOLDS = 5  # cross-validation folds used to choose each label's decision threshold
THRESHOLD_GRID = tuple(round(0.2 + 0.025 * i, 3) for i in range(25))  # 0.2 .. 0.8
DEFAULT_DECISION_THRESHOLD = 0.5
THRESHOLD_SHRINK = 0.5  # pull each chosen threshold this far back towards 0.5 (against noise in small data)
FALLBACK_TO_NEAREST = True  # no label passes: file the answer under the label nearest its threshold
MAX_CLASSIFIED_CHARS = 4000  # longer answers are read up to here (survey answers are cut at 500 anyway)

KEY_PHRASES = 5  # at most this many key phrases per theme
MAX_PHRASE_WORDS = 3
MIN_PHRASE_ANSWERS = 2  # a key phrase is used in at least this many different answers of its theme
MAX_QUOTES = 3
MAX_QUOTE_CHARS = 300
IDEAL_QUOTE_CHARS = (40, 220)  # quotes of this length read best on a page; shorter or longer ones rank lower
ELLIPSIS = "…"

REDACTION_TOKEN = re.compile(r"\[[A-Z][A-Z_]*\]")  # [NAME], [PHONE], [DATE_OF_BIRTH] ... (bot.privacy.redaction)
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_SPACES = re.compile(r"\s+")
# Words that never start or end a key phrase, on top of scikit-learn's English stop words: fillers and the
# survey's own vocabulary, which would otherwise top every theme ("my child", "the school").
_PHRASE_STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | frozenset("""
    just really also still got get gets getting going im ive dont didnt doesnt cant wont isnt wasnt
    would could should like lot lots thing things way bit yes ok okay thanks thank please
    child children son daughter kid kids ds dd dc boy girl he she him her his hers they them their
    school mum mom dad parent parents family year years time day days week weeks month months
""".split())


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ten times faster


class ThemeDataError(ValueError):
    """The training examples or the cue words cannot be read."""


Labels = Tuple[Tuple[str, float], ...]  # one answer's themes: (label, confidence 0-1), highest confidence first


@dataclass(frozen=True)
class Example:
    """One labelled answer from ``data/forum/themes.yml``."""

    text: str
    labels: Tuple[str, ...]
    source: str  # the public page the words were taken from


def load_examples(path: Path) -> List[Example]:
    """The labelled examples in a YAML file: a list of ``{text, labels, source}``.

    Raises:
        ThemeDataError: the file is not such a list, or an example lacks a field or names an unknown label.
    """
    try:
        raw = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError) as error:
        raise ThemeDataError(f"{path}: cannot read the examples: {error}") from error
    if not isinstance(raw, list):
        raise ThemeDataError(f"{path}: must be a list of examples (text, labels, source)")
    examples = []
    for number, item in enumerate(raw, 1):
        where = f"{path}: example {number}"
        if not isinstance(item, dict):
            raise ThemeDataError(f"{where}: must be a mapping with text, labels and source")
        text, labels, source = item.get("text"), item.get("labels"), item.get("source")
        if not isinstance(text, str) or not text.strip():
            raise ThemeDataError(f"{where}: 'text' must be a non-empty string")
        if not isinstance(labels, list) or not labels:
            raise ThemeDataError(f"{where}: 'labels' must be a non-empty list")
        unknown = [label for label in labels if label not in LABELS]
        if unknown:
            raise ThemeDataError(f"{where}: unknown label(s) {unknown}; use {', '.join(LABELS)}")
        if OTHER in labels and len(labels) > 1:
            raise ThemeDataError(f"{where}: {OTHER} means none of the areas, so it stands alone")
        if not isinstance(source, str) or not source.startswith(("http://", "https://")):
            raise ThemeDataError(f"{where}: 'source' must be the address of the page the words came from")
        examples.append(Example(text=text.strip(), labels=tuple(dict.fromkeys(labels)), source=source))
    return examples


def load_cues(path: Path = DEFAULT_AREAS_FILE) -> Dict[str, Tuple[str, ...]]:
    """Each framework area's cue words and phrases (lower case) from ``data/forum/theme_areas.yml``.

    Raises:
        ThemeDataError: the file is malformed or names an unknown area.
    """
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ThemeDataError(f"{path}: cannot read the areas: {error}") from error
    areas = raw.get("areas") if isinstance(raw, dict) else None
    if not isinstance(areas, dict):
        raise ThemeDataError(f"{path}: must have an 'areas' mapping")
    cues: Dict[str, Tuple[str, ...]] = {}
    for area, entry in areas.items():
        if area not in FRAMEWORK_AREAS:
            raise ThemeDataError(f"{path}: unknown area {area!r}; use {', '.join(FRAMEWORK_AREAS)}")
        words = entry.get("cues") if isinstance(entry, dict) else None
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            raise ThemeDataError(f"{path}: area {area!r}: 'cues' must be a list of words or phrases")
        cues[area] = tuple(_normalise(w) for w in words)
    return cues


def load_non_answer_words(path: Path = DEFAULT_AREAS_FILE) -> frozenset:
    """The words that, on their own, make an answer a non-answer (Other): ``non_answer_words`` in the areas file.

    Raises:
        ThemeDataError: the file cannot be read or the list is malformed.
    """
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ThemeDataError(f"{path}: cannot read the areas: {error}") from error
    words = raw.get("non_answer_words", []) if isinstance(raw, dict) else None
    if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
        raise ThemeDataError(f"{path}: 'non_answer_words' must be a list of words")
    return frozenset(_normalise(w).replace("/", "") for w in words)


def _normalise(text: str) -> str:
    """Lower case, compatibility forms folded, redaction tokens and runs of space reduced to one space."""
    text = unicodedata.normalize("NFKC", text or "")[:MAX_CLASSIFIED_CHARS]
    text = REDACTION_TOKEN.sub(" ", text).replace("’", "'")
    return _SPACES.sub(" ", text).strip().lower()


def _cue_pattern(cues: Sequence[str]) -> Optional["re.Pattern[str]"]:
    """One pattern finding any of ``cues``: a cue of 5 or more characters also finds longer words ("assess" finds
    "assessment"), a shorter one only itself ("ta" is not "take")."""
    if not cues:
        return None
    parts = [re.escape(c) + ("" if len(c) >= PREFIX_CUE_CHARS else r"\b") for c in sorted(set(cues), key=len,
                                                                                         reverse=True)]
    return re.compile(r"(?<![\w])(?:" + "|".join(parts) + ")")


class _CueCounter:
    """Counts each area's cue words in a text: a small, transparent prior next to the learnt features."""

    def __init__(self, cues: Mapping[str, Sequence[str]]):
        self.patterns = [_cue_pattern(cues.get(area, ())) for area in FRAMEWORK_AREAS]

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        rows = []
        for text in texts:
            counts = [len(p.findall(text)) if p is not None else 0 for p in self.patterns]
            # log-damped, then scaled to unit length like the TF-IDF blocks
            values = np.log1p(np.array(counts, dtype=float))
            norm = np.linalg.norm(values)
            rows.append(values / norm if norm else values)
        return sparse.csr_matrix(np.array(rows).reshape(len(texts), len(FRAMEWORK_AREAS)))


class _Features:
    """TF-IDF word 1-2-grams, character 3-5-grams within words, and each area's cue-word count, side by side."""

    def __init__(self, texts: Sequence[str], cues: Mapping[str, Sequence[str]]):
        self.words = TfidfVectorizer(analyzer="word", ngram_range=WORD_NGRAMS, sublinear_tf=True, min_df=1,
                                     token_pattern=r"(?u)\b\w[\w']*\b")
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, sublinear_tf=True, min_df=2)
        self.cues = _CueCounter(cues)
        self.fitted = self._stack(self.words.fit_transform(texts), self.chars.fit_transform(texts), texts)

    def _stack(self, words: sparse.spmatrix, chars: sparse.spmatrix, texts: Sequence[str]) -> sparse.csr_matrix:
        return sparse.hstack([words, chars, self.cues.transform(texts) * CUE_WEIGHT], format="csr")

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return self._stack(self.words.transform(texts), self.chars.transform(texts), texts)


class _Estimators:
    """One logistic regression per label (one-vs-rest, classes balanced), fitted on rows of features."""

    def __init__(self, features: sparse.csr_matrix, targets: np.ndarray):
        self.constant = targets.mean(axis=0)
        self.models: List[Optional[LogisticRegression]] = []
        for column in range(targets.shape[1]):
            y = targets[:, column]
            if y.min() == y.max():  # a label with no (or only) examples here: nothing to learn
                self.models.append(None)
                continue
            model = LogisticRegression(C=C, class_weight="balanced", solver="liblinear", tol=TOLERANCE,
                                       random_state=RANDOM_STATE, max_iter=1000)
            self.models.append(model.fit(features, y))

    def probabilities(self, features: sparse.csr_matrix) -> np.ndarray:
        """Rows of per-label probabilities (columns in ``LABELS`` order)."""
        rows = features.shape[0]
        return np.column_stack([m.predict_proba(features)[:, 1] if m is not None else np.full(rows, self.constant[i])
                                for i, m in enumerate(self.models)])


def _targets(examples: Sequence[Example]) -> np.ndarray:
    return np.array([[label in example.labels for label in LABELS] for example in examples], dtype=int)


def decide(probabilities: np.ndarray, thresholds: Sequence[float]) -> List[Labels]:
    """Each row's labels: the areas that pass their threshold, or Other; with confidences, highest first.

    Each probability is read against its label's threshold (``p / t``, 1 at the threshold). The areas at or above
    1 are the answer's themes, unless Other stands higher than all of them. When no area reaches its threshold, the
    label that comes nearest wins: Other if it does, otherwise the single nearest area (an answer about SEND that
    the model is unsure of is better filed under its likeliest area than lost in Other).
    """
    other = LABELS.index(OTHER)
    scale = np.asarray(thresholds, dtype=float)
    decided: List[Labels] = []
    for row in probabilities:
        ratio = row / scale
        areas = [i for i in range(len(LABELS)) if i != other and ratio[i] >= 1.0]
        best_area = max(float(row[i]) for i in range(len(LABELS)) if i != other)
        if areas and not ratio[other] > max(ratio[i] for i in areas):
            chosen = sorted(areas, key=lambda i: (-row[i], i))
            decided.append(tuple((LABELS[i], float(row[i])) for i in chosen))
            continue
        nearest = int(np.argmax(ratio)) if FALLBACK_TO_NEAREST else other
        if nearest == other:  # how sure we are that it is none of the areas
            decided.append(((OTHER, max(float(row[other]), 1.0 - best_area)),))
        else:
            decided.append(((LABELS[nearest], float(row[nearest])),))
    return [tuple((label, round(min(max(conf, 0.0), 1.0), 4)) for label, conf in labels) for labels in decided]


def cross_validated_probabilities(features: sparse.csr_matrix, targets: np.ndarray, sources: Sequence[str],
                                  folds: int = THRESHOLD_FOLDS) -> np.ndarray:
    """Out-of-fold probabilities for every example (each predicted by regressions that did not see it).

    Folds keep all examples from one source page together, so near-duplicates never sit on both sides. The TF-IDF
    vocabulary and weights are those of all the examples (no labels are involved in them), which keeps this fast
    enough to run every time the classifier is trained.
    """
    pages = sorted(set(sources))
    order = np.random.RandomState(RANDOM_STATE).permutation(len(pages))
    fold_of_page = {pages[index]: rank % folds for rank, index in enumerate(order)}
    fold_of = np.array([fold_of_page[source] for source in sources])
    result = np.zeros(targets.shape, dtype=float)
    for fold in range(folds):
        test = np.where(fold_of == fold)[0]
        train = np.where(fold_of != fold)[0]
        if not len(test) or not len(train):
            continue
        result[test] = _Estimators(features[train], targets[train]).probabilities(features[test])
    return result


def choose_thresholds(probabilities: np.ndarray, targets: np.ndarray) -> Tuple[float, ...]:
    """Per label, the threshold on the grid with the best F1 over out-of-fold probabilities (ties: nearest 0.5)."""
    chosen = []
    for column in range(targets.shape[1]):
        y = targets[:, column].astype(bool)
        best, best_key = DEFAULT_DECISION_THRESHOLD, None
        for threshold in THRESHOLD_GRID:
            predicted = probabilities[:, column] >= threshold
            tp = int(np.sum(predicted & y))
            fp = int(np.sum(predicted & ~y))
            fn = int(np.sum(~predicted & y))
            f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
            key = (round(f1, 6), -abs(threshold - DEFAULT_DECISION_THRESHOLD))
            if best_key is None or key > best_key:
                best, best_key = threshold, key
        chosen.append(round(THRESHOLD_SHRINK * DEFAULT_DECISION_THRESHOLD + (1 - THRESHOLD_SHRINK) * best, 4))
    return tuple(chosen)


class ThemeClassifier:
    """Files free-text answers under the framework areas (several at once) or Other, with a confidence."""

    def __init__(self, examples: Sequence[Example], cues: Optional[Mapping[str, Sequence[str]]] = None,
                 thresholds: Optional[Sequence[float]] = None, non_answer_words: Iterable[str] = ()):
        """Train on ``examples``; choose per-label thresholds by cross-validation unless ``thresholds`` are given.

        Args:
            examples: the labelled training examples.
            cues: each area's cue words (``load_cues``); none by default.
            thresholds: one decision threshold per label in ``LABELS`` order; chosen from the examples by default.
            non_answer_words: an answer made only of these is Other without asking the model (``No comment``).
        """
        if not examples:
            raise ThemeDataError("no training examples")
        self.examples = tuple(examples)
        self.cues = dict(cues or {})
        self.non_answer_words = frozenset(non_answer_words)
        targets = _targets(self.examples)
        self._features = _Features([_normalise(e.text) for e in self.examples], self.cues)
        if thresholds is None:
            found = cross_validated_probabilities(self._features.fitted, targets, [e.source for e in self.examples])
            thresholds = choose_thresholds(found, targets)
        if len(thresholds) != len(LABELS):
            raise ValueError(f"one threshold per label ({len(LABELS)}), not {len(thresholds)}")
        self.thresholds = tuple(float(t) for t in thresholds)
        self._estimators = _Estimators(self._features.fitted, targets)

    @classmethod
    def from_file(cls, path: Path = DEFAULT_TRAINING_FILE, areas_path: Optional[Path] = DEFAULT_AREAS_FILE
                  ) -> "ThemeClassifier":
        """Train from the labelled examples at ``path`` and the cue words at ``areas_path`` (None: no cue words).

        Raises:
            ThemeDataError: a file cannot be read.
        """
        if areas_path is None:
            return cls(load_examples(path))
        return cls(load_examples(path), load_cues(areas_path), non_answer_words=load_non_answer_words(areas_path))

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's probability for every label (columns in ``LABELS`` order)."""
        return self._estimators.probabilities(self._features.transform([_normalise(t) for t in texts]))

    def _says_something(self, text: str) -> bool:
        """False for blank text, emoji or punctuation alone, and non-answers such as "No comment" or "N/A"."""
        words = [w.replace("’", "'") for w in _WORD.findall(_normalise(text).replace("n/a", "na"))]
        return any(w not in self.non_answer_words for w in words)

    def classify(self, texts: Sequence[str]) -> List[Labels]:
        """Each text's themes with a confidence (0-1), highest first; at least one; blank text is Other.

        Args:
            texts: answers, already redacted.

        Returns:
            One tuple of (label, confidence) per text, in the order given.
        """
        texts = list(texts)
        results: List[Optional[Labels]] = [None] * len(texts)
        readable = [i for i, t in enumerate(texts) if isinstance(t, str) and self._says_something(t)]
        for i in set(range(len(texts))) - set(readable):
            results[i] = ((OTHER, 1.0),)
        if readable:
            decided = decide(self.probabilities([texts[i] for i in readable]), self.thresholds)
            for i, labels in zip(readable, decided):
                results[i] = labels
        return [labels for labels in results if labels is not None]


# --- themes: counts, key phrases and quotes ------------------------------------------------------------------------

def build_themes(question_ids: Sequence[str], answers: Sequence[str], labels: Sequence[Labels], *,
                 threshold: int) -> Themes:
    """The free-text answers grouped by theme, small numbers hidden.

    Args:
        question_ids: the free-text questions the answers came from.
        answers: the (redacted) answers.
        labels: each answer's themes, as ``ThemeClassifier.classify`` gives them (same order as ``answers``).
        threshold: counts below this are hidden, zero included; a hidden theme shows no phrases and no quotes.

    Returns:
        ``Themes`` with one ``Theme`` per label in ``LABELS`` order.

    Raises:
        ValueError: ``answers`` and ``labels`` differ in length, or ``threshold`` is below 2.
    """
    if len(answers) != len(labels):
        raise ValueError(f"{len(answers)} answers but {len(labels)} sets of labels")
    if not isinstance(threshold, int) or threshold < 2:
        raise ValueError("the threshold must be a whole number of at least 2")
    total = len(answers)
    total_shown = total >= threshold
    members: Dict[str, List[Tuple[int, float]]] = defaultdict(list)
    for index, found in enumerate(labels):
        for label, confidence in found:
            if label in LABELS:
                members[label].append((index, float(confidence)))
    phrase_index = _PhraseIndex(answers)
    themes = []
    for label in LABELS:
        group = members.get(label, [])
        count = len(group)
        if count < threshold or not total_shown:
            themes.append(Theme(label, Figure(None, hidden=SMALL)))
            continue
        percent = round(100.0 * count / total, 1) if total else None
        themes.append(Theme(
            name=label, answers=Figure(count, percent),
            key_phrases=phrase_index.key_phrases([i for i, _ in group]),
            quotes=_quotes(answers, group, phrase_index, MAX_QUOTES if count >= 2 * threshold else 2),
            mean_confidence=round(sum(c for _, c in group) / count, 2)))
    answers_figure = Figure(total) if total_shown else Figure(None, hidden=SMALL)
    return Themes(question_ids=tuple(question_ids), answers=answers_figure, themes=tuple(themes))


def _segments(text: str) -> List[List[str]]:
    """The words of a text in runs that no redaction token, sentence end or comma breaks (phrases stay inside)."""
    text = unicodedata.normalize("NFKC", text or "").replace("’", "'").lower()
    runs = []
    for piece in re.split(r"\[[a-z][a-z_]*\]|[.,;:!?()\[\]\"\n]+", text):
        words = [w for w in _WORD.findall(piece)]
        if words:
            runs.append(words)
    return runs


def _phrases(text: str) -> set:
    """The 1- to 3-word phrases of a text that may be key phrases (no stop word at either end, no bare number)."""
    found = set()
    for words in _segments(text):
        for n in range(1, MAX_PHRASE_WORDS + 1):
            for start in range(len(words) - n + 1):
                gram = words[start:start + n]
                if gram[0] in _PHRASE_STOP_WORDS or gram[-1] in _PHRASE_STOP_WORDS:
                    continue
                if any(w.isdigit() for w in gram) or any(len(w) < 2 for w in gram):
                    continue
                found.add(" ".join(gram))
    return found


class _PhraseIndex:
    """Which answers use which phrases, to rank a theme's phrases against all the answers (c-TF-IDF style)."""

    def __init__(self, answers: Sequence[str]):
        self.per_answer = [_phrases(a) for a in answers]
        self.document_frequency = Counter(p for phrases in self.per_answer for p in phrases)
        self.total = len(answers)

    def key_phrases(self, indices: Sequence[int], limit: int = KEY_PHRASES) -> Tuple[str, ...]:
        """The theme's most distinctive phrases, each used in ``MIN_PHRASE_ANSWERS`` or more of its answers."""
        in_theme = Counter(p for i in indices for p in self.per_answer[i])
        scored = []
        for phrase, df in in_theme.items():
            if df < MIN_PHRASE_ANSWERS:
                continue
            words = phrase.count(" ") + 1
            idf = math.log(1.0 + self.total / self.document_frequency[phrase])
            scored.append((df * idf * (1.0 + 0.5 * (words - 1)), df, words, phrase))
        scored.sort(key=lambda item: (-item[0], -item[1], -item[2], item[3]))
        chosen: List[Tuple[str, int]] = []
        for _, df, _, phrase in scored:
            # a phrase inside (or around) one already chosen, used about as often, says nothing new
            if any((phrase in kept or kept in phrase) and abs(df - kept_df) <= max(1, kept_df // 4)
                   for kept, kept_df in chosen):
                continue
            chosen.append((phrase, df))
            if len(chosen) == limit:
                break
        return tuple(phrase for phrase, _ in chosen)

    def theme_counts(self, indices: Sequence[int]) -> Counter:
        """How many of the theme's answers use each phrase (counted once, shared by every ``centrality`` call)."""
        return Counter(p for i in indices for p in self.per_answer[i])

    def centrality(self, index: int, theme_counts: Counter) -> float:
        """How much of an answer's vocabulary the rest of its theme shares (0-1).

        ``theme_counts`` includes this answer's own phrases once each, so "shared" means used by at least one
        other answer; counting once per theme keeps a theme of 100,000 answers linear, not quadratic.
        """
        mine = self.per_answer[index]
        if not mine:
            return 0.0
        shared = sum(1 for p in mine if theme_counts[p] > 1)
        return shared / len(mine)


def _quotes(answers: Sequence[str], group: Sequence[Tuple[int, float]], phrases: _PhraseIndex,
            limit: int) -> Tuple[str, ...]:
    """The theme's most representative answers: confident, central to the theme, of a readable length."""
    counts = phrases.theme_counts([i for i, _ in group])
    ranked = []
    for index, confidence in group:
        text = _SPACES.sub(" ", answers[index] or "").strip()
        if not _WORD.search(REDACTION_TOKEN.sub(" ", text).lower()):
            continue
        low, high = IDEAL_QUOTE_CHARS
        length = len(text)
        if length < low:
            fit = length / low
        elif length <= high:
            fit = 1.0
        else:  # longer reads worse, and an answer that has to be cut worse still
            fit = max(0.0, 1.0 - (length - high) / (4.0 * high)) * (0.5 if length > MAX_QUOTE_CHARS else 1.0)
        score = confidence + 0.5 * phrases.centrality(index, counts) + 0.5 * fit
        ranked.append((-score, index, text))
    ranked.sort()
    quotes: List[str] = []
    for _, _, text in ranked:
        quote = _shorten(text)
        if quote.lower() not in (q.lower() for q in quotes):
            quotes.append(quote)
        if len(quotes) == limit:
            break
    return tuple(quotes)


def _shorten(text: str, limit: int = MAX_QUOTE_CHARS) -> str:
    """``text`` cut at a word to at most ``limit`` characters, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit - len(ELLIPSIS)]
    if " " in cut:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,;:-–—") + ELLIPSIS


def label_counts(examples: Iterable[Example]) -> Dict[str, int]:
    """How many examples carry each label, in ``LABELS`` order."""
    counts = Counter(label for example in examples for label in example.labels)
    return {label: counts.get(label, 0) for label in LABELS}
