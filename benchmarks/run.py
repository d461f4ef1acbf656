"""``python -m benchmarks.run [name ...]``: run the named benchmarks (default: all but seeding_scale)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "seeding": "benchmarks.seeding",
    "import_time": "benchmarks.import_time",
    "triggers": "benchmarks.triggers",
    "seeding_e2e": "benchmarks.seeding_e2e",
    # Only the shards and client-CPU part of "seeding" (which runs it too): for iterating on pacing.
    "seeding_scale": "benchmarks.seeding_scale",
}
DEFAULT = ["seeding", "seeding_e2e", "import_time", "triggers"]


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or DEFAULT
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"Unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    failed = 0
    for name in names:
        module = importlib.import_module(BENCHMARKS[name])
        failed += 0 if module.main() else 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
