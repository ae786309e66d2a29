"""Many users at once for a minute: handler latency and "database is locked" (must be 0).

    .venv/bin/python -m bench.concurrency [--seconds 60] [--users 200] [--seed 0]

The long form of tests/test_concurrency.py (read its docstring for the scenario): 200 members
in closed loops of about one action a second through the real Application and its update
processor, the delivery engine sending broadcasts meanwhile, and a second SQLite connection
writing and taking online backups. Prints throughput, p50/p95/p99/max latency overall and per
action, and the "database is locked" count; exit status 1 if that count or the number of
errors is not 0.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from tests.test_concurrency import run_load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"{args.users} users for {args.seconds:.0f} s")
    with tempfile.TemporaryDirectory() as folder:
        result = asyncio.run(run_load(Path(folder), args.seconds, args.users, args.seed))
    ok = result.locked == 0 and not result.errors
    for error in result.errors[:10]:
        print("error:", error)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
