"""How long the phrase generators take: 1000 near-miss phrases per wake word.

    .venv/bin/python benchmarks/text.py

Printed per wake word: seconds for `adversarial_phrases(word, 1000)` (the quick preset
asks for about that many), and the ratio to "hey jarvis" measured in the same run, after a warm-up
that loads the pronunciation dictionary once.
The target is a few seconds per word on a 2-core machine (it runs once per project).
"""

from __future__ import annotations

import time

from easy_oww.text import adversarial_phrases

WORDS = ("hey jarvis", "hey zorbly", "alexa", "ok computer", "hey mycroft")


def main() -> int:
    start = time.perf_counter()
    adversarial_phrases("hey there", 10, seed=0)  # loads the pronouncing dictionary
    print(f"{'(warm-up)':<14}{'':>6}         {time.perf_counter() - start:>7.2f} s")
    base = None
    for word in WORDS:
        start = time.perf_counter()
        out = adversarial_phrases(word, 1000, seed=0)
        seconds = time.perf_counter() - start
        base = base or seconds
        print(f"{word:<14}{len(out):>6} phrases {seconds:>7.2f} s  x{seconds / base:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
