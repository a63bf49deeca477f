#!/usr/bin/env python3
"""Writes N clippings as jsonl to standard output, for timing `fieldsync import` and
`fieldsync bundle import` (docs/benchmarks.md, "Second round"): titles and bodies of words
drawn from the fixture digest at its word frequencies, about 3.4 KB a line, no two alike.

    bench/synthetic_jsonl.py 100000 > c.jsonl
"""
import json
import pathlib
import random
import sys

FIXTURE = pathlib.Path(__file__).resolve().parent.parent / "tests/fixtures/icrtop-listserv-2013-01-11.txt"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    words = FIXTURE.read_text(encoding="utf-8").split()
    per_clipping = len(words) // 12  # the fixture holds twelve clippings
    rng = random.Random(7)
    out = sys.stdout
    for i in range(count):
        title = " ".join(rng.choice(words) for _ in range(10))
        length = per_clipping // 2 + rng.randrange(per_clipping)
        body = " ".join(rng.choice(words) for _ in range(length))
        out.write(json.dumps({
            "title": title,
            "body": body,
            "source": "IRIN",
            "published": "2013-01-%02d" % (10 + i % 20),
            "url": "https://example.org/%d" % i,
            "tags": ["region:mali"],
        }) + "\n")


if __name__ == "__main__":
    main()
