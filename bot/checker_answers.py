"""Reading the funded hours checker's answers by what they mean, not by the words they happen to contain.

A family answers "Do you both work?" and "Do you get benefits, or does your child get DLA or have an EHC plan?" in
their own words. Looking for "work" or "DLA" gets the meaning backwards whenever the answer denies it ("no job at
the moment", "she hasn't got an EHCP"), puts it in the past ("used to work", "we had tax credits years ago"),
only hopes for it ("waiting to hear about DLA"), or says it of one parent only ("my partner works but I don't").
A wrong reading sends a family to the wrong application, so this module reads an answer as statements:

1. the text is cleaned and its phrases are found (longest first) from ``data/checker/answer_words.yml``;
2. it is cut into clauses ("my partner has a job | but I don't"), so a "not" reaches only its own clause;
3. each clause says something about someone (me, my partner, both of us, one of us, or just "the family");
   a clause without a verb of its own ("but I don't", "so does he", "not right now") borrows the one before;
4. the statements are combined by the rules of the offers (facts file, "Working-parent exceptions"): each
   parent in a couple must work, or the single parent; leave and self-employment count as work; a parent who
   cannot work because they care or are disabled may still let the family qualify (conditionally).

The readings are small and closed, so ``bot/funding.py`` maps each one to one answer. Pure functions, no Rasa.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

import yaml

WORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "checker" / "answer_words.yml"

# --- Readings of "Do you work? If you have a partner, do you both work?" ------------------------------------------
WORKING = "working"  # each parent in a couple works, or the single parent does (leave and self-employed count)
WORKING_IF = "working_if"  # works, but the earnings may be under the test (zero hours, a few hours a week)
STARTING_WORK = "starting_work"  # starting or going back to work soon: counts only within a set number of days
ONE_WORKS = "one_works"  # a couple where only one parent works: no working parent hours, unless (follow-up)...
ONE_WORKS_PARTNER_CARER = "one_works_partner_carer"  # ...the other cares or is disabled: may qualify (conditional)
NOT_WORKING = "not_working"  # nobody works (or the single parent does not)
UNSURE = "unsure"  # "not sure", "skip": every question can be skipped
WORK_READINGS = (WORKING, WORKING_IF, STARTING_WORK, ONE_WORKS, ONE_WORKS_PARTNER_CARER, NOT_WORKING, UNSURE)

# --- Readings of the follow-up "Does the parent who isn't working get Carer's Allowance or a disability benefit?" -
PARTNER_YES = "yes"
PARTNER_NO = "no"
PARTNER_NONE = "no_partner"  # "I don't have a partner": "just me working" was a single parent who works
PARTNER_READINGS = (PARTNER_YES, PARTNER_NO, PARTNER_NONE, UNSURE)

# --- Readings of "Do you get benefits, or does your child get DLA or have an EHC plan?" ----------------------------
ROUTE_BENEFITS = "benefits"  # gets a benefit that gives the 2-year-old offer
ROUTE_DISABILITY = "disability"  # the child gets DLA or has an EHC plan
ROUTE_APPLIED = "applied"  # applied, waiting or hoping: not a route yet (conditional)
ROUTE_NEITHER = "neither"  # neither, or only denials ("hasn't got an EHCP", "had tax credits years ago")
ROUTE_READINGS = (ROUTE_BENEFITS, ROUTE_DISABILITY, ROUTE_APPLIED, ROUTE_NEITHER, UNSURE)

# What a clause says of someone's work (internal).
_WORKS, _UNCERTAIN, _STARTING, _NOT, _CARER = "works", "uncertain", "starting", "not", "carer"
_WORKING_STATUSES = frozenset({_WORKS, _UNCERTAIN, _STARTING})
# Who a clause is about (internal).
_SELF, _PARTNER, _BOTH, _NEITHER, _ONE, _HOUSEHOLD = "self", "partner", "both", "neither", "one", "household"
# What a clause says of a benefit, DLA or EHC plan (internal).
_HAS, _APPLIED, _DENIED = "has", "applied", "denied"

_PUNCTUATION_BREAK = "|"
_HOURS = re.compile(r"\b(\d{1,2})\s*(?:hours|hour|hrs|hr|h)\b")
_DEFAULT_MIN_HOURS = 16  # used only if facts.yml cannot be read; the fact is the one stated to families


@dataclass(frozen=True)
class Match:
    """One phrase found in an answer: its category (a list name in answer_words.yml) and where it is."""

    category: str
    start: int
    end: int  # one past the last token


@dataclass
class Clause:
    """One statement of an answer: its tokens and the phrases found in it."""

    tokens: List[str]
    matches: List[Match] = field(default_factory=list)

    def has(self, *categories: str) -> bool:
        """True when a phrase of any of ``categories`` is in this clause."""
        return any(m.category in categories for m in self.matches)

    def first(self, *categories: str) -> Optional[Match]:
        """The first phrase of any of ``categories``, or None."""
        return next((m for m in self.matches if m.category in categories), None)


@dataclass(frozen=True)
class Lexicon:
    """The phrase lists of answer_words.yml, as token tuples."""

    contractions: Mapping[str, str]
    phrases: Mapping[str, FrozenSet[Tuple[str, ...]]]
    clause_breaks: FrozenSet[str]
    not_breaks_after_so: FrozenSet[str]
    elision_words: FrozenSet[str]
    start_needs: FrozenSet[str]
    longest: int


# The order categories win in when two phrases of the same length compete for the same words.
_WORK_CATEGORIES = (
    "unsure_words", "single_markers", "neither_words", "one_of_us_words", "both_words", "carer_as_job",
    "leave_words", "uncertain_earnings_words", "lost_work_words", "not_working_words", "carer_words", "start_words",
    "work_words",
    "present_markers", "past_markers", "partner_words", "self_words", "only_words", "yes_words", "no_words",
    "negators",
)
_PARTNER_CATEGORIES = ("unsure_words", "single_markers", "carer_words", "applied_words", "yes_words", "no_words",
                       "negators")
_ROUTE_CATEGORIES = (
    "unsure_words", "child_routes", "other_benefits", "qualifying_benefits", "waiting_words", "awarded_words",
    "refused_words", "appeal_words", "applied_words", "present_markers", "past_markers", "yes_words", "no_words",
    "negators",
)


@lru_cache(maxsize=1)
def lexicon(path: Path = WORDS_FILE) -> Lexicon:
    """Load the phrase lists once; every phrase is cleaned the way answers are, so both match."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    contractions = {str(k): str(v) for k, v in raw["contractions"].items()}
    phrases: Dict[str, FrozenSet[Tuple[str, ...]]] = {}
    for name, values in raw.items():
        if isinstance(values, list) and name not in ("clause_breaks", "not_breaks_after_so", "start_needs",
                                                     "elision_words"):
            phrases[name] = frozenset(tuple(_tokens(str(v), contractions)) for v in values)
    longest = max(len(p) for group in phrases.values() for p in group)
    return Lexicon(
        contractions=contractions,
        phrases=phrases,
        clause_breaks=frozenset(raw["clause_breaks"]),
        not_breaks_after_so=frozenset(raw["not_breaks_after_so"]),
        elision_words=frozenset(raw["elision_words"]),
        start_needs=frozenset(raw["start_needs"]),
        longest=longest,
    )


@lru_cache(maxsize=1)
def _min_hours() -> int:
    """The weekly hours of the earnings test, from facts.yml (the figure families are told)."""
    try:
        from bot.knowledge import load_knowledge

        return int(load_knowledge().facts["working_min_hours"].value)
    except (ImportError, KeyError, ValueError, OSError):
        return _DEFAULT_MIN_HOURS


def _tokens(text: str, contractions: Mapping[str, str]) -> List[str]:
    """Lower case, apostrophes dropped, punctuation as a clause break, contractions spelled out."""
    text = re.sub(r"\b(we|they|you)['’]re\b", r"\1 are", text.lower())  # "we're" is not "were"
    text = re.sub(r"['’‘`]", "", text)
    text = re.sub(r"(?<=\w)/(?=\w)", "/", text)  # keep "s/e"
    text = re.sub(r"[-_]", " ", text)
    text = re.sub(r"[,;.!?:()\n&+]+", f" {_PUNCTUATION_BREAK} ", text)
    text = re.sub(r"[^\w/| ]", " ", text)
    out: List[str] = []
    for word in text.split():
        out.extend(contractions.get(word, word).split())
    return out


def _find(tokens: Sequence[str], categories: Sequence[str], lex: Lexicon) -> List[Match]:
    """The phrases of ``categories`` in ``tokens``, left to right, the longest phrase winning at each place."""
    found: List[Match] = []
    i = 0
    while i < len(tokens):
        best: Optional[Match] = None
        for size in range(min(lex.longest, len(tokens) - i), 0, -1):
            piece = tuple(tokens[i:i + size])
            category = next((c for c in categories if piece in lex.phrases.get(c, ())), None)
            if category:
                best = Match(category, i, i + size)
                break
        if best:
            found.append(best)
            i = best.end
        else:
            i += 1
    return found


def _clauses(text: str, categories: Sequence[str]) -> List[Clause]:
    """Cut an answer into clauses at punctuation and joining words that are not inside a phrase."""
    lex = lexicon()
    tokens = _tokens(text, lex.contractions)
    matches = _find(tokens, categories, lex)
    inside = {i for m in matches for i in range(m.start, m.end) if m.end - m.start > 1}
    clauses: List[Clause] = [Clause([])]
    offsets: List[int] = [0]
    for i, token in enumerate(tokens):
        so_then_verb = token == "so" and i + 1 < len(tokens) and tokens[i + 1] in lex.not_breaks_after_so
        if token == _PUNCTUATION_BREAK or (token in lex.clause_breaks and i not in inside and not so_then_verb):
            clauses.append(Clause([]))
            offsets.append(i + 1)
            continue
        clauses[-1].tokens.append(token)
    for m in matches:
        index = max(k for k, start in enumerate(offsets) if start <= m.start)
        start = offsets[index]
        clauses[index].matches.append(Match(m.category, m.start - start, m.end - start))
    return _split_leading_answer([c for c in clauses if c.tokens])


def _split_leading_answer(clauses: List[Clause]) -> List[Clause]:
    """ "no only my husband" is two statements ("no" | "only my husband"), but "no job" is one."""
    out: List[Clause] = []
    for clause in clauses:
        first = clause.matches[0] if clause.matches else None
        if (first and first.start == 0 and first.category in ("yes_words", "no_words") and len(clause.matches) > 1
                and clause.tokens[0] not in ("neither", "nor")  # "neither does my partner" is one statement
                and clause.matches[1].category in ("self_words", "partner_words", "both_words", "neither_words",
                                                    "one_of_us_words", "only_words", "single_markers", "yes_words",
                                                    "no_words")):
            out.append(Clause(clause.tokens[:first.end], [first]))
            rest = [Match(m.category, m.start - first.end, m.end - first.end) for m in clause.matches[1:]]
            out.append(Clause(clause.tokens[first.end:], rest))
        else:
            out.append(clause)
    return out


def _unsure(clauses: Sequence[Clause]) -> bool:
    return any(c.has("unsure_words") for c in clauses)


# --- Question 1 -----------------------------------------------------------------------------------------------------


@dataclass
class _People:
    """What the answer says of each parent, statement by statement."""

    self_says: List[str] = field(default_factory=list)
    partner_says: List[str] = field(default_factory=list)
    household_says: List[str] = field(default_factory=list)
    single: bool = False
    couple: bool = False
    one_of_us: bool = False
    explicit: bool = False  # some clause named work, leave, a job or not working (not just "yes" or "both")


def _subject(clause: Clause) -> Optional[str]:
    """Who the clause is about: the first person it names."""
    match = clause.first("neither_words", "one_of_us_words", "both_words", "self_words", "partner_words",
                         "single_markers")
    if match is None:
        return None
    return {"neither_words": _NEITHER, "one_of_us_words": _ONE, "both_words": _BOTH, "self_words": _SELF,
            "partner_words": _PARTNER, "single_markers": _SELF}[match.category]


def _negated_before(clause: Clause, match: Match, previous_end: int) -> bool:
    return any(m.category in ("negators", "no_words") and previous_end <= m.start < match.start
               for m in clause.matches)


def _clause_status(clause: Clause, borrowed: Optional[str]) -> Tuple[Optional[str], bool]:
    """What a clause says of its person's work, and whether it said so with a word about work (not only "yes").

    ``borrowed`` is the predicate of the clause before, for clauses without one ("but I don't", "so does he").
    """
    lex = lexicon()
    predicates = [m for m in clause.matches if m.category in (
        "carer_as_job", "leave_words", "start_words", "uncertain_earnings_words", "lost_work_words",
        "not_working_words", "carer_words", "work_words")]
    if any(m.category == "start_words" for m in predicates) and not (set(clause.tokens) & lex.start_needs):
        predicates = [m for m in predicates if m.category != "start_words"]
    if any(m.category == "carer_words" for m in predicates):
        # "I care for our son full time": "full time" says how much caring, not that the carer has a job.
        predicates = [m for m in predicates if not (
            m.category == "work_words" and tuple(clause.tokens[m.start:m.end]) in lex.phrases["work_attributes"])]
    past = clause.has("past_markers") and not clause.has("present_markers")
    hours = [int(h) for h in _HOURS.findall(" ".join(clause.tokens))]
    few_hours = any(h < _min_hours() for h in hours)
    if not predicates:
        # No verb of its own: it repeats the one before (or the question's "work") with its own polarity.
        if not (clause.has("self_words", "partner_words", "both_words", "neither_words", "one_of_us_words",
                           "only_words", "yes_words", "no_words", "negators")
                or {"too", "also", "same", "does", "do", "is"} & set(clause.tokens)):
            return None, False
        if clause.has("single_markers") and not clause.has("negators", "no_words", "yes_words"):
            return None, False
        matched = {i for m in clause.matches for i in range(m.start, m.end)}
        if any(i not in matched and t not in lex.elision_words for i, t in enumerate(clause.tokens)):
            return None, False  # "no, im on universal credit": something else is said, not "no" about work
        negated = clause.has("negators", "no_words") or _subject(clause) == _NEITHER
        return _polarity(borrowed or "work_words", negated, past), False
    statuses: List[Tuple[str, Optional[str]]] = []
    previous_end = 0
    for match in predicates:
        negated = _negated_before(clause, match, previous_end) or _subject(clause) == _NEITHER
        previous_end = match.end
        if match.category == "work_words" and negated:
            words = tuple(clause.tokens[match.start:match.end])
            if words in lex.phrases["work_attributes"]:
                negated = False  # "not full time" still works
        statuses.append((match.category, _polarity(match.category, negated, past)))
    if not any(_negated_before(clause, m, 0) for m in predicates):
        trailing = any(m.category in ("negators", "no_words") and m.start >= predicates[-1].end
                       for m in clause.matches)
        if trailing:  # "work not at the moment"
            statuses[-1] = (statuses[-1][0], _polarity(statuses[-1][0], True, past))
    by_category = dict(statuses)
    for category in ("leave_words", "start_words", "carer_as_job", "uncertain_earnings_words"):
        if category in by_category and by_category[category] is not None:
            return by_category[category], True
    status = _combine([s for _, s in statuses if s is not None])
    if status == _WORKS and few_hours:
        status = _UNCERTAIN
    return status, True


def _polarity(category: str, negated: bool, past: bool) -> Optional[str]:
    """A predicate with its "not" and its tense, as what it says of the person now."""
    if category in ("work_words", "carer_as_job"):  # a carer as a paid job is work
        return _NOT if negated or past else _WORKS
    if category == "leave_words":
        return None if negated or past else _WORKS  # off work on leave still counts as working
    if category == "start_words":
        return _NOT if negated else (None if past else _STARTING)
    if category == "uncertain_earnings_words":
        return _NOT if negated or past else _UNCERTAIN
    if category == "lost_work_words":
        return _WORKS if negated else _NOT  # "I was made redundant": still true now
    if category == "not_working_words":
        return None if past else (_WORKS if negated else _NOT)
    if category == "carer_words":
        return None if negated or past else _CARER
    return None


def _combine(statuses: Sequence[str]) -> Optional[str]:
    """Several statements about one person: the last about work wins, and caring never hides work.

    "I used to work but now I'm at home" -> not working; "I work part time and care for my son" -> working;
    "I'm a full time carer so I can't work" -> a carer (the exception), not merely not working.
    """
    work = [s for s in statuses if s != _CARER]
    last = work[-1] if work else None
    if _CARER in statuses and last in (None, _NOT):
        return _CARER
    return last


def _read_people(clauses: Sequence[Clause]) -> _People:
    people = _People()
    subject: Optional[str] = None
    borrowed: Optional[str] = None
    for index, clause in enumerate(clauses):
        if clause.has("single_markers") and not _negated_single(clause):
            people.single = True
        if clause.has("partner_words", "both_words", "neither_words", "one_of_us_words"):
            people.couple = True
        own_subject = _subject(clause)
        status, explicit = _clause_status(clause, borrowed)
        predicate = clause.first("carer_as_job", "leave_words", "start_words", "uncertain_earnings_words",
                                 "lost_work_words", "not_working_words", "carer_words", "work_words")
        # "me and my partner | both work", "im a single mum | and work part time": a clause naming only a person
        # lends it to the next clause.
        if own_subject and status is None and not explicit and index + 1 < len(clauses) and not _subject(
                clauses[index + 1]) and not clause.has("negators", "no_words", "yes_words"):
            subject = own_subject
            continue
        if own_subject:
            subject = own_subject
        elif not clause.has("yes_words", "no_words") and subject is None:
            subject = _HOUSEHOLD
        who = own_subject or (subject if not clause.has("yes_words", "no_words") else _HOUSEHOLD)
        if predicate:
            borrowed = predicate.category
        if status is None:
            continue
        people.explicit = people.explicit or explicit
        only = _only(clause)
        if who == _ONE:
            people.one_of_us = True
            people.self_says.append(_WORKS if status == _NOT else status)
        elif who in (_BOTH, _NEITHER):
            people.self_says.append(status)
            people.partner_says.append(status)
        elif who == _SELF:
            people.self_says.append(status)
            if only and status in _WORKING_STATUSES:
                people.partner_says.append(_NOT)
                people.couple = people.couple or not people.single
        elif who == _PARTNER:
            people.partner_says.append(status)
            if only and status in _WORKING_STATUSES:
                people.self_says.append(_NOT)
        else:
            people.household_says.append(status)
    return people


def _only(clause: Clause) -> bool:
    """ "only my husband works", "just me": the person named is the only one working."""
    only = clause.first("only_words")
    person = clause.first("self_words", "partner_words")
    return bool(only and person and only.end <= person.start <= only.end + 1)


def _negated_single(clause: Clause) -> bool:
    """ "I'm not a single parent": a "not" right before the single-parent words."""
    marker = clause.first("single_markers")
    return bool(marker and any(m.category == "negators" and marker.start - 2 <= m.start < marker.start
                               for m in clause.matches))


def parse_work_answer(text: str, *, asked: bool) -> Optional[str]:
    """Read whether each parent works from a reply to "Do you work? If you have a partner, do you both work?".

    Args:
        text: the reply, free text or a button's payload.
        asked: True when the question was just asked, so "yes", "no", "just me" or "not sure" answer it.
            Otherwise only a clear statement about work counts ("we both work" while asked the date).

    Returns:
        One of ``WORK_READINGS``, or None when the reply says nothing about work.
    """
    clauses = _clauses(text, _WORK_CATEGORIES)
    if asked and _unsure(clauses):
        return UNSURE
    people = _read_people(clauses)
    if not asked and not people.explicit:
        return None
    me, partner, household = (_combine(people.self_says), _combine(people.partner_says),
                              _combine(people.household_says))
    if me is None:
        me = household
    if people.one_of_us and partner is None:
        partner = _NOT
    if people.single or (partner is None and not people.couple):
        return _single_reading(me)
    return _couple_reading(me, partner)


def _single_reading(status: Optional[str]) -> Optional[str]:
    return {_WORKS: WORKING, _UNCERTAIN: WORKING_IF, _STARTING: STARTING_WORK, _NOT: NOT_WORKING,
            _CARER: NOT_WORKING, None: None}[status]


def _couple_reading(me: Optional[str], partner: Optional[str]) -> Optional[str]:
    """Each parent in a couple must work; one who cares or is disabled may still let the family qualify."""
    if me is None and partner is None:
        return None
    if me is None or partner is None:
        known = me if partner is None else partner
        if known in _WORKING_STATUSES:
            return ONE_WORKS  # only one parent is said to work: the follow-up asks about the other
        return ONE_WORKS_PARTNER_CARER if known == _CARER else NOT_WORKING
    working = [s for s in (me, partner) if s in _WORKING_STATUSES]
    if len(working) == 2:
        if _STARTING in working:
            return STARTING_WORK
        return WORKING_IF if _UNCERTAIN in working else WORKING
    if len(working) == 1:
        return ONE_WORKS_PARTNER_CARER if _CARER in (me, partner) else ONE_WORKS
    return NOT_WORKING


def parse_partner_benefit(text: str, *, asked: bool) -> Optional[str]:
    """Read the follow-up: does the parent who isn't working get Carer's Allowance or a disability benefit?

    Args:
        text: the reply.
        asked: True when the follow-up was just asked; it is never read from other answers.

    Returns:
        One of ``PARTNER_READINGS``, or None.
    """
    if not asked:
        return None
    clauses = _clauses(text, _PARTNER_CATEGORIES)
    if _unsure(clauses):
        return UNSURE
    if any(c.has("single_markers") and not _negated_single(c) for c in clauses):
        return PARTNER_NONE
    for clause in clauses:
        carer = clause.first("carer_words")
        if carer and not clause.has("negators", "no_words", "applied_words"):
            return PARTNER_YES  # "applied for Carer's Allowance" is not getting it
    first = clauses[0] if clauses else None
    if first and first.has("yes_words") and not first.has("negators", "no_words"):
        return PARTNER_YES
    if any(c.has("negators", "no_words") for c in clauses):
        return PARTNER_NO
    return None


# --- Question 2 -----------------------------------------------------------------------------------------------------


def _modality(clause: Clause) -> Optional[str]:
    """What a clause says of the benefit, DLA or EHC plan it (or the clause before) names."""
    negated = clause.has("negators", "no_words")
    has_yet = "yet" in clause.tokens
    if clause.has("waiting_words") and not negated:
        return _APPLIED  # "waiting for the EHCP to be finalised": not awarded yet, whatever follows
    if clause.has("awarded_words") and not negated:
        return _HAS
    if clause.has("refused_words"):
        return _APPLIED if clause.has("appeal_words") else _DENIED
    if clause.has("appeal_words"):
        return _APPLIED
    if clause.has("applied_words"):
        return _DENIED if negated and not has_yet else _APPLIED
    if negated:
        return _DENIED
    if clause.has("past_markers") and not clause.has("present_markers"):
        return _DENIED
    return None


def parse_support_route(text: str, *, asked: bool) -> Optional[str]:
    """Read whether the family gets a qualifying benefit, or the child gets DLA or has an EHC plan.

    Args:
        text: the reply, free text or a button's payload.
        asked: True when the question was just asked, so "no", "neither" or "not sure" answer it. Otherwise
            only a benefit, DLA or EHC plan the family has (or has applied for) counts: a denial of one thing
            in passing is not an answer to the whole question.

    Returns:
        One of ``ROUTE_READINGS``, or None.
    """
    clauses = _clauses(text, _ROUTE_CATEGORIES)
    said: List[Tuple[str, str]] = []  # (category, has / applied / denied)
    last_named: List[int] = []
    for clause in clauses:
        named = [m.category for m in clause.matches if m.category in (
            "child_routes", "qualifying_benefits", "other_benefits")]
        modality = "unsure" if clause.has("unsure_words") else _modality(clause)  # "not sure if she gets DLA"
        if named:
            last_named = list(range(len(said), len(said) + len(named)))
            said.extend((category, modality or _HAS) for category in named)
        elif modality and last_named:
            # "we applied for DLA | but it was refused", "| still waiting", "| and she got it"
            for index in last_named:
                said[index] = (said[index][0], modality)
    kinds = {(category, modality) for category, modality in said}
    if ("child_routes", _HAS) in kinds:
        return ROUTE_DISABILITY
    if ("qualifying_benefits", _HAS) in kinds:
        return ROUTE_BENEFITS
    if ("child_routes", _APPLIED) in kinds or ("qualifying_benefits", _APPLIED) in kinds:
        return ROUTE_APPLIED
    if not asked:
        return None
    if _unsure(clauses) or any(category == "other_benefits" and m != _DENIED for category, m in said):
        return UNSURE  # a benefit that does not give the offer on its own: the conditional wording
    if said:
        return ROUTE_NEITHER  # every one named was denied or is in the past
    if any(_modality(c) == _APPLIED for c in clauses):
        return ROUTE_APPLIED  # "applied, waiting to hear"
    first = clauses[0] if clauses else None
    if first and first.has("no_words", "negators"):
        return ROUTE_NEITHER
    if first and first.has("yes_words"):
        return UNSURE  # a bare "yes" names no route, and the benefit route has an income test
    return None


def is_unsure(text: str) -> bool:
    """True for "not sure", "dunno", "skip" and the like: every question of the checker can be skipped."""
    return _unsure(_clauses(text, ("unsure_words",)))
