#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compares two `ctrace report --json` documents of the same trace, made by two builds of
ctrace (before and after a change to the analyzer): every field must be equal, except
the percentiles (a name with p50, p99 or median in it), which may differ by the
histograms' stated relative error (analyze/README.md, Definitions: Percentiles) of each
side, REL (default 1/128 + 1/256: an older build's bound plus this one's). Prints each
difference; exits 0 when there is none beyond that, 1 otherwise.
Usage: compare.py OLD.json NEW.json [REL]"""
import json
import sys


def pct_field(name):
    return any(k in name for k in ("p50", "p99", "median"))


def walk(a, b, path, rel, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in {'old' if k in a else 'new'}")
                continue
            walk(a[k], b[k], f"{path}.{k}", rel, out)
        return
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items, now {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, f"{path}[{i}]", rel, out)
        return
    if a == b:
        return
    name = path.rsplit(".", 1)[-1]
    if (pct_field(name) and isinstance(a, (int, float)) and isinstance(b, (int, float))
            and abs(a - b) <= rel * max(abs(a), abs(b)) + 1):
        return
    out.append(f"{path}: {a!r} -> {b!r}")


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    rel = float(sys.argv[3]) if len(sys.argv) == 4 else 1 / 128 + 1 / 256
    with open(sys.argv[1]) as f:
        old = json.load(f)
    with open(sys.argv[2]) as f:
        new = json.load(f)
    out = []
    walk(old, new, "", rel, out)
    for line in out[:50]:
        print(line)
    if len(out) > 50:
        print(f"... and {len(out) - 50} more")
    print(f"{sys.argv[2]}: {len(out)} difference(s) beyond the percentiles' error")
    return 1 if out else 0


if __name__ == "__main__":
    sys.exit(main())
