"""Try NLU settings on the real-world dev set in seconds, without retraining Rasa for each one.

Why: one Rasa training takes minutes, and a blend weight or a fallback threshold needs a dozen tries. This parses
every dev question once with a model trained without the meaning classifier (DIET's own ranking), embeds it once, fits the meaning classifier on the
training data as ``bot.nlu.meaning_classifier`` would, then replays the choice of answer for each setting and
judges the reply with the scorer's own rules (``../shared/eval/score.py``). The final figures always come from
``score.py`` against a running assistant; this only narrows the search.

    .venv/bin/rasa train nlu --config CONFIG_WITHOUT_MEANING.yml --out /tmp/diet --fixed-model-name diet
    .venv/bin/python -m tests.eval.offline --model /tmp/diet/diet.tar.gz tests/data/real_world_dev.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import sys
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
MEANING = "MeaningClassifier"


@lru_cache(maxsize=1)
def _knowledge() -> Any:
    from bot.knowledge import load_knowledge

    return load_knowledge()


def reply_for(intent: str, ranking: List[Dict[str, Any]]) -> str:
    """What the assistant would send for ``intent`` (approximately: forms and the survey offer are summarised)."""
    from actions.fallback import parent_of_close_pair, suggested_topics

    knowledge = _knowledge()
    titles = dict(knowledge.titles)

    def answer(topic: str) -> str:
        try:
            parts = knowledge.answer(topic, when="from 1 January 2027", universal_start="1 April 2027",
                                     two_year_start="1 April 2026", requested="1 November 2026",
                                     decide_assess="13 December 2026", missed="decide", issue_final="21 March 2027")
        except KeyError:
            parts = []
        return "\n".join(parts + [titles.get(t, "") for t in knowledge.follow_ups.get(topic, ())])

    if intent == "nlu_fallback":
        if ranking and ranking[0]["name"] == "out_of_scope":
            return answer("out_of_scope")
        topics = suggested_topics(ranking, titles)
        parent = parent_of_close_pair(topics, dict(knowledge.follow_ups))
        if parent:
            return answer(parent)
        return "Sorry, I'm not sure what you're asking. Is it one of these?\n" + "\n".join(
            titles[t] for t in [*topics, "human_handoff"])
    if intent == "give_feedback":
        return "Thank you for telling us. Would you answer a short survey?"
    if intent == "check_funding":
        return answer("check_funding") + "\nWhat is your child's date of birth?"
    return answer(intent)


def encode(texts: Sequence[str]) -> np.ndarray:
    from bot.nlu.meaning_classifier import encoder

    return encoder().encode(list(texts))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("questions", nargs="+")
    parser.add_argument("--model", required=True, help="a model trained without the meaning classifier")
    parser.add_argument("--show", action="store_true", help="print the failures of the best setting")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sys.path.insert(0, str(ROOT))
    from rasa.shared.nlu.training_data.loading import load_data
    from sklearn.linear_model import LogisticRegression

    from bot.nlu.evaluation import classified, load_agent, load_questions, parse_all, uses_component
    from bot.nlu.meaning_classifier import blend, softmax
    from tests.eval.scorer import load_scorer
    from bot.safeguarding import DisclosureDetector

    score = load_scorer()
    questions = load_questions(*args.questions)
    texts = [q["text"] for q in questions]
    agent = load_agent(args.model)
    if uses_component(agent, MEANING):
        # Its ranking is blended already, and would be blended again below: train one without it.
        sys.exit(f"{args.model} runs the {MEANING}: give --model a model trained with config.yml minus that "
                 "component (rasa train nlu --config FILE --out DIR)")
    rankings = [classified(parsed) for parsed in asyncio.run(parse_all(agent, texts))]
    training = [m for m in load_data(str(ROOT / "data" / "nlu")).intent_examples if m.get("text")]
    train_vectors = encode([m.get("text") for m in training])
    detector = DisclosureDetector.from_file()

    replies: Dict[Tuple[str, Tuple[str, ...]], str] = {}

    def judged(q: Dict[str, Any], intent: str, ranking: List[Dict[str, Any]]) -> bool:
        key = (intent, tuple(e["name"] for e in ranking[:4]) if intent == "nlu_fallback" else ())
        if key not in replies:
            replies[key] = reply_for(intent, ranking)
        return score.judge(q["topic"], replies[key], q.get("expect")) is None

    message_vectors = encode(texts)
    results = []
    for c in (1.0, 4.0, 16.0, 64.0):
        model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit(
            train_vectors, [m.get("intent") for m in training])
        for weight, threshold in itertools.product((0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 1.0), (0.2, 0.3, 0.4, 0.5)):
            per = defaultdict(lambda: [0, 0])
            failures = []
            for index, q in enumerate(questions):
                probabilities = softmax(message_vectors[index] @ model.coef_.T + model.intercept_)
                meaning = {name: float(p) for name, p in zip(model.classes_, probabilities)}
                ranking = blend(rankings[index], meaning, weight)
                intent = ranking[0]["name"] if ranking[0]["confidence"] >= threshold else "nlu_fallback"
                if detector.is_disclosure(q["text"]):
                    intent = "safeguarding"
                ok = judged(q, intent, ranking)
                per[q["topic"]][0] += ok
                per[q["topic"]][1] += 1
                if not ok:
                    failures.append((q["topic"], intent, q["text"]))
            total = sum(v[0] for v in per.values()) / len(questions)
            results.append((total, c, weight, threshold, per, failures))
    results.sort(key=lambda r: -r[0])
    for total, c, weight, threshold, _, _ in results[:12]:
        print(f"score {total:.3f}  C={c} weight={weight} fallback={threshold}")
    base = [r for r in results if r[2] == 0.0 and r[3] == 0.4 and r[1] == 1.0][0]
    print(f"DIET alone (fallback 0.4): {base[0]:.3f}")
    best = results[0]
    for topic, (ok, n) in sorted(best[4].items()):
        print(f"  {topic:22} {ok:3}/{n}")
    if args.show:
        for topic, intent, text in best[5]:
            print(f"[{topic}] got {intent}: {text[:150]}")
    print(Counter(f[1] for f in best[5]).most_common(10))
    alarms = [f for f in best[5] if f[1] == "safeguarding"]
    print(f"false alarms (safeguarding sent to a non-disclosure): {len(alarms)}")
    for topic, intent, text in alarms:
        print(f"  [{topic}] {text[:140]}")


if __name__ == "__main__":
    main()
