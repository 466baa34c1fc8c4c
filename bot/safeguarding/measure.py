"""How well the safeguarding rule does: recall on disclosures, false alarms on everyday worries, per threshold.

    python -m bot.safeguarding.measure --model models/send-assistant.tar.gz [--dev tests/data/real_world_dev.jsonl]

Every labelled message (data/knowledge/safeguarding_examples.yml, never trained on) is parsed by the trained model,
and the NLU's blended confidence in ``safeguarding`` is read from the parse (the override's
``safeguarding_confidence``). For each candidate threshold the script prints recall and the false-alarm rate of
"a pattern matches OR the confidence reaches the threshold", and the threshold ``calibration`` picks. The held-out
messages (tests/data/safeguarding_heldout.yml, other pages) and, if given, the real-world dev set are then scored
at the configured threshold; the patterns alone and the old behaviour (patterns OR "the best guess is
safeguarding, however unsure") are shown beside it.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from bot.nlu.evaluation import classified, load_agent, load_questions, parse_all
from bot.safeguarding.calibration import CANDIDATES, choose_threshold
from bot.safeguarding.examples import EXAMPLES_FILE, HELDOUT_FILE, LabelledMessage, load_examples
from bot.safeguarding.rule import safeguarding_rule

Reading = Tuple[float, bool]  # (the NLU's confidence in safeguarding, was safeguarding its best guess)


def readings(model: str, texts: Sequence[str]) -> List[Reading]:
    """What the trained NLU says of each text, before the override decides."""
    found = []
    for parsed in asyncio.run(parse_all(load_agent(model), texts)):
        ranking = classified(parsed)
        best = ranking[0]["name"] if ranking else ""
        found.append((float(parsed.get("safeguarding_confidence") or 0.0), best == "safeguarding"))
    return found


def report(name: str, messages: Sequence[LabelledMessage], flagged: Sequence[bool]) -> None:
    """Recall and false-alarm rate, overall and per kind."""
    by_kind: Dict[Tuple[bool, str], List[bool]] = defaultdict(list)
    for message, flag in zip(messages, flagged):
        by_kind[(message.disclosure, message.kind)].append(flag)
    caught = [f for m, f in zip(messages, flagged) if m.disclosure]
    alarms = [f for m, f in zip(messages, flagged) if not m.disclosure]
    print(f"\n== {name}")
    print(f"recall {sum(caught)}/{len(caught)} = {sum(caught) / max(len(caught), 1):.1%}   "
          f"false alarms {sum(alarms)}/{len(alarms)} = {sum(alarms) / max(len(alarms), 1):.1%}")
    for (disclosure, kind), flags in sorted(by_kind.items(), key=lambda item: (not item[0][0], item[0][1])):
        label = "recall" if disclosure else "false alarms"
        print(f"  {kind:<20} {label:<13} {sum(flags):>3}/{len(flags):<3}")


def dev_messages(path: Path) -> List[LabelledMessage]:
    return [LabelledMessage(row["text"], row["topic"] == "safeguarding", row["topic"], row["source"])
            for row in load_questions(path)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a trained model, e.g. models/send-assistant.tar.gz")
    parser.add_argument("--dev", type=Path, help="also score the real-world dev set (JSONL with topic)")
    args = parser.parse_args()
    rule = safeguarding_rule()
    sets = [("labelled (calibration)", load_examples(EXAMPLES_FILE)), ("held-out", load_examples(HELDOUT_FILE))]
    if args.dev:
        sets.append(("real-world dev set", dev_messages(args.dev)))
    found = readings(args.model, [m.text for _, messages in sets for m in messages])  # one model load
    scored = {}
    for name, messages in sets:
        scored[name], found = (messages, found[:len(messages)]), found[len(messages):]
    print("pattern OR confidence >= threshold: disclosures caught / everyday messages flagged")
    print("threshold  " + "".join(f"{name[:24]:>26}" for name in scored))
    for threshold in CANDIDATES:
        cells = []
        for messages, found in scored.values():
            at = replace(rule, threshold=threshold)
            flags = [at.is_disclosure(m.text, c) for m, (c, _) in zip(messages, found)]
            caught = sum(f for f, m in zip(flags, messages) if m.disclosure)
            alarms = sum(f for f, m in zip(flags, messages) if not m.disclosure)
            cells.append(f"{caught}/{sum(m.disclosure for m in messages)} {alarms}/{sum(not m.disclosure for m in messages)}")
        print(f"  {threshold:5.2f}   " + "".join(f"{cell:>26}" for cell in cells))
    labelled, labelled_readings = scored["labelled (calibration)"]
    patterns = [rule.detector.is_disclosure(m.text) for m in labelled]
    # A joke's confidence never counts (the rule's own guard), so calibration sees it as 0.
    usable = [0.0 if rule.is_joking(m.text) else c for m, (c, _) in zip(labelled, labelled_readings)]
    chosen = choose_threshold(usable, [m.disclosure for m in labelled], patterns)
    print(f"chosen by calibration: {chosen:.2f}   configured: {rule.threshold:.2f}")
    for name, (messages, found) in scored.items():
        report(f"{name}: rule (threshold {rule.threshold:.2f})", messages,
               [rule.is_disclosure(m.text, c) for m, (c, _) in zip(messages, found)])
        report(f"{name}: patterns alone", messages, [rule.detector.is_disclosure(m.text) for m in messages])
        report(f"{name}: old behaviour (patterns OR best guess)", messages,
               [rule.detector.is_disclosure(m.text) or best for m, (_, best) in zip(messages, found)])


if __name__ == "__main__":
    main()
