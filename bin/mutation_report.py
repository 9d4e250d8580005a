#!/usr/bin/env python3
"""Per-module kill rate of the last `mutmut run`, less the excluded mutants.

mutmut prints one total for every module; the target (docs/mutation-testing.md) is per module.
The excluded mutants (message text, equivalent) are listed in that document, one a line as
``- `satismeter_app.rules.x_name__mutmut_3`: reason``, so the list and its reasons have one home.

Exits 1 when a module is under the target, or when an excluded mutant was killed or no longer
exists (the list would be stale).
"""

import argparse
import json
import re
import sys
from pathlib import Path

DETECTED = {1, 3, 36, 37, -24, 24, 152, 255}  # killed, pytest error, timeout, type check
EXCLUDED_LINE = re.compile(r"^- `(satismeter_app\.[\w.]+__mutmut_\d+)`")


def excluded_mutants(document: Path) -> set[str]:
    lines = document.read_text(encoding="utf-8").splitlines()
    return {match[1] for line in lines if (match := EXCLUDED_LINE.match(line))}


def exit_codes(meta: Path) -> dict[str, int | None]:
    return json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]


def report(mutants: Path, excluded: set[str], target: float) -> bool:
    ok, seen = True, set()
    print(f"{'module':<28} {'killed':>7} {'total':>6} {'excluded':>9} {'score':>7}")
    for meta in sorted(mutants.glob("satismeter_app/*.py.meta")):
        codes = exit_codes(meta)
        counted = {name: code for name, code in codes.items() if name not in excluded}
        killed = sum(code in DETECTED for code in counted.values())
        score = 100 * killed / len(counted) if counted else 100.0
        module = str(meta.relative_to(mutants)).removesuffix(".meta")
        dropped = len(codes) - len(counted)
        print(f"{module:<28} {killed:>7} {len(codes):>6} {dropped:>9} {score:>6.1f}%")
        for name, code in sorted(counted.items()):
            if code not in DETECTED:
                print(f"    not killed ({'not run' if code is None else code}): {name}")
        for name in sorted(set(codes) & excluded):
            if codes[name] in DETECTED:
                print(f"    excluded but killed, remove it from the list: {name}")
                ok = False
        seen |= set(codes)
        ok = ok and score >= target
    for name in sorted(excluded - seen):
        print(f"    excluded but no such mutant, remove it from the list: {name}")
        ok = False
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=Path, default=Path("mutants"))
    parser.add_argument("--excluded", type=Path, default=Path("docs/mutation-testing.md"))
    parser.add_argument("--target", type=float, default=95.0, help="per module, in percent")
    args = parser.parse_args()
    if not any(args.mutants.glob("satismeter_app/*.py.meta")):
        print("No mutation results: run `make mutate` first.", file=sys.stderr)
        return 2
    excluded = excluded_mutants(args.excluded) if args.excluded.exists() else set()
    return 0 if report(args.mutants, excluded, args.target) else 1


if __name__ == "__main__":
    sys.exit(main())
