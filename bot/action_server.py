"""Run the action server: ``python -m bot.action_server --actions actions`` (what ``make run`` starts).

It is rasa_sdk's own server, started without TensorFlow. The actions need none, but the redactor loads spaCy, and
spaCy's thinc imports TensorFlow only to see whether it is there: 450 MB and 3 s for each action server process. Marking
it absent before anything imports it makes thinc carry on without it (its import is wrapped in ``except
ImportError``). The Rasa server, which needs TensorFlow, is a separate process and is not affected.
"""

from __future__ import annotations

import runpy
import sys

# None in sys.modules makes `import tensorflow` raise ImportError, the way a missing package does.
sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]

if __name__ == "__main__":
    runpy.run_module("rasa_sdk", run_name="__main__", alter_sys=True)
