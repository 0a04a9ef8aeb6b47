"""Runs the guide's Python example block (example_block.py, a verbatim copy of the block in
the platform's Redis guide) unchanged, with the two names it leaves to the reader defined,
and prints what it produced as JSON for test/python/guide-example.test.ts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

BLOCK = Path(__file__).with_name("example_block.py")

# The block uses these without defining them; these are the shapes the platform passes.
results_list = [
    {"title": "AI marketing trends 2025", "url": "https://example.com/ai-trends", "score": 0.92},
    {"title": "Intent data for B2B", "url": "https://example.com/intent", "score": 0.81},
]
conversation_history = [
    {"role": "user", "content": "Find three AI marketing trends for B2B SaaS"},
    {"role": "assistant", "content": "1. Intent data 2. AI SDRs 3. Account-based video"},
]


def main() -> None:
    namespace = {"results_list": results_list, "conversation_history": conversation_history, "__name__": "guide"}
    exec(compile(BLOCK.read_text(encoding="utf-8"), str(BLOCK), "exec"), namespace)
    produced = {name: namespace[name] for name in ("session", "content", "cached", "job", "allowed", "history")}
    json.dump({"inputs": {"results_list": results_list, "conversation_history": conversation_history},
               "produced": produced}, sys.stdout)
    namespace["redis"].close()


if __name__ == "__main__":
    main()
