"""Redaction of free text before it is stored: survey answers and chat messages (issue #7, part 3).

What is redacted, and the token that replaces it:

    [NAME]           people's names: "my son Jake", "Mrs Patel", "jake's teacher", "Amir Khan"
    [PHONE]          UK phone numbers as people write them: 07700 900123, +44 7700 900123, (024) 7683 1614, 0800 1111
    [EMAIL]          e-mail addresses, with dots and plus signs
    [ADDRESS]        street addresses with a house or flat number ("flat 3, 45 London Road", "14 the crescent",
                     "flat 3, 27 harnall lane east"),
                     and a street after "I live on"
    [POSTCODE]       UK postcodes, with or without the space, in any case ("CV1 2GN", "cv12gn")
    [NHS_NUMBER]     10-digit NHS numbers, spaced or not: with a valid check digit, or any 10 digits after "NHS no"
    [DATE_OF_BIRTH]  a date after "born", "DOB", "date of birth" or "birthday"; other dates stay, because the
                     assistant needs them ("the meeting on 3 March", "we asked on 12/01/2026")
    [SCHOOL]         schools in ``data/privacy/school_names.yml`` (and the deployment's SCHOOL_NAMES_FILE), in any
                     case and with or without "School" ("sherbourne fields"); capitalised names ending in School,
                     Academy, Primary, Nursery, College and the like; and in lower case, names before a school word
                     ("little acorns pre-school", "st mary's c of e primary", "city college coventry") where the
                     words describe nothing ("the local college" stays)

What is kept: the SEND words in ``data/privacy/keep_words.yml`` (SENCo, EHCP, CAMHS, ADHD, SALT, DLA, PIP...), which
are never part of a name or school even where they look like one; and everything that is not one of the kinds above.
The public helpline numbers a family may quote (0800 1111, 024 7683 1614) are phone numbers and are redacted like any
other: that loses nothing, and a list of exceptions could let a real number through. Short codes (999, 111, 85258)
are not phone numbers here and stay.

How names work: a pattern cannot tell a name from a word, so names come from lists, weighed by case and context.
The lists are Faker's first names and surnames for the languages Coventry families speak (read as data: Faker is
never run) and ``data/privacy/extra_names.yml`` for common names Faker lacks.

* A listed first name with a capital letter is a name anywhere ("Jake has ADHD").
* In lower case it is a name only with context: "my son jake", "my name is", "Mrs", "hi", "I'm", "jake's teacher",
  "jake aged 7", a verb after it at the start of a sentence ("jake has adhd"), or a name it is joined to ("jake and
  ella", "jake smith").
* A capitalised word in no list is a name only after strong context ("my son Zayyan", "Mr Okonjo", "called Reece");
  a lower-case one only after "my name is".
* Names that are also words (``data/privacy/name_words.yml``) need more. Will, Grace, Hope, Mark and the like are
  names with a capital letter after context or in the middle of a sentence, so "I will", "a grace period" and
  "Will the panel..." stay. May, June, Summer, places such as Jordan and Warwick, and words like "Said" are names
  only straight after context ("my daughter May"), so "in May" stays.
* Strong cues beat all of that: after "my son/daughter/husband/friend/teacher/TA/SENCo/caseworker...", "DS/DD/DH/
  SIL/MIL/BIL", a title ("mr ray thompson": first name and surname), "hi im X Y", "mum to X (6) and Y (3)",
  "spoke to X from", "X from the <service> team", "she (X)" and "X (nickname) to his mates", the next word is a name
  even if it is a word ("my son river") or in no list ("her TA semhar"), unless it is a stop word, a keep-word, a
  modal verb ("my son will be"), a word in ``NOT_NAME_WORDS`` or an unlisted word with a verb or adverb ending
  ("my son struggles", "my son finally"). A family word with a plural "s" ("my sons annual review") is no cue.
* A listed first name that is also a word, starting a sentence or clause, is a name when what follows is said of a
  child: "sky is 12", "river is non verbal", "amber has asd", "willow 7 asd", "summer and her stepbrother"; not
  after a modal ("will is that ok") or for months and seasons before a number ("summer 2 starts").
* Hyphenated first names in lower case are names when every part is a listed name ("poppy-rose", "kai-jordan").
* A word before Centre, Church, Road, School and the like names a place, not a person ("the Hope Centre").
* Titles stay outside the redaction ("Mrs [NAME]"), so the answer still reads well.

What it misses, by design: a name in no list with no context ("Dee said"), a lower-case name with none ("thanks
kyle" is found, "kyle was upset" only at the start of a sentence), and short forms of schools nobody has listed.
``python -m bot.privacy.measure_redaction`` prints how often on our table of cases.

Presidio does the work: its phone recogniser (phonenumbers, region GB), its e-mail and NHS recognisers (with our
patterns, so that a number touching a letter is still found) and our own recognisers run in one ``AnalyzerEngine``,
and its ``AnonymizerEngine`` writes the tokens. Nothing touches the
network: spaCy runs a blank English pipeline (there is no model to download) and the e-mail check uses the suffix
list bundled with tldextract. Redaction is idempotent: redacting a redacted text changes nothing.
"""

from __future__ import annotations

import bisect
import functools
import importlib
import re
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

import spacy
import tldextract
import yaml
from presidio_analyzer import (
    AnalyzerEngine,
    ContextAwareEnhancer,
    EntityRecognizer,
    LocalRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import EmailRecognizer, NhsRecognizer, PhoneRecognizer
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig
from presidio_anonymizer.entities import RecognizerResult as AnonymizerResult
from spacy.lang.en.stop_words import STOP_WORDS

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "privacy"
SCHOOL_NAMES_FILE = DATA_DIR / "school_names.yml"
KEEP_WORDS_FILE = DATA_DIR / "keep_words.yml"
NAME_WORDS_FILE = DATA_DIR / "name_words.yml"
EXTRA_NAMES_FILE = DATA_DIR / "extra_names.yml"
COMMON_WORDS_FILE = DATA_DIR / "common_words.yml"

LANGUAGE = "en"

NAME = "NAME"
PHONE = "PHONE"
EMAIL = "EMAIL"
ADDRESS = "ADDRESS"
POSTCODE = "POSTCODE"
NHS_NUMBER = "NHS_NUMBER"
DATE_OF_BIRTH = "DATE_OF_BIRTH"
SCHOOL = "SCHOOL"
# When two findings overlap, the longer wins; for the same length, the earlier kind in this list.
KINDS = (EMAIL, NHS_NUMBER, PHONE, DATE_OF_BIRTH, POSTCODE, ADDRESS, SCHOOL, NAME)
# Presidio's own entity names for the recognisers we take from it.
EMAIL_ENTITY = "EMAIL_ADDRESS"
PRESIDIO_KINDS = {EMAIL_ENTITY: EMAIL, "PHONE_NUMBER": PHONE, "UK_NHS": NHS_NUMBER}
# A name or school found over a keep-word is dropped ("Mrs Salt" stays: SALT is speech and language therapy). The
# other kinds are numbers, e-mails and addresses, which no keep-word can be part of.
KEEP_WORD_GUARDED_KINDS = frozenset({NAME, SCHOOL})
TOKEN_PATTERN = re.compile(r"\[(?:" + "|".join(KINDS) + r")\]")
# What is left of a finding that overlaps a longer one is kept if it has this many characters, without the spaces
# and punctuation at its ends.
MIN_PIECE_CHARS = 2
TRIM_CHARS = " \t\n,.;:-'’(/"
# How far from a word the brackets of a token around it can be ("[DATE_OF_BIRTH]" is the longest).
TOKEN_REACH = max(len(kind) for kind in KINDS) + 1

# Faker's name lists for the languages Coventry families speak. Only names in Latin letters are read: families write
# to us in English, and a name in another script is never mistaken for an English word.
FAKER_LOCALES = (
    "en_GB", "en_US", "en_IE", "en_NZ", "en_IN", "en_PK", "en_NG", "yo_NG", "ig_NG", "ha_NG", "tw_GH", "en_KE", "sw",
    "pl_PL", "ro_RO", "lt_LT", "lv_LV", "sk_SK", "cs_CZ", "hu_HU", "pt_PT", "es_ES", "it_IT", "fr_FR", "tr_TR",
    "de_DE",
)
# Romanised Chinese names, read from the attributes with "romanized" in their names.
FAKER_ROMANISED_LOCALES = ("zh_CN",)
LATIN_NAME = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ɏ][A-Za-zÀ-ÖØ-öø-ɏ'’\-]*$")
# Weekday names: never names, never part of one ("Jake Monday").
WEEKDAYS = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"})

# Scores only order Presidio's own bookkeeping: every finding is used, whatever its score.
SCORE = 0.85
# How far around a word we look for context such as "my son" or "'s teacher".
CONTEXT_CHARS = 60

# Boundaries for our expressions: a match may touch a digit or one of our tokens, never a letter of the same word.
# (With \b, "07700 900123CV1 2GN" would hide the postcode until the phone number became "[PHONE]", and redacting a
# second time would then change the text.)
_NOT_AFTER_LETTER = r"(?<![^\W\d_])"
_NOT_BEFORE_LETTER = r"(?![^\W\d_])"

# Context before a word, as regular expressions over the lower-cased text that ends right before it.
NAMING_CONTEXT = re.compile(
    r"(?<![^\W\d_])(?:names?\s*(?:is|are|was|:|-|=)|name's|called|named|known as|goes by|calls (?:him|her|them)self|"
    r"(?:we|i|they|everyone|people) call (?:him|her|them))"
    r"\s*[,:\-]?\s*$"
)
# "My name is" (not "called"): the next word is a name even if it is in no list.
NAME_IS_CONTEXT = re.compile(r"(?<![^\W\d_])(?:names?\s*(?:is|:|-|=)|name's)\s*$")
RELATIONS = (
    "son|daughter|child|boy|girl|grandson|granddaughter|grandchild|nephew|niece|brother|sister|stepson|"
    "stepdaughter|baby|kid|twin|twins|husband|wife|partner|mum|mom|mother|dad|father|carer|sons|daughters|children|"
    "kids|boys|girls|ds|dd|dc|lo|teenager|toddler|brothers|sisters|friend|sibling|siblings|grandchildren|eldest|"
    "youngest|oldest|mate|bestie|best friend|bf|gf|boyfriend|girlfriend|cousin|auntie|aunty|uncle|nan|nanna|nanny|"
    "grandma|grandad|granny|grandpa|grandmother|grandfather|stepdad|stepmum|stepmom|stepfather|stepmother"
)
RELATION_CONTEXT = re.compile(
    r"(?<![^\W\d_])(?:my|our|his|her|their|your|me|and)\s+"
    r"(?:(?:eldest|youngest|oldest|middle|little|older|younger|baby|big|step|foster|adopted|autistic|disabled|"
    r"twin|\d{1,2}\s*(?:yo|y/o|yr old|year old|years old))[\s-]+)?"
    rf"(?:{RELATIONS})(?:\s*\(\s*\d{{1,2}}\s*\))?(?:\s+is)?\s*[,:\-]?\s*$"
)
# "dad (Mark)": a family word, then the name in brackets; "Dawn (mum)": a name, then who the writer is.
BRACKET_RELATION_CONTEXT = re.compile(rf"(?<![^\W\d_])(?:{RELATIONS}|dh)\s*\(\s*$")
CLOSING_BRACKET_AFTER = re.compile(r"^\s*\)")
BRACKET_ROLE_AFTER = re.compile(
    r"^\s*\(\s*(?:mum|mom|mam|mother|dad|father|parent|carer|nan|gran|grandma|grandad|guardian)\s*\)"
)
# "my twins hope and will": two names after a plural family word.
_PAIR = r"(?<![^\W\d_])(?:my|our)\s+(?:twins|sons|daughters|boys|girls|kids|children|grandchildren)\s*[,:\-]?\s*"
PAIR_CONTEXT = re.compile(_PAIR + "$")
PAIR_AFTER = re.compile(r"^\s*(?:,|and|&)\s*[^\W\d_]")
PAIR_SECOND_CONTEXT = re.compile(_PAIR + r"[^\W\d_]+\s*(?:,|and|&)\s*$")
# Titles, and the family words used like titles ("Aunty Shaz", "Uncle Dev").
# "mum of tomasz", "DD ellie-mae": a parent's word and "of", or the forum shorthands for "dear son/daughter/child".
PARENT_OF_CONTEXT = re.compile(
    r"(?<![^\W\d_])(?:(?:mum|mom|mam|mother|dad|father|parent|carer|nan|gran|grandma|grandad)\s+(?:of|to)|ds|dd|dc|dh|"
    r"ds\d|dd\d)\s*[,:\-]?\s*$"
)
TITLES = "mr|mrs|ms|mx|dr|prof|mister|miss|sir|master|aunty|auntie|aunt|uncle|councillor|cllr"
# A title, maybe with an initial after it ("Mrs K Patel").
TITLE_CONTEXT = re.compile(rf"(?<![^\W\d_])(?P<title>{TITLES})\.?\s+(?:[a-z]\.?\s+)?$")
TITLE_INITIAL = re.compile(rf"(?<![^\W\d_])(?i:{TITLES})\.?\s+(?P<initial>[A-Z])\.?\s+$")
INITIAL_WINDOW = 16
# Titles that are also words ("I miss him"): after them a lower-case word must be a listed name.
WORD_TITLES = frozenset({"miss", "sir", "master"})
SIGNED_CONTEXT = re.compile(r"(?<![^\W\d_])(?:signed|sincerely|regards|wishes)\s*[,:\-]?\s*$")
WEAK_CONTEXT = re.compile(
    r"(?<![^\W\d_])(?:hi|hello|hey|dear|thanks|thank you|thankyou|cheers|love|from|ta|i'm|im|i am|this is|it's|"
    r"teacher|senco|sendco|worker|keyworker|key worker|head|headteacher|paediatrician|consultant|"
    r"psychologist|therapist|physio|nurse|doctor|caseworker|coordinator|officer|tutor|with|to|and|told|asked|ask|"
    r"emailed|rang|phoned|texted|see|saw|met|its|n)\s*[,:\-!]?\s*$|&\s*$"
)
# Context after a word, as regular expressions over the lower-cased text that starts right after it.
POSSESSIVE_AFTER = re.compile(r"^['’]s\b")
ROLES = (
    "teacher|teachers|mum|mom|dad|school|class|ehcp|ehc|plan|senco|ta|brother|sister|nan|gran|grandma|grandad|"
    "worker|keyworker|appointment|diagnosis|needs|behaviour|friend|friends|carer|nursery|paediatrician|review|"
    "therapist|support|transport|college|birthday|meltdowns|medication|school's"
)
POSSESSIVE_ROLE_AFTER = re.compile(rf"^['’]s\s+(?:{ROLES})\b")
# "Jake is my son", "Jake aged 7", "Summer (DD, 7)", "Amber, our social worker, ...", "Pat, the SENCo, ...".
DESCRIBED_AFTER = re.compile(
    rf"^\s*(?:(?:is|was)\s+(?:my|our|his|her|their)\s+(?:(?:eldest|youngest|little|older|younger)\s+)?"
    rf"(?:{RELATIONS})\b|[,(]?\s*(?:aged?|age:)\s*\d|\s*\((?:[a-z]{{1,8}},?\s*)?\d{{1,2}}\)"
    rf"|,\s*(?:my|our|his|her|their|the)\s+(?:(?:social|key|case|support)\s+)?(?:{ROLES}|{RELATIONS}|worker|head)\b"
    r"|\s*\(\s*(?:mum|mom|mam|mother|dad|father|parent|carer|nan|gran|grandma|grandad|guardian)\s*\))"
)
SAID_AFTER = re.compile(
    r"^\s+(?:said|says|told|asked|replied|explained|agreed|promised|emailed|rang|phoned|texted|wrote|"
    r"from (?:the|our|his|her|my|their))\b"
)
FIRST_NAME_AFTER = re.compile(r"^\s*(?:is|was|turned|turns|has|had|goes|went|gets|got|needs|loves|hates)\s+\d")
JOINED_AFTER = re.compile(r"^(?:\s*,\s*|\s+(?:and|&|or|n)\s+|\s*&\s*|\s*/\s*)$")
JOINING_WORDS = frozenset({"and", "or", "n"})
# A word in a name may be joined to the next by one space (or "Mary-Jane", which is one word).
NAME_GAP = re.compile(r"^ {1,2}$")
# A lower-case first name starting a sentence is a name if a verb follows ("jake has adhd").
_SUBJECT_VERBS = (
    r"has|had|goes|went|gets|got|needs|loves|hates|struggles|attends|started|starts|can't|cant|won't|wont|"
    r"doesn't|doesnt|didn't|didnt|wants|likes|finds|refuses|cries|screams|does|did|still|keeps|never|always"
)
SUBJECT_AFTER = re.compile(
    rf"^(?:\s+(?:{_SUBJECT_VERBS}|is|was|isn't|wasn't|and (?:i|me))\b|\s*\(|\s*[,.!?](?!\w)|\s*$)"
)
# A name that is also a word, capitalised at the start of a sentence, is a name if a verb follows ("Jack has");
# not "is" or "was", which follow the words as often ("Hope is fading").
WORD_NAME_SUBJECT_AFTER = re.compile(rf"^\s+(?:{_SUBJECT_VERBS})\b")
# ... nor "is", unless what follows describes a child: "Rose is autistic", "Will is 3", "Hope is our foster son",
# "Grace and her twin".
WORD_NAME_IS_AFTER = re.compile(
    r"^\s+(?:(?:is|was)\s+(?:\d|autistic|diagnosed|non[- ]verbal|dyslexic|dyspraxic|deaf|(?:my|our|his|her|their)\s+"
    r"(?:(?:eldest|youngest|oldest|middle|little|older|younger|only|foster|adopted|step|twin)\s+)*"
    rf"(?:{RELATIONS})\b)|(?:and|&)\s+(?:his|her|their)\s+(?:twin|brother|sister|little|big|older|younger)\b)"
)
# Strong cues: after these the next word is a name even if it is also a word ("my son river") or in no list ("her TA
# semhar"), unless it is plainly not one (``NOT_NAME_WORDS``, verb endings, ordinary words in no name list).
STRONG_CUE_BEFORE = re.compile(
    r"(?<![^\W\d_])(?:(?:my|his|her|our|their|your)\s+(?:[^\W\d_]+['’]s\s+)?"
    r"(?:(?:eldest|youngest|oldest|middle|little|older|younger|baby|big|step|foster|adopted|new|best|twin)[\s-]+)?"
    r"(?:son|daughter|husband|wife|partner|dad|mum|mom|nan|nana|nanna|nanny|gran|granny|grandad|grandma|brother|"
    r"sister|stepbrother|stepsister|stepson|stepdaughter|stepdad|stepmum|auntie|aunty|aunt|uncle|cousin|friend|"
    r"teacher|ta|senco|sendco|caseworker|case worker|worker|social worker|key worker|keyworker|support worker|"
    r"grandson|granddaughter|nephew|niece|boyfriend|girlfriend|fiance|fiancee|twin|paediatrician|consultant|"
    r"therapist|advocate|tutor|carer|child|boy|girl)"
    r"|ds\d?|dd\d?|dh|dc\d?|sil|mil|bil|fil"
    r"|(?:hi|hello|hiya|hey)\s*[,!]?\s*(?:im|i'm|i am)"
    r"|(?:spoke|speak|speaking|spoken|talked|talking|chatted|chatting)\s+(?:to|with)"
    r"|(?:she|he|they)\s*\()\s*[,:\-]?\s*$"
)
# Cues that name a person by their first name and surname ("mr ray thompson", "hi im simranjeet kaur").
FULL_NAME_CUE_BEFORE = re.compile(
    r"(?<![^\W\d_])(?:mr|mrs|ms|mx|dr|miss|(?:hi|hello|hiya|hey)\s*[,!]?\s*(?:im|i'm|i am))\.?\s+$"
)
SPOKE_TO_BEFORE = re.compile(r"(?<![^\W\d_])(?:spoke|speak|speaking|spoken|talked|talking|chatted|chatting)\s+"
                             r"(?:to|with)\s+$")
FROM_AFTER = re.compile(r"^\s+from\b")
# "tesfaye from the transport team", "X from the SENDIASS team".
FROM_TEAM_AFTER = re.compile(
    r"^\s+from\s+(?:the\s+|our\s+)?(?:[^\W\d_]+\s+){0,3}(?:team|hub|service|services|sendiass|iass)\b"
)
DETERMINER_BEFORE = re.compile(r"(?<![^\W\d_])(?:a|an|the|my|our|his|her|their|your|some|any|no|this|that)\s+$")
# "(tesi) to his mates", "she (grace) wont".
NICKNAME_AFTER = re.compile(r"^\s*\)\s*to\s+(?:his|her|their)\s+(?:mates?|friends?|pals?|family)\b")
OPEN_BRACKET_BEFORE = re.compile(r"\(\s*$")
PRONOUN_BRACKET_BEFORE = re.compile(r"(?<![^\W\d_])(?:she|he|they)\s*\(\s*$")
# "mum to river (6) and sky (3)": a word joined to a name, then an age in brackets.
AGE_BRACKET_AFTER = re.compile(r"^\s*\(\s*\d{1,2}\s*\)")
AGE_BRACKET_JOINED_BEFORE = re.compile(r"\(\s*\d{1,2}\s*\)\s*(?:,|and|&)\s*$")
# Words that never follow a strong cue as a name ("my son has", "my friend said", "the dr appointment").
NOT_NAME_WORDS = frozenset("""
has had have is was are were be been being does did do said says say told tells asked asks got gets get goes went
go gone loves loved likes liked hates hated needs needed wants wanted keeps kept thinks thought knows knew works
worked lives lived came comes come attends attended started starts refuses refused struggles struggled sat ran ate
fell hit bit cried slept woke left took made saw also still always never now then just really only too very who
whos which that what when where while whilst and or but so because cos coz as at in on of for to with without from
by about after before since until age aged year years yr yrs old month months week weeks day days time times isnt
wasnt doesnt didnt cant wont dont hasnt havent aint cannot dosent currently recently letter email call phone report
appointment appt meeting visit note notes review plan advice help support response reply feedback message text
lady woman man guy people person staff team someone somebody nobody everyone school college nursery home house car
mate mates friend friends family wife husband son daughter kids children boy girl baby dr mr mrs ms miss sir please
thanks thank ok okay yes no not lol omg tbh idk btw aswell etc ie eg nd aka pls plz dx bday birthday birthdays
diagnosis diagnosed assessment referral transport office council service services nurse doctor gp teacher ta
hospital clinic surgery who's i'm im its it's social police ambulance desperate lost confused unsure stuck new
sorry here back hoping scared anxious upset frustrated fed sick happy sad glad unable able single autistic pregnant
nervous angry ready done fine good great well bit urgent non verbal nonverbal severely quite dob nhs threw hurt
mum mom mam dad parent carer nan gran grandma grandad foster headteacher head psychologist
therapist consultant physio paediatrician deputy manager today tomorrow yesterday tonight morning afternoon evening
dyslexic dyspraxic deaf blind epileptic nearly almost over under rang emailed phoned texted again men hav av gt dnt wnt cn cud wud shud case eligible qualify annual additional wheelchair place needs
""".split())
MISSING_BEFORE = re.compile(
    r"(?<![^\W\d_])(?:i|we|you|they|he|she|really|will|so|do|don't|dont|would|gonna|to|also|still|just)\s+miss\s+$"
)
# "Miss" as a title where no one misses anything: "miss nasreen akhtar is...", "his teacher miss semhar".
MISS_TITLE_BEFORE = re.compile(
    r"(?:^|[.!?\n,;:(]|(?<![^\W\d_])(?:to|with|from|and|is|was|teacher|ta|senco|sendco|head|by|called|thanks|"
    r"thank you|dear|hi|hello))\s*miss\s+$"
)
MODAL_WORDS = frozenset({"will", "may", "might", "can", "could", "must", "shall", "would", "should"})
# Unlisted words with these endings are verbs and adverbs, not names ("my son struggles", "my son finally").
NOT_NAME_ENDINGS = ("s", "ing", "ed", "ly", "ion", "ment", "ness", "ity", "ance", "ence", "ful", "less", "ive",
                    "able", "ible", "ual", "ial", "ary", "ous", "ship", "est", "ise", "ize", "ish", "fy")
# "my sons annual review", "our kids school": a family word with a plural or possessive "s" is followed by a noun.
PLURAL_RELATION_BEFORE = re.compile(
    r"(?<![^\W\d_])(?:sons|daughters|childs|childrens|grandsons|granddaughters|boys|girls|kids|children|twins|"
    r"brothers|sisters|nephews|nieces|mums|dads|babys|babies|toddlers|friends|teachers)\s*$"
)
# A first name that is also a word, at the start of a sentence or clause, followed by what is said of a child:
# "sky is 12", "river is non verbal", "amber has asd", "rose keeps", "willow 7 asd", "summer and her stepbrother".
CLAUSE_START_BEFORE = re.compile(r"(?:^|[.!?\n;:,]|(?<![^\W\d_])(?:and|but|so|because|cos|coz|also))\s*$")
CHILD_AFTER = re.compile(
    r"^\s+(?:(?:is|was|isn't|isnt|wasn't|wasnt)\s+(?:now\s+|only\s+|just\s+|still\s+)?"
    r"(?:\d|non[- ]?verbal|autistic|diagnosed|dyslexic|dyspraxic|deaf|disabled|in (?:year|yr|reception)\b)"
    r"|(?:has|had)\s+(?:asd|adhd|autism|pda|odd|sen\b|send\b|cp\b|gdd|an ehcp|ehcp|a diagnosis|global|severe|"
    r"complex|epilepsy|down|dyslexia|dyspraxia|learning|sensory|speech|meltdowns)"
    r"|(?:keeps|struggles|refuses|won't|wont|can't|cant|doesn't|doesnt|didn't|didnt|hates|loves|screams|cries|"
    r"attends|needs)\b"
    r"|\d{1,2}(?:\s*(?:yo|y/o|yrs?|years?)\b|\s*,|\s+(?:and|with|has|is|asd|adhd|autistic|autism|non[- ]?verbal|"
    r"sen|send|gdd|pda|dyslexic|dyspraxic|cp|sld|mld|ehcp)\b|\s*$)"
    r"|(?:and|&)\s+(?:his|her|their)\s+(?:(?:little|big|older|younger|twin|half)[\s-]+)?"
    r"(?:brother|sister|twin|stepbrother|stepsister|step brother|step sister|sibling|cousin)s?\b)"
)
# Words a name-then-age pattern must not take: "may 5", "summer 2", "autumn 1" are dates and terms.
DATE_WORDS = frozenset({
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "spring", "summer", "autumn", "winter",
})
# Characters after which the next word is still in the middle of a sentence (a word or digit also is, and so is
# one of our tokens, which stands for a word).
MID_SENTENCE_CHARS = ",;&/'’\"“”(%]"
# At most this many words in one name ("Mary Jane Smith").
MAX_NAME_WORDS = 3
# A word: letters, with inner apostrophes and hyphens, but not the possessive 's ("Tom's" is "Tom" and "'s").
WORD = re.compile(r"[^\W\d_]+(?:[-'’](?![sS]\b)[^\W\d_]+)*")

# UK phone numbers phonenumbers does not accept as valid: the Ofcom drama ranges (07700 900xxx, 01632 960xxx) look
# exactly like real numbers to a reader, so they must be redacted like real ones. ``_UkPhoneRecognizer`` reads the
# groups of digits people write (07700 900123, 0121 496 0000, (024) 7683 1614) until they make a UK number.
UK_PHONE_START = re.compile(
    r"(?:(?<!\+)\+\s?44\s?(?:\(0\)\s?)?|(?<![\d+])00\s?44\s?(?:\(0\)\s?)?|(?<![\d+])\(0(?=\d{2,4}\))|(?<![\d+])0(?=\d))"
)
# The first group follows the 0 (or +44) straight away; later ones may follow a space, a hyphen or ")" and have at
# least three digits ("0800 1111 12 Acacia Avenue" is a phone number and a house number).
UK_PHONE_FIRST_GROUP = re.compile(r"(\d+)")
UK_PHONE_GROUP = re.compile(r"\)?[ \-]?(\d{3,})(?!\d)")
# Digits in a UK number, counting the leading 0 (0800 freephone numbers may have 8: Childline is 0800 1111).
UK_PHONE_DIGITS = (10, 11)
FREEPHONE_PREFIXES = ("0800", "0808")
FREEPHONE_SHORT_DIGITS = 8
# E-mail addresses: Presidio's pattern ends at \b, so "jo@example.com12 Acacia Avenue" would run the domain into the
# house number and fail the domain check; ours ends where the letters of the top-level domain end.
_EMAIL_CHARS = r"[\w!#$%&'*+/=?^`{|}~\-]"
EMAIL_REGEX = (
    rf"(?<![\w.!#$%&'*+/=?^`{{|}}~\-]){_EMAIL_CHARS}+(?:\.{_EMAIL_CHARS}+)*"
    r"@(?:[^\W_](?:[\w\-]*[^\W_])?\.)+[^\W\d_]{2,}(?![^\W\d_])"
)
_EMAIL = re.compile(EMAIL_REGEX, re.IGNORECASE)
# Postcode areas in use in the UK, so that "ks2 3rd" (key stage 2) is not a postcode.
POSTCODE_AREAS = (
    "AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY E EC EH EN EX FK "
    "FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL LN LS LU M ME MK ML N NE NG NN "
    "NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW "
    "UB W WA WC WD WF WN WR WS WV YO ZE"
).split()
POSTCODE_REGEX = (
    rf"{_NOT_AFTER_LETTER}(?:GIR\s?0AA|(?:" + "|".join(sorted(POSTCODE_AREAS, key=len, reverse=True)) + r")"
    rf"\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{{2}}){_NOT_BEFORE_LETTER}"
)
NHS_CONTEXT_REGEX = (
    rf"{_NOT_AFTER_LETTER}(?:nhs|n\.h\.s\.?)\s*(?:no\.?|number|num|#)?\s*(?:is|:|-)?\s*"
    r"(?P<pii>\d{3}[ \-]?\d{3}[ \-]?\d{4})(?!\d)"
)
MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
DAY = r"[0-3]?\d(?:st|nd|rd|th)?"
YEAR = r"(?:19|20)\d{2}"
DATE_EXPRESSION = (
    r"(?:[0-3]?\d\s?[/.\-]\s?[01]?\d\s?[/.\-]\s?(?:(?:19|20)\d{2}|\d{2})"
    rf"|{DAY}(?:\s+of)?\s+{MONTHS}(?:,?\s+{YEAR})?"
    rf"|{MONTHS}\s+{YEAR}"
    rf"|{MONTHS}\s+{DAY}(?:,?\s+{YEAR})?"
    rf"|{YEAR})"
    # A date ending in a digit may touch a letter, one ending in a letter may touch a digit: only like glues.
    r"(?:(?<=\d)(?![\d/])|(?<=[^\W\d_])(?![^\W\d_])|(?<=\.))"
)
DOB_REGEX = (
    rf"{_NOT_AFTER_LETTER}(?:born|d\.?\s?o\.?\s?b|date\s+of\s+birth|birth\s?date|birthday|b[-'’]?day)(?![a-z])\.?"
    r"[\s:=\-–,(]*(?:(?:is|was|on|in|the)[\s:,]+)*"
    rf"(?P<pii>{DATE_EXPRESSION})"
)
# Street words. Those that are also everyday words ("a 20 minute drive" has none of these problems, "2 big green
# eyes" would) count only with capital letters; the rest count in any case ("14 the crescent").
STREET_TYPES_ANY_CASE = (
    "road|rd|street|avenue|ave|lane|crescent|cres|terrace|mews|boulevard|gardens|gdns|grove|close|drive|parade"
)
STREET_TYPES_TITLE_CASE = (
    "St|Way|Court|Ct|Place|Pl|Walk|Row|Square|Sq|Hill|Park|Rise|View|Green|End|Gate|Croft|Fields|Mead|Meadow|"
    "Meadows|Chase|Vale|Dale|Wharf|Yard|Circus|Grange|Drive|Close|Grove|Gardens|Road|Street|Avenue|Lane|Crescent|"
    "Terrace|Mews|Parade|Rd|Ave"
)
# Words that cannot be part of a street's name after a number: "9 months and the way", "20 minute drive".
STREET_NOT_WORDS = tuple(sorted(STOP_WORDS)) + (
    "hour", "hours", "hr", "hrs", "minute", "minutes", "min", "mins", "day", "days", "week", "weeks", "month",
    "months", "year", "years", "yr", "yrs", "time", "times", "mile", "miles", "metre", "metres", "km", "pound",
    "pounds", "percent", "people", "children", "kids", "pupils", "students", "staff", "other", "lovely", "long",
)
_STREET_EXCLUDED = r"(?!(?i:" + "|".join(re.escape(w) for w in STREET_NOT_WORDS) + r")\b)"
_FLAT = rf"(?:{_NOT_AFTER_LETTER}(?i:flat|apartment|apt|unit)\s*(?:\d{{1,4}}[a-zA-Z]?\s*,?\s*)?)?"
_HOUSE = r"(?<![\d/.:£$])\d{1,4}[a-zA-Z]?(?:\s*,)?\s+"
ADDRESS_ANY_CASE_REGEX = (
    rf"(?P<pii>{_FLAT}{_HOUSE}"
    rf"(?:(?i:the)\s+(?:{_STREET_EXCLUDED}[A-Za-z][A-Za-z'’\-]*\s+){{0,3}}"
    rf"|(?:{_STREET_EXCLUDED}[A-Za-z][A-Za-z'’\-]*\s+){{1,3}})"
    rf"(?i:{STREET_TYPES_ANY_CASE})(?:\s+(?:North|South|East|West|(?:north|south|east|west)(?=\s*(?:[,.;]|$))))?)"
    rf"{_NOT_BEFORE_LETTER}"
)
ADDRESS_TITLE_CASE_REGEX = (
    rf"(?P<pii>{_FLAT}{_HOUSE}"
    rf"(?:The\s+(?:{_STREET_EXCLUDED}[A-Z][a-z'’\-]+\s+){{0,3}}|(?:{_STREET_EXCLUDED}[A-Z][a-z'’\-]+\s+){{1,3}})"
    rf"(?:{STREET_TYPES_TITLE_CASE})(?:\s+(?:North|South|East|West))?){_NOT_BEFORE_LETTER}"
)
LIVES_ON_REGEX = (
    rf"{_NOT_AFTER_LETTER}(?i:live|lives|living|lived|moved|moving|address(?:\s+is)?|house\s+is)\s+"
    r"(?i:on|in|at|to|into|is)?\s*"
    rf"(?P<pii>(?:The\s+)?(?:[A-Z][a-z'’\-]+\s+){{1,3}}(?:{STREET_TYPES_TITLE_CASE})){_NOT_BEFORE_LETTER}"
)
# School names by pattern: capitalised words, then words such as "Catholic Primary", then School, Academy...
SCHOOL_TYPES = r"School|Academy|Nursery|College|Primary|Juniors?|Infants?|Secondary"
SCHOOL_QUALIFIERS = (
    r"Roman Catholic|Catholic|RC|C of E|CofE|CE|Church of England|Methodist|Community|Church|Infants?|Juniors?|"
    r"Primary|Secondary|High|Grammar|Special|Free|Academy|Day|Nursery|Foundation|Technology|Sports|Arts|Language|"
    r"Multi-Academy|Preparatory|Prep"
)
# First words that make a school phrase a description, not a name ("a Special School", "Secondary School").
SCHOOL_GENERIC_WORDS = (
    "Special", "Specialist", "Mainstream", "Local", "Independent", "Private", "State", "Free", "Catholic", "Church",
    "Faith", "Grammar", "Primary", "Secondary", "Junior", "Juniors", "Infant", "Infants", "Nursery", "High", "Summer",
    "Holiday", "Sunday", "Forest", "Boarding", "Residential", "Day", "Alternative", "Previous", "Current", "Old",
    "Next", "Same", "Other", "Another", "Home", "Year", "Reception", "Sixth", "Form", "Preschool", "Pre", "Play",
    "Dance", "Drama", "Driving", "Swimming", "Football", "Art", "Music", "Language", "Public", "Village", "Council",
    "Welsh", "Scottish", "English", "British", "Academy", "School", "College", "Community", "Further", "Higher",
    "Medical", "Hospital", "Virtual", "Online", "Evening", "Night", "Weekend", "Saturday", "Ofsted",
)
_SCHOOL_WORD = r"(?:St\.?|Saint|[A-Z][a-z]+(?:['’][a-z]+)?|[A-Z]['’][A-Z][a-z]+)"
_SCHOOL_FIRST_EXCLUDED = (
    r"(?!(?:" + "|".join(sorted(set(SCHOOL_GENERIC_WORDS) | {w.title() for w in STOP_WORDS}, key=len, reverse=True))
    + r")\b)(?![A-Z][a-z]+ing\b)"
)
# Schools written in lower case ("elmbank junior school"): one or two words that describe nothing, before one of
# these. Words that describe ("the nearest primary school", "a good junior school") are left alone.
LOWER_CASE_SCHOOL_TYPE = re.compile(
    r"(?<![^\W\d_])(?:junior|juniors|infant|infants|primary|secondary|nursery|high|grammar|community|c of e|"
    r"catholic|church of england)\s+(?:school|academy)(?![^\W\d_])"
)
# ... and before a school word of their own: "little acorns pre-school", "sacred heart rc primary", "st mary's c of e
# primary", "city college coventry".
LOWER_CASE_SCHOOL_END = re.compile(
    r"(?<![^\W\d_])(?:(?:c of e|cofe|ce|rc|roman catholic|catholic|church of england|methodist)\s+)?"
    r"(?:pre-school|preschool|pre school|day nursery|nursery|playgroup|primary|juniors?|infants?|academy|college)"
    r"(?![^\W\d_])(?!\s+(?:school|academy)\b)"
    r"|(?<![^\W\d_])(?:c of e|cofe|rc)(?![^\W\d_])"
)
PERSON_POSSESSIVE = re.compile(
    r"(?:son|daughter|child|grandson|granddaughter|grandchild|boy|girl|kid|brother|sister|baby|toddler|nephew|niece|"
    r"twin|friend|children)(?:s|'s|s')"
)
SCHOOL_PLACE_BEFORE = re.compile(
    r"(?:^|[.!?\n]\s*|(?<![^\W\d_])(?:at|to|from|attends|attending|attended|into|called|named|joined|joining)\s+)$"
)
LOWER_CASE_SAINT_SCHOOL = re.compile(
    r"(?<![^\W\d_])(?:st|saint)\.? [a-z'’\-]+(?: [a-z'’\-]+)?? (?:(?:c of e|cofe|ce|rc|roman catholic|catholic|"
    r"church of england|methodist) )?(?:pre-school|preschool|nursery|primary|juniors?|infants?|academy|college|school|"
    r"c of e|cofe|rc)(?![^\W\d_])"
)
CITY_COLLEGE = re.compile(r"(?<![^\W\d_])city college(?: (?:coventry|[A-Z][a-z]+))?(?![^\W\d_])", re.IGNORECASE)
# Words that may lead a nursery's name but not stand right before its school word ("little acorns", "tiny tots").
SCHOOL_LEADING_WORDS = frozenset({"little", "tiny", "busy", "happy", "bright", "early", "first"})
# Words often in the names of nurseries and playgroups ("rainbow kids playgroup", "busy bees nursery").
NURSERY_NAME_WORDS = frozenset({"kids", "kidz", "tots", "stars", "bears", "bees", "acorns", "rainbow", "rainbows",
                                "sunshine", "teddy", "treetops", "ladybirds", "butterflies", "cubs", "sacred", "family", "blessed"})
LOWER_CASE_SCHOOL_WORDS = re.compile(r"(?:(?<![^\W\d_])[a-z][a-z'’\-]+ ){1,2}$")
SCHOOL_DESCRIPTIONS = frozenset({
    "nearest", "closest", "local", "current", "previous", "new", "old", "next", "catchment", "chosen", "preferred",
    "named", "mainstream", "special", "specialist", "independent", "private", "state", "faith", "catholic", "church",
    "community", "village", "big", "small", "little", "tiny", "huge", "lovely", "great", "good", "bad", "awful",
    "amazing", "brilliant", "outstanding", "failing", "other", "same", "different", "normal", "ordinary", "free",
    "boys", "girls", "mixed", "single", "sex", "infant", "junior", "primary", "secondary", "autism", "send", "sen",
})
# Words before "primary", "college" and the like that are not a school's name ("sixth form college", "at nursery").
LOWER_SCHOOL_NOT_NAMES = frozenset("""
sixth form further education fe year reception local send sen autism council maintained state secondary high
grammar day pre after holiday summer breakfast start starting starts started leave left attend attends attended
apply applied join joined moved move went going goes go back finish finished finishes into at to from his her their
my our your its the a an this that which what in from junior infant primary nursery college academy school
""".split())
SCHOOL_DESCRIPTION_ENDINGS = ("est", "ing", "ed", "ly", "ful", "ish", "ous")
# Everyday words that are often part of a school's name ("moat house primary school", "park hill junior school").
SCHOOL_NAME_WORDS = frozenset({
    "house", "park", "hill", "green", "wood", "field", "fields", "farm", "grange", "heath", "lane", "court", "castle",
    "bridge", "street", "road", "gate", "end", "side", "water", "land", "river", "valley", "mill", "brook", "cross",
    "spring", "well", "hall", "manor", "lodge", "meadow", "garden", "gardens", "rise", "view", "bank", "stone",
    "north", "south", "east", "west", "central", "upper", "lower", "forest", "oak", "ash", "elm", "christ", "holy",
    "trinity", "heart", "st", "saint", "king", "queen", "prince", "princess", "royal", "city", "town",
})
SCHOOL_PATTERN_REGEX = (
    rf"{_NOT_AFTER_LETTER}(?P<pii>{_SCHOOL_FIRST_EXCLUDED}{_SCHOOL_WORD}"
    rf"(?:(?:\s+(?:of|and|&|the|de|la|le|upon|on|in))?\s+{_SCHOOL_WORD}){{0,3}}?"
    rf"(?:\s+(?:{SCHOOL_QUALIFIERS}))*\s+(?:{SCHOOL_TYPES})){_NOT_BEFORE_LETTER}"
)


# How strong the context before a word is.
_NONE, _WEAK, _STRONG, _NAMING, _NAME_IS = range(5)
# Capitalised words after which the word before names a place or an organisation, not a person ("the Hope Centre",
# "Thomas Street", "Grace Church"). Not Hill, Park, Wood, Green or Lane: those are surnames as often.
PLACE_WORDS = (
    "Centre", "Center", "Hub", "Team", "Council", "Hospital", "Clinic", "Trust", "Service", "Services", "University",
    "Church", "Chapel", "Mosque", "Temple", "Gurdwara", "School", "Academy", "Nursery", "College", "Primary",
    "Junior", "Juniors", "Infant", "Infants", "Road", "Street", "Avenue", "Crescent", "Drive", "Close", "Terrace",
    "Gardens", "Square", "House", "Hall", "Foundation", "Charity", "Group", "Club", "Project",
    # Teams and services: "the Sky Blues", "Coventry City", "the Local Offer"
    "Blues", "City", "United", "Rovers", "Rangers", "Albion", "Athletic", "Wanderers", "FC", "Offer",
)
_PLACE_AFTER = re.compile(r" (?:" + "|".join(PLACE_WORDS) + r")\b")
# Of those, the ones that are never a name or part of one ("Jake School" is a school), unlike Hall or Church.
SURNAME_PLACE_WORDS = frozenset({"Church", "Chapel", "Temple", "Hall", "House", "Charity", "Close", "Junior", "Juniors"})
_NOT_NAME_PARTS = frozenset(word.lower() for word in PLACE_WORDS if word not in SURNAME_PLACE_WORDS)


@dataclass(frozen=True)
class Finding:
    """One piece of personal information in a text."""

    kind: str  # the token's name without brackets, e.g. "NAME"
    start: int  # index of its first character
    end: int  # index just past its last character


@dataclass(frozen=True)
class _NameLists:
    """Everything the name recogniser looks words up in, lower-cased."""

    first: FrozenSet[str]  # first names from Faker
    last: FrozenSet[str]  # surnames from Faker
    names_and_words: FrozenSet[str]  # names that are words: need a capital letter and context or mid-sentence
    context_only: FrozenSet[str]  # names that are capitalised words: need context
    common: FrozenSet[str]  # ordinary English words: never a name on their own
    lower_words: FrozenSet[str]  # every word a listed first name in lower case may be: those need context
    keep: FrozenSet[str]  # single keep-words: never a name


class _OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recogniser, checking the domain against tldextract's bundled list only.

    Presidio's own check calls ``tldextract.extract``, whose shared extractor first tries to download the public
    suffix list; ours has no URLs to try and no disk cache, so it goes straight to the snapshot in the package.
    Presidio also wants a registrable domain; we want any address that ends in a public suffix, because a made-up
    or mistyped domain still carries the person's name. The pattern is ours too (see ``EMAIL_REGEX``).
    """

    def __init__(self) -> None:
        super().__init__(patterns=[Pattern("Email (UK offline)", EMAIL_REGEX, SCORE)], supported_entity=EMAIL_ENTITY)
        self._extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    def validate_result(self, pattern_text: str) -> bool:
        """True if the address ends in a public suffix ("sam@school.sch.uk" too, whose domain is all suffix)."""
        return self._extract(pattern_text).suffix != ""

    def analyze(
        self, text: str, entities: List[str], nlp_artifacts: Optional[NlpArtifacts] = None, regex_flags: int = 0
    ) -> List[RecognizerResult]:
        """Every valid address; after one that fails the domain check, look again from its next character.

        Presidio goes on after the end of a failed match, so in "jo@example.comjo@example.com" it would miss the
        second address until the first part had been redacted some other way.
        """
        results = []
        position = 0
        while True:
            match = _EMAIL.search(text, position)
            if not match:
                return results
            if self.validate_result(match.group()):
                results.append(RecognizerResult(EMAIL_ENTITY, match.start(), match.end(), SCORE))
                position = match.end()
            else:
                position = match.start() + 1


class _UkPhoneRecognizer(LocalRecognizer):
    """UK numbers in the groupings people write, with as many digits as a UK number has.

    Reading group by group, rather than one expression, keeps two numbers in a row apart ("+44 7700 900123 07700
    900456") and a number apart from a house number after it ("0800 1111 12 Acacia Avenue").
    """

    def __init__(self) -> None:
        super().__init__(supported_entities=[PHONE], name="UkPhoneRecognizer")

    def load(self) -> None:
        """Nothing to load."""

    def analyze(
        self, text: str, entities: List[str], nlp_artifacts: Optional[NlpArtifacts] = None
    ) -> List[RecognizerResult]:
        """Every UK phone number in ``text``."""
        results = []
        position = 0
        while True:
            start = UK_PHONE_START.search(text, position)
            if not start:
                return results
            end = self._number_end(text, start.end(), national=start.group().lstrip("(") == "0")
            if end is None:
                position = start.end()
                continue
            results.append(RecognizerResult(PHONE, start.start(), end, SCORE))
            position = end

    @staticmethod
    def _number_end(text: str, position: int, national: bool) -> Optional[int]:
        """Where the number whose digits start at ``position`` ends, or None if its groups make no UK number."""
        digits = ""
        best = None
        while True:
            group = (UK_PHONE_GROUP if digits else UK_PHONE_FIRST_GROUP).match(text, position)
            if not group:
                return best
            digits += group.group(1)
            count = len(digits) + 1  # with the 0 (written, or standing in for +44)
            if count > max(UK_PHONE_DIGITS):
                return best
            position = group.end()
            if count in UK_PHONE_DIGITS:
                best = position
            elif best is None and national and count == FREEPHONE_SHORT_DIGITS and (
                "0" + digits
            ).startswith(FREEPHONE_PREFIXES):
                best = position


class _EnglandNhsRecognizer(NhsRecognizer):
    """Presidio's NHS number recogniser (mod-11 check digit), leaving out numbers that start with 0.

    NHS numbers in England and Wales never start with 0, and UK phone numbers always do.
    """

    # Presidio's pattern, bounded by non-digits rather than \b so a number touching a letter is found too.
    PATTERNS = [Pattern("NHS (medium)", r"(?<!\d)([0-9]{3})[- ]?([0-9]{3})[- ]?([0-9]{4})(?!\d)", 0.5)]

    def validate_result(self, pattern_text: str) -> bool:
        """True if the number has a valid check digit and does not start with 0."""
        return not pattern_text.startswith("0") and super().validate_result(pattern_text)


class _RegexRecognizer(LocalRecognizer):
    """Finds one kind by a regular expression; the finding is the group ``pii`` if there is one, else the match."""

    def __init__(self, kind: str, regex: str, flags: int = 0, name: Optional[str] = None) -> None:
        self._regex = re.compile(regex, flags)
        super().__init__(supported_entities=[kind], name=name or f"{kind.title()}Recognizer")

    def load(self) -> None:
        """Nothing to load: the expression is compiled in the constructor."""

    def analyze(
        self, text: str, entities: List[str], nlp_artifacts: Optional[NlpArtifacts] = None
    ) -> List[RecognizerResult]:
        """Every match in ``text``."""
        kind = self.supported_entities[0]
        results = []
        for match in self._regex.finditer(text):
            start, end = match.span("pii") if "pii" in self._regex.groupindex else match.span()
            if end > start:
                results.append(RecognizerResult(kind, start, end, SCORE))
        return results


class _LowerCaseSchoolRecognizer(LocalRecognizer):
    """Schools written in lower case that are in no list: "the senco at elmbank junior school said..."."""

    def __init__(self, ordinary_words: FrozenSet[str]) -> None:
        self._ordinary = (ordinary_words - SCHOOL_NAME_WORDS) | SCHOOL_DESCRIPTIONS
        super().__init__(supported_entities=[SCHOOL], name="LowerCaseSchoolRecognizer")

    def load(self) -> None:
        """Nothing to load."""

    def analyze(
        self, text: str, entities: List[str], nlp_artifacts: Optional[NlpArtifacts] = None
    ) -> List[RecognizerResult]:
        """Every "<name> junior school" and the like, where the name is words that describe nothing."""
        results = []
        for school_type in LOWER_CASE_SCHOOL_TYPE.finditer(text):
            end_of_name = school_type.start()
            words = LOWER_CASE_SCHOOL_WORDS.search(text, max(0, end_of_name - CONTEXT_CHARS), end_of_name)
            if not words:
                continue
            start = end_of_name
            for word in reversed(words.group().split()):  # nearest first; the words are one space apart
                if _fold(word) in self._ordinary or word.endswith(SCHOOL_DESCRIPTION_ENDINGS):
                    break
                start -= len(word) + 1
            if start < end_of_name:
                results.append(RecognizerResult(SCHOOL, start, school_type.end(), SCORE))
        for school_type in LOWER_CASE_SCHOOL_END.finditer(text):
            end_of_name = school_type.start()
            words = LOWER_CASE_SCHOOL_WORDS.search(text, max(0, end_of_name - CONTEXT_CHARS), end_of_name)
            if not words:
                continue
            start = end_of_name
            named = False
            count = 0
            for word in reversed(words.group().split()):
                folded = _fold(word)
                if PERSON_POSSESSIVE.fullmatch(folded) and folded not in NURSERY_NAME_WORDS:
                    break  # "my daughters nursery", "my grandson's preschool"
                if named and folded in SCHOOL_LEADING_WORDS:
                    start -= len(word) + 1
                    continue
                if folded not in NURSERY_NAME_WORDS and folded not in SCHOOL_NAME_WORDS and (
                    folded in self._ordinary or folded in STOP_WORDS or word.endswith(SCHOOL_DESCRIPTION_ENDINGS)
                    or folded in SCHOOL_LEADING_WORDS or folded in NOT_NAME_WORDS or folded in LOWER_SCHOOL_NOT_NAMES
                ):
                    break
                start -= len(word) + 1
                named = True
                count += 1
            # One word is a school's name only where a school is expected ("goes to sunshine nursery"), not in
            # "i cant afford nursery".
            if start < end_of_name and (count >= 2 or SCHOOL_PLACE_BEFORE.search(text, 0, start)):
                results.append(RecognizerResult(SCHOOL, start, school_type.end(), SCORE))
        for regex in (LOWER_CASE_SAINT_SCHOOL, CITY_COLLEGE):
            for match in regex.finditer(text):
                results.append(RecognizerResult(SCHOOL, match.start(), match.end(), SCORE))
        return results


class _NameRecognizer(LocalRecognizer):
    """Finds people's names from name lists, case and context (see the module docstring)."""

    def __init__(self, lists: _NameLists) -> None:
        self._lists = lists
        super().__init__(supported_entities=[NAME], name="UkNameRecognizer")

    def load(self) -> None:
        """Nothing to load: the lists are read once by ``Redactor.default``."""

    def analyze(
        self, text: str, entities: List[str], nlp_artifacts: Optional[NlpArtifacts] = None
    ) -> List[RecognizerResult]:
        """Every name in ``text``, one result for each run of words that make up a name."""
        words = [match.span() for match in WORD.finditer(text)]
        names: List[Tuple[int, int]] = []  # first and last word of each name
        index = 0
        while index < len(words):
            if not self._is_name(text, words[index]):
                index += 1
                continue
            first = index
            index = self._extend(text, words, index)
            if index == first and index + 1 < len(words) and FULL_NAME_CUE_BEFORE.search(
                _fold(text[max(0, words[first][0] - CONTEXT_CHARS):words[first][0]])
            ) and NAME_GAP.match(text[words[index][1]:words[index + 1][0]]):
                start, end = words[index + 1]
                if self._could_be_cued_name(text, start, end, self._lookup_form(_fold(text[start:end]))):
                    index += 1  # "mr ray thompson", "hi im simranjeet kaur"
            names.append((first, index))
            # "ionut and andreea": the name before "and" is a name too, found once the second one is.
            previous = first - 1
            if previous > 0 and _fold(text[slice(*words[previous])]) in JOINING_WORDS:
                previous -= 1
            if previous >= 0 and self._is_joined_name(text, words[previous], words[first][0], before=True):
                names.append((previous, previous))
            index += 1
            # "jake and ella", "Tom, Harry": a listed first name joined to a name is a name too.
            while index < len(words) and self._is_joined_name(text, words[index], words[index - 1][1]):
                first = index
                index = self._extend(text, words, index)
                names.append((first, index))
                index += 1
        names += self._repeats(text, words, names)
        return [
            RecognizerResult(NAME, _initial_start(text, words[first][0]), words[last][1], SCORE)
            for first, last in names
        ]

    def _repeats(
        self, text: str, words: Sequence[Tuple[int, int]], names: Sequence[Tuple[int, int]]
    ) -> List[Tuple[int, int]]:
        """The other places a word found as a name appears ("ioana and andrei ... only andrei has an EP report").

        A name that is also a word counts again only with its capital letter ("Will ... I will" keeps "will").
        """
        covered = {index for first, last in names for index in range(first, last + 1)}
        if not covered:
            return []
        lists = self._lists
        anywhere, capitalised = set(), set()
        for index in covered:
            lower = self._lookup_form(_fold(text[slice(*words[index])]))
            ambiguous = lower in lists.names_and_words or lower in lists.context_only or lower in lists.common
            (capitalised if ambiguous else anywhere).add(lower)
        repeats = []
        for index, (start, end) in enumerate(words):
            if index in covered:
                continue
            word = text[start:end]
            lower = self._lookup_form(_fold(word))
            if lower not in anywhere and not (lower in capitalised and _is_title_case(word)):
                continue
            if self._could_be_name(text, start, end, lower):
                repeats.append((index, index))
        return repeats

    def _is_name(self, text: str, span: Tuple[int, int]) -> bool:
        """Whether the word at ``span`` is a name, from the lists it is in, its case and its context."""
        start, end = span
        word = text[start:end]
        lower = self._lookup_form(_fold(word))
        lists = self._lists
        if not self._could_be_name(text, start, end, lower):
            return False
        title_case = _is_title_case(word)
        before = _fold(text[max(0, start - CONTEXT_CHARS):start])
        after = _fold(text[end:end + CONTEXT_CHARS])
        strength = _context_strength(before)
        if (title_case or lower in lists.first) and BRACKET_RELATION_CONTEXT.search(before) and (
            CLOSING_BRACKET_AFTER.match(after)
        ):
            return True  # "dad (Mark)"
        if strength < _STRONG and _PLACE_AFTER.match(text, end):
            return False  # "the Hope Centre", "Thomas Street", "Grace Church": a place, not a person
        if self._strongly_cued(text, start, end, lower, before, after):
            return True  # "my son river", "her TA semhar", "mr ray", "spoke to tesfaye from..."
        if "-" in lower and self._is_hyphenated_name(lower):
            return True  # "poppy-rose", "kai-jordan"
        child_subject = self._child_subject(lower, before, after)
        # "my son will be" and "my son will has ADHD": after "my son", a word that is also a verb is a name only
        # if what follows reads like the rest of a sentence about a child.
        strong_subject = strength >= _STRONG and bool(SUBJECT_AFTER.match(after))
        if lower in lists.names_and_words:
            if title_case:
                if strength < _STRONG and self._before_proper_noun(text, end):
                    return False  # "the Sky Blues": part of the name of a thing
                return bool(strength >= _WEAK or not _starts_sentence(before) or POSSESSIVE_AFTER.match(after)
                            or SAID_AFTER.match(after) or DESCRIBED_AFTER.match(after)
                            or WORD_NAME_SUBJECT_AFTER.match(after) or FIRST_NAME_AFTER.match(after)
                            or WORD_NAME_IS_AFTER.match(after) or child_subject)
            return bool(strength >= _NAMING or strong_subject or child_subject or POSSESSIVE_ROLE_AFTER.match(after)
                        or BRACKET_ROLE_AFTER.match(after)
                        or (PAIR_CONTEXT.search(before) and PAIR_AFTER.match(after))
                        or PAIR_SECOND_CONTEXT.search(before))
        if lower in lists.context_only:
            if title_case:
                return strength >= _STRONG or child_subject or bool(POSSESSIVE_ROLE_AFTER.match(after)
                                                                    or DESCRIBED_AFTER.match(after))
            return strength >= _NAMING or strong_subject or child_subject
        if lower in lists.common:
            # An everyday word that is also in a name list ("Guy", "Job"): only straight after a title or "my son".
            return title_case and strength >= _STRONG
        if lower in lists.first:
            if title_case or lower not in lists.lower_words:
                return True  # "Jake has ADHD"; "sooo proud of aarav today": a name that is no English word
            return bool(strength >= _WEAK or child_subject or POSSESSIVE_AFTER.match(after)
                        or DESCRIBED_AFTER.match(after) or FIRST_NAME_AFTER.match(after)
                        or (_starts_sentence(before) and SUBJECT_AFTER.match(after)))
        if lower in lists.last:
            return strength >= _STRONG and (title_case or not _after_word_title(before))
        # In no list: a name only where nothing else could come ("my son Zayyan", "Chidinma's TA").
        if title_case:
            return (strength >= _STRONG and not _after_word_title(before)) or bool(POSSESSIVE_ROLE_AFTER.match(after))
        return strength >= _NAME_IS

    def _could_be_cued_name(self, text: str, start: int, end: int, lower: str) -> bool:
        """Whether a word after a strong cue can be a name: not a stop word, keep-word, modal verb or plain word."""
        lists = self._lists
        plain = lower.replace("'", "")
        if (end - start < 2 or lower in lists.keep or lower in WEEKDAYS or lower in _NOT_NAME_PARTS
                or lower in STOP_WORDS or plain in NOT_NAME_WORDS or lower in MODAL_WORDS
                or (lower in lists.lower_words and lower not in lists.first)
                or not text[start].isalpha() or _is_token(text, start, end)):
            return False
        if lower in lists.first or lower in lists.last or ("-" in lower and self._is_hyphenated_name(lower)):
            return True
        return lower not in lists.lower_words and not lower.endswith(NOT_NAME_ENDINGS)

    def _strongly_cued(self, text: str, start: int, end: int, lower: str, before: str, after: str) -> bool:
        """Whether a strong cue makes the word a name ("my son river", "DD amber", "mr ray", "she (grace)")."""
        if PLURAL_RELATION_BEFORE.search(before):
            return False
        if PRONOUN_BRACKET_BEFORE.search(before):
            cued = bool(CLOSING_BRACKET_AFTER.match(after))
        elif OPEN_BRACKET_BEFORE.search(before) and NICKNAME_AFTER.match(after):
            cued = True
        elif AGE_BRACKET_AFTER.match(after) and AGE_BRACKET_JOINED_BEFORE.search(before):
            cued = True  # "mum to river (6) and sky (3)"
        elif SPOKE_TO_BEFORE.search(before):
            cued = bool(FROM_AFTER.match(after))
        elif re.search(r"(?<![^\W\d_])is\s*$", before):
            return False  # "my son is autistic": what follows "is" describes as often as it names
        else:
            cued = bool(STRONG_CUE_BEFORE.search(before)) or (
                _context_strength(before) >= _STRONG and not _after_word_title(before))
            if not cued and FROM_TEAM_AFTER.match(after) and not DETERMINER_BEFORE.search(before):
                cued = True  # "tesfaye from the transport team"
        if _after_word_title(before) and not _is_title_case(text[start:end]):
            # "miss jones said", but not "I miss school" or "we miss summer"
            cued = not MISSING_BEFORE.search(before) and (
                lower in self._lists.first or lower in self._lists.last or bool(MISS_TITLE_BEFORE.search(before)))
        return cued and self._could_be_cued_name(text, start, end, lower)

    def _is_hyphenated_name(self, lower: str) -> bool:
        """Whether a hyphenated word is made of first names ("poppy-rose"), none of them a date or a modal."""
        lists = self._lists
        parts = lower.split("-")
        return (lower not in lists.lower_words and all(len(p) > 1 for p in parts)
                and any(p in lists.first for p in parts)
                and all(p in lists.first or p in lists.last for p in parts)
                and not any(p in DATE_WORDS or p in MODAL_WORDS for p in parts))

    @staticmethod
    def _child_subject(lower: str, before: str, after: str) -> bool:
        """Whether a word starting a sentence or clause is followed by what is said of a child ("sky is 12")."""
        if lower in MODAL_WORDS or not (CLAUSE_START_BEFORE.search(before) or _starts_sentence(before)):
            return False
        if not CHILD_AFTER.match(after):
            return False
        return not (lower in DATE_WORDS and re.match(r"^\s+(?:(?:is|was)\s+)?\d", after))

    def _before_proper_noun(self, text: str, end: int) -> bool:
        """Whether the word ending at ``end`` is followed by a capitalised everyday word ("Sky Blues")."""
        match = re.match(r" ([A-Z][a-z]+)\b", text[end:end + CONTEXT_CHARS])
        if not match:
            return False
        lower = _fold(match.group(1))
        lists = self._lists
        return lower in lists.lower_words and lower not in lists.last and lower not in lists.first

    def _lookup_form(self, lower: str) -> str:
        """The form of a word to look up: for "ruby-mae" or "mary-jane", a part that is a plain first name."""
        lists = self._lists
        if "-" not in lower or lower in lists.first or lower in lists.last:
            return lower
        for part in lower.split("-"):
            if part in lists.first and not (
                part in lists.names_and_words or part in lists.context_only or part in lists.common
            ):
                return part
        return lower

    def _could_be_name(self, text: str, start: int, end: int, lower: str) -> bool:
        """False for words that are never names: single letters, keep-words, weekdays, place words ("Centre"),
        plain words and our tokens."""
        lists = self._lists
        if end - start < 2 or lower in lists.keep or lower in WEEKDAYS or lower in _NOT_NAME_PARTS:
            return False
        if lower in lists.common and lower not in lists.first and lower not in lists.last:
            return False
        return not _is_token(text, start, end)

    def _extend(self, text: str, words: Sequence[Tuple[int, int]], index: int) -> int:
        """The index of the last word of the name starting at ``index`` ("Jake Smith", "jake o'neill")."""
        lists = self._lists
        for _ in range(MAX_NAME_WORDS - 1):
            if index + 1 >= len(words) or not NAME_GAP.match(text[words[index][1]:words[index + 1][0]]):
                break
            start, end = words[index + 1]
            word = text[start:end]
            lower = _fold(word)
            if not self._could_be_name(text, start, end, lower):
                break
            if _is_title_case(word):
                if lower in lists.common and lower not in lists.last:
                    break
            elif not self._is_lower_surname(lower):
                break
            index += 1
        return index

    def _is_lower_surname(self, lower: str) -> bool:
        """Whether a lower-case word after a first name is a surname ("popescu", "sandhu-grewal")."""
        lists = self._lists
        parts = lower.split("-") if "-" in lower and lower not in lists.last else [lower]
        return all(
            (part in lists.last or (len(parts) > 1 and part in lists.first))
            and part not in lists.common and part not in lists.context_only
            for part in parts
        )

    def _is_joined_name(self, text: str, span: Tuple[int, int], other: int, before: bool = False) -> bool:
        """Whether the word at ``span``, joined by "and" or a comma to a name, is a name too.

        Args:
            text: the text.
            span: where the word is.
            other: where the name ends (if the word comes after it) or starts (if ``before``).
            before: the word comes before the name.
        """
        start, end = span
        gap = text[end:other] if before else AGE_BRACKET_AFTER.sub("", text[other:start], count=1)
        if not JOINED_AFTER.match(gap):
            return False
        word = text[start:end]
        lower = _fold(word)
        lists = self._lists
        if not self._could_be_name(text, start, end, lower):
            return False
        if AGE_BRACKET_AFTER.match(text[end:end + CONTEXT_CHARS]) and self._could_be_cued_name(text, start, end, lower):
            return True  # "mum to river (6) and sky (3)"
        if lower in lists.names_and_words:
            before_word = _fold(text[max(0, start - CONTEXT_CHARS):start])
            return _is_title_case(word) or bool(PAIR_SECOND_CONTEXT.search(before_word))
        if lower in lists.context_only or lower in lists.common:
            return False
        return lower in lists.first


def _context_strength(before: str) -> int:
    """How strongly the (lower-cased) text before a word says that a name comes next."""
    if NAME_IS_CONTEXT.search(before):
        return _NAME_IS
    if NAMING_CONTEXT.search(before):
        return _NAMING
    if (RELATION_CONTEXT.search(before) or TITLE_CONTEXT.search(before) or SIGNED_CONTEXT.search(before)
            or PARENT_OF_CONTEXT.search(before)):
        return _STRONG
    if WEAK_CONTEXT.search(before):
        return _WEAK
    return _NONE


def _after_word_title(before: str) -> bool:
    """True if the word follows a title that is also a word ("I miss Tom", "yes sir")."""
    match = TITLE_CONTEXT.search(before)
    return bool(match and match.group("title") in WORD_TITLES and not RELATION_CONTEXT.search(before))


def _initial_start(text: str, start: int) -> int:
    """Where a name after a title and an initial starts ("Mrs K Patel": at "K"), else ``start``."""
    window = text[max(0, start - INITIAL_WINDOW):start]
    match = TITLE_INITIAL.search(window)
    if match:
        return start - len(window) + match.start("initial")
    return start


def _starts_sentence(before: str) -> bool:
    """True if a word after ``before`` starts the text, a line or a sentence (or follows an emoji or a bullet)."""
    stripped = before.rstrip()
    if not stripped or "\n" in before[len(stripped):]:
        return True
    return not (stripped[-1].isalnum() or stripped[-1] in MID_SENTENCE_CHARS)


def _is_title_case(word: str) -> bool:
    """"Jake", "O'Neill", "Mary-Jane": a capital first letter and not all capitals ("ADHD", "JAKE")."""
    return word[0].isupper() and not word.isupper()


def _is_token(text: str, start: int, end: int) -> bool:
    """True if the word is inside one of our own tokens, e.g. "NAME" in "[NAME]" or "BIRTH" in "[DATE_OF_BIRTH]".

    Such words are never names, so redacting a redacted text changes nothing.
    """
    left = text.rfind("[", max(0, start - TOKEN_REACH), start)
    if left < 0:
        return False
    right = text.find("]", end, end + TOKEN_REACH)
    return right >= 0 and TOKEN_PATTERN.fullmatch(text, left, right + 1) is not None


def _fold(text: str) -> str:
    """Lower case without accents and with one kind of apostrophe, for looking words and context up.

    Accents go so that "ionut" finds Faker's "Ionuț" and "zoe" finds "Zoë"; folding keeps the length of plain text,
    and context is only ever searched, never indexed, so the few characters whose length changes do no harm.
    """
    lowered = text.lower().replace("’", "'")
    if lowered.isascii():
        return lowered
    return "".join(c for c in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(c))


class _LockedSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine over a blank English pipeline, tokenising one text at a time.

    The pattern recognisers need only tokens, so there is no model to download. The lock keeps spaCy's shared
    vocabulary from being written by two threads at once; tokenising a message takes microseconds.
    """

    def __init__(self, models: List[Dict[str, str]]) -> None:
        # The blank pipeline has no NER, so there is nothing to map; saying so keeps Presidio from warning.
        no_ner = NerModelConfiguration(model_to_presidio_entity_mapping={}, low_score_entity_names=set(),
                                       labels_to_ignore=set())
        super().__init__(models=models, ner_model_configuration=no_ner)
        self._lock = threading.Lock()

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        """Tokenise ``text`` under the lock."""
        with self._lock:
            return super().process_text(text, language)


class _NoContextEnhancer(ContextAwareEnhancer):
    """Leaves scores alone: every finding is used whatever its score, so Presidio's context boost is wasted work."""

    def __init__(self) -> None:
        super().__init__(context_similarity_factor=0, min_score_with_context_similarity=0, context_prefix_count=0,
                         context_suffix_count=0)

    def enhance_using_context(
        self,
        text: str,
        raw_results: List[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: List[EntityRecognizer],
        context: Optional[List[str]] = None,
    ) -> List[RecognizerResult]:
        """The results as they are."""
        return raw_results


class Redactor:
    """Finds personal information in free text and replaces it with tokens such as ``[NAME]``.

    Build one per process with ``Redactor.default()`` (or ``default_redactor()``): it reads the word lists and
    Faker's name lists once. ``findings`` and ``redact`` may be called from many threads at once.
    """

    def __init__(self, analyzer: AnalyzerEngine, keep_words: Sequence[str]) -> None:
        """Use ``analyzer``'s recognisers, never redacting ``keep_words``.

        Args:
            analyzer: a Presidio analyzer whose recognisers report our kinds (or Presidio's, see ``PRESIDIO_KINDS``).
            keep_words: words and phrases that must never be part of a name or school.
        """
        self._analyzer = analyzer
        self._anonymizer = AnonymizerEngine()
        self._operators = {kind: OperatorConfig("replace", {"new_value": f"[{kind}]"}) for kind in KINDS}
        self._keep = _phrase_regex(keep_words)

    @classmethod
    def default(cls, school_names_file: Optional[Path] = None) -> "Redactor":
        """The redactor with our recognisers and the word lists in ``data/privacy``.

        Args:
            school_names_file: a YAML file of more school names (SCHOOL_NAMES_FILE), used as well as ours.

        Returns:
            A ready redactor (the first call in a process takes a few seconds; later ones reuse the name lists).

        Raises:
            OSError: a word list, or ``school_names_file``, cannot be read.
            ValueError: one of them is not a list of strings.
        """
        schools = list(_read_list(SCHOOL_NAMES_FILE, "schools"))
        if school_names_file is not None:
            schools += _read_list(Path(school_names_file), "schools")
        keep_words = _read_list(KEEP_WORDS_FILE, "keep_words")
        name_lists = _name_lists(tuple(keep_words))
        recognizers: List[EntityRecognizer] = [
            _OfflineEmailRecognizer(),
            PhoneRecognizer(supported_regions=("GB",)),
            _UkPhoneRecognizer(),
            _EnglandNhsRecognizer(),
            _RegexRecognizer(NHS_NUMBER, NHS_CONTEXT_REGEX, re.IGNORECASE, name="NhsContextRecognizer"),
            PatternRecognizer(supported_entity=POSTCODE, name="UkPostcodeRecognizer",
                              patterns=[Pattern("UK postcode", POSTCODE_REGEX, SCORE)]),
            _RegexRecognizer(DATE_OF_BIRTH, DOB_REGEX, re.IGNORECASE),
            _RegexRecognizer(ADDRESS, ADDRESS_ANY_CASE_REGEX, name="AddressRecognizer"),
            _RegexRecognizer(ADDRESS, ADDRESS_TITLE_CASE_REGEX, name="TitleCaseAddressRecognizer"),
            _RegexRecognizer(ADDRESS, LIVES_ON_REGEX, name="LivesOnRecognizer"),
            _RegexRecognizer(SCHOOL, SCHOOL_PATTERN_REGEX, name="SchoolPatternRecognizer"),
            _NameRecognizer(name_lists),
            _LowerCaseSchoolRecognizer(name_lists.common | name_lists.keep),
        ]
        if schools:
            schools = _with_short_school_names(schools, name_lists)
            recognizers.append(_RegexRecognizer(SCHOOL, _phrase_regex(schools).pattern, re.IGNORECASE,
                                                name="SchoolListRecognizer"))
        registry = RecognizerRegistry(recognizers=recognizers, supported_languages=[LANGUAGE])
        analyzer = AnalyzerEngine(registry=registry, nlp_engine=_blank_nlp_engine(),
                                  supported_languages=[LANGUAGE], context_aware_enhancer=_NoContextEnhancer())
        redactor = cls(analyzer, keep_words)
        redactor.findings("Warm-up: jo.bloggs@example.co.uk, my son Jake, 07700 900123.")  # loads the suffix list
        return redactor

    def findings(self, text: str) -> List[Finding]:
        """What in ``text`` is personal, in order, without overlaps (the longer of two overlapping findings wins).

        Findings of one kind separated only by spaces are joined ("Jake" "Smith" is one name).

        Args:
            text: any string (emoji, control characters and lone surrogates are fine).

        Returns:
            The findings, sorted by position.
        """
        if not text:
            return []
        clean = _analysable(text)
        results = self._analyzer.analyze(text=clean, language=LANGUAGE)
        kept = _keep_spans(self._keep, clean)
        candidates = []
        for result in results:
            kind = PRESIDIO_KINDS.get(result.entity_type, result.entity_type)
            if kind not in KINDS or result.end <= result.start:
                continue
            if kind in KEEP_WORD_GUARDED_KINDS and any(s < result.end and result.start < e for s, e in kept):
                continue
            candidates.append(Finding(kind, result.start, result.end))
        return _join_neighbours(clean, _resolve_overlaps(clean, candidates))

    def redact(self, text: str) -> str:
        """``text`` with every finding replaced by its token, e.g. "my son [NAME] has ADHD".

        Args:
            text: any string.

        Returns:
            The redacted text; never longer than ``text`` except by the tokens it adds.
        """
        found = self.findings(text)
        if not found:
            return text
        results = [AnonymizerResult(entity_type=f.kind, start=f.start, end=f.end, score=1.0) for f in found]
        return self._anonymizer.anonymize(text=text, analyzer_results=results, operators=self._operators).text


@functools.lru_cache(maxsize=1)
def default_redactor() -> Redactor:
    """The process's one redactor with the default lists and the deployment's SCHOOL_NAMES_FILE (built on first use)."""
    from bot.settings import Settings

    school_names_file = Settings.from_env().school_names_file
    return Redactor.default(Path(school_names_file) if school_names_file else None)


def _resolve_overlaps(text: str, findings: Iterable[Finding]) -> List[Finding]:
    """Findings with no two overlapping: longest first, then by kind (``KINDS`` order), then earliest.

    A finding that overlaps a longer one keeps the part outside it, if any ("jake" of "jake Asarah" when
    "Asarah.jones@example.com" is an e-mail address), so nothing is let through because two findings touch.
    """
    starts: List[int] = []  # of the chosen findings, sorted
    chosen: List[Finding] = []  # in the order of ``starts``
    pending = sorted(set(findings), key=_priority)
    while pending:
        finding = pending.pop(0)
        place = bisect.bisect_left(starts, finding.start)
        first = place - 1 if place > 0 and chosen[place - 1].end > finding.start else place
        last = place
        while last < len(chosen) and chosen[last].start < finding.end:
            last += 1
        overlapped = chosen[first:last]
        if not overlapped:
            starts.insert(place, finding.start)
            chosen.insert(place, finding)
            continue
        # Keep what sticks out either side, if it is more than spaces and punctuation; each piece is shorter than
        # the finding, so it goes back into the queue in its place.
        for start, end in ((finding.start, overlapped[0].start), (overlapped[-1].end, finding.end)):
            piece = _trimmed(text, finding.kind, start, end)
            if piece:
                bisect.insort(pending, piece, key=_priority)
    return chosen


def _priority(finding: Finding) -> Tuple[int, int, int]:
    """The order in which overlapping findings are chosen: longest, then by kind, then earliest."""
    return -(finding.end - finding.start), KINDS.index(finding.kind), finding.start


def _trimmed(text: str, kind: str, start: int, end: int) -> Optional[Finding]:
    """The finding for ``text[start:end]`` without spaces and punctuation at its ends, if enough is left."""
    piece = text[start:end] if end > start else ""
    stripped = piece.strip(TRIM_CHARS)
    if len(stripped) < MIN_PIECE_CHARS:
        return None
    start += len(piece) - len(piece.lstrip(TRIM_CHARS))
    return Finding(kind, start, start + len(stripped))


def _join_neighbours(text: str, findings: List[Finding]) -> List[Finding]:
    """Join findings of one kind with only spaces between them, as Presidio's anonymizer would."""
    joined: List[Finding] = []
    for finding in findings:
        if joined and joined[-1].kind == finding.kind and re.fullmatch(r" +", text[joined[-1].end:finding.start]):
            joined[-1] = Finding(finding.kind, joined[-1].start, finding.end)
        else:
            joined.append(finding)
    return joined


def _keep_spans(pattern: re.Pattern, text: str) -> List[Tuple[int, int]]:
    """Where keep-words are in ``text``."""
    return [match.span() for match in pattern.finditer(text)] if pattern.pattern else []


def _analysable(text: str) -> str:
    """``text`` with lone surrogates replaced one for one, so spaCy can encode it and offsets stay the same."""
    return re.sub(r"[\ud800-\udfff]", "\ufffd", text)


def _phrase_regex(phrases: Iterable[str]) -> re.Pattern:
    """A case-insensitive expression for whole phrases: any run of spaces matches a space, apostrophes are optional."""
    parts = []
    for phrase in sorted({p.strip() for p in phrases if p and p.strip()}, key=len, reverse=True):
        words = [re.escape(word).replace("'", "['’]?").replace("’", "['’]?") for word in phrase.split()]
        parts.append(r"[\s\-]+".join(words))
    if not parts:
        return re.compile("")
    return re.compile(_NOT_AFTER_LETTER + "(?:" + "|".join(parts) + ")" + _NOT_BEFORE_LETTER, re.IGNORECASE)


def _with_short_school_names(schools: Sequence[str], lists: "_NameLists") -> List[str]:
    """The listed schools and, for "Sherbourne Fields School", also "Sherbourne Fields" (unless that is one plain
    word, which could be anything)."""
    result = list(schools)
    for school in schools:
        short = re.sub(r"\s+school$", "", school.strip(), flags=re.IGNORECASE)
        if short != school.strip() and (" " in short or _fold(short) not in lists.lower_words):
            result.append(short)
    return result


def _read_list(path: Path, key: str) -> List[str]:
    """The strings under ``key`` in a YAML file (or the file's top-level list).

    Raises:
        ValueError: the file holds something else.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if isinstance(data, dict):
        data = data.get(key) or []
    if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
        raise ValueError(f"{path} must hold a list of strings under {key!r}")
    return data


@functools.lru_cache(maxsize=4)
def _name_lists(keep_words: Tuple[str, ...]) -> _NameLists:
    """Faker's names and our word lists, read once."""
    first: set = set()
    last: set = set()
    for locale in FAKER_LOCALES + FAKER_ROMANISED_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        romanised_only = locale in FAKER_ROMANISED_LOCALES
        for attribute in dir(provider):
            if attribute.startswith("_") or (romanised_only and "romanized" not in attribute):
                continue
            names = getattr(provider, attribute)
            if "first_name" in attribute:
                first |= _latin_names(names)
            elif "last_name" in attribute:
                last |= _latin_names(names)
    extra = yaml.safe_load(EXTRA_NAMES_FILE.read_text(encoding="utf-8")) or {}
    first |= _latin_names(extra.get("first_names") or [])
    last |= _latin_names(extra.get("last_names") or [])
    lorem = importlib.import_module("faker.providers.lorem.en_US").Provider
    countries = importlib.import_module("faker.providers.address.en_US").Provider.countries
    name_words = yaml.safe_load(NAME_WORDS_FILE.read_text(encoding="utf-8")) or {}
    names_and_words = {_fold(w) for w in name_words.get("names_and_words") or []}
    # Countries that are also first names ("Jordan", "India") are names only with context, like months.
    context_only = {_fold(w) for w in name_words.get("context_only") or []} | ({_fold(c) for c in countries} & first)
    common = {_fold(w) for w in lorem.word_list} | set(STOP_WORDS)
    keep = {_fold(w) for w in keep_words if " " not in w}
    everyday = {_fold(w) for w in _read_list(COMMON_WORDS_FILE, "common_words")}
    lower_words = common | everyday | names_and_words | context_only | keep | WEEKDAYS
    return _NameLists(
        first=frozenset(first | names_and_words | context_only),
        last=frozenset(last),
        names_and_words=frozenset(names_and_words),
        context_only=frozenset(context_only - names_and_words),
        common=frozenset(common),
        lower_words=frozenset(lower_words),
        keep=frozenset(keep),
    )


def _latin_names(names: Iterable) -> set:
    """The names written in Latin letters, folded (Faker keeps some lists as name-to-weight mappings)."""
    if not isinstance(names, (list, tuple, dict)):
        return set()
    return {_fold(name) for name in names if isinstance(name, str) and LATIN_NAME.match(name)}


def _blank_nlp_engine() -> SpacyNlpEngine:
    """Presidio's spaCy engine over a blank English pipeline, loaded from a temporary folder.

    Presidio downloads a model if the named one is missing; a saved blank pipeline is a path that exists, so it is
    loaded instead, and spaCy keeps it in memory once loaded.
    """
    with tempfile.TemporaryDirectory(prefix="blank-en-") as folder:
        spacy.blank(LANGUAGE).to_disk(folder)
        engine = _LockedSpacyNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": folder}])
        engine.load()
    return engine
