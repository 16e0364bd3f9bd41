#!/usr/bin/env python3
"""summarize.py — prints meson's test log as one closing line: 'N passed, N failed, N skipped'."""
import json
import sys

counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
other = 0
with open(sys.argv[1]) as f:
    for line in f:
        r = json.loads(line).get("result")
        if r in counts:
            counts[r] += 1
        elif r in ("EXPECTEDFAIL",):
            counts["OK"] += 1
        else:
            other += 1  # TIMEOUT, ERROR, UNEXPECTEDPASS count as failures
print(f"tests: {counts['OK']} passed, {counts['FAIL'] + other} failed, {counts['SKIP']} skipped")
