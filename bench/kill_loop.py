"""kill -9 loop against the local fake Bot API, long form of tests/test_resilience_kill.py.

    .venv/bin/python -m bench.kill_loop [--rounds 50] [--members 200] [--seed N]

Each round queues a broadcast to a sector team, starts the real bot process, kills it with
SIGKILL at random points (1-3 times: before the first send or after a random number of sends,
with refusals, token-echoing 5xx answers and slow answers mixed in) and restarts it until the
notice is settled. Prints per round and in total: the most copies any chat got (must be 1),
the states of the copies (unknown/failed/blocked for every missing one, nothing pending) and
`PRAGMA integrity_check`. Exit status 1 if any round breaks a promise or the token leaked.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.fake_api_server import FakeApiServer
from tests.test_resilience_kill import TOKEN, KillLoop, RoundResult


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"kill -9 loop: {args.rounds} rounds, {args.members} members, seed {seed}")
    began = time.monotonic()
    results: list[RoundResult] = []
    with tempfile.TemporaryDirectory() as folder, FakeApiServer(token=TOKEN) as server:
        loop = KillLoop(server, Path(folder), members=args.members, rng=rng)
        try:
            for number in range(1, args.rounds + 1):
                result = loop.run_round(number, kills=rng.randint(1, 3))
                results.append(result)
                print(result.line(), flush=True)
        finally:
            loop.bot.close()
        leaked = loop.leaked_token()
        server_errors = list(server.errors)
    total: Counter[str] = Counter()
    for result in results:
        total.update(result.states)
    kills = sum(result.kills for result in results)
    failed_rounds = [result.number for result in results if not result.ok]
    print(
        f"total: rounds={len(results)} kills={kills} "
        f"max copies/chat={max((r.max_copies for r in results), default=0)} "
        + " ".join(f"{state}={n}" for state, n in sorted(total.items()))
        + f" unknown per kill={total['unknown'] / max(kills, 1):.1f}"
        f" uncounted={sum(r.missing_uncounted for r in results)}"
        f" integrity ok={sum(r.integrity == 'ok' for r in results)}/{len(results)}"
        f" token leaked={leaked} {time.monotonic() - began:.0f}s"
    )
    ok = not failed_rounds and not leaked and not server_errors
    print("PASS" if ok else f"FAIL: rounds {failed_rounds} server errors {server_errors}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
