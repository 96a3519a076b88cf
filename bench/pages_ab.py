"""Two checkouts of Baton side by side on one database, their requests interleaved: an
A/B of a change whose figures the machine's drift cannot move between the two sides.

    python -m bench.pages_ab --database-url URL --before /tmp/before
    python -m bench.pages_ab --database-url URL --before /tmp/before --only request-member

`--before` is a checkout of the code to compare with (`git worktree add /tmp/before
HEAD~1`); this checkout is the code after. bench.pages measures one version at a time,
and this kind of machine's speed moved by a third within an hour with the same code
(bench/RESULTS.md, issue 18 on a new machine): runs minutes apart compared the machine as
much as the change. Here each side is one worker (`python -m app.cli serve` in its
checkout) on the same database, and every round asks both the same thing (the same
request id, as the same person): before then after in even rounds, after then before in
odd ones, so neither side is always the one that finds the database's pages warm.

Two servers of the same code still differ by a few percent, process from process (where
their memory landed): an A/A run of this tool with one pair of servers put 0.3-0.6 ms
between two identical queue pages. So the sides run `--pairs` times, each time two new
servers, started in turn in the other order; both servers share the last core and the
client has the others (left to the scheduler, whichever server shared the client's core
looked slower), and both hash with the same seed.

For each of bench.pages' subjects that only read, it prints each side's p50 / p95 of the
round trip over all pairs, its worker's CPU per request, and the median of the rounds'
differences (after - before) with a 95% interval that resamples the pairs and then the
rounds within them (`paired_difference`), so a difference between two processes does not
pass for one between two versions. The subjects that write would use up each other's
tasks: for those, bench.pages on copies of one seed.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.api import tokens_for
from bench.client import summarise
from bench.load import ROOT, Server, server_env, serving
from bench.pages import POOL, ROUNDS, SUBJECTS, WARMUP, Call, Context
from bench.subjects import Subjects, discover

WRITES = frozenset({"file", "claim", "complete"})
PAIRS = 3
RESAMPLES = 2000
# Both servers on the last core, the client on the others (see the module).
_CORES = sorted(os.sched_getaffinity(0))
_ON_SERVERS_CORE = ["taskset", "-c", str(_CORES[-1])] if len(_CORES) > 1 else []

Rounds = tuple[Sequence[float], Sequence[float]]  # one pair's times: before, after
Maker = Callable[[Context], Call | None]


@dataclass(frozen=True)
class Difference:
    """The median of paired differences (after - before, ms) and its 95% interval."""

    median: float
    low: float
    high: float


def paired_difference(pairs: Sequence[Rounds], *, rng: random.Random,
                      resamples: int = RESAMPLES) -> Difference:
    """The median of every round's difference (after - before), and the 2.5th and
    97.5th percentiles of that median over `resamples` resamplings (with replacement)
    of the pairs of servers, then of the rounds within each pair drawn: an interval that
    assumes nothing about how the times are spread, and widens when the pairs disagree."""
    differences = []
    for before, after in pairs:
        if len(before) != len(after) or not before:
            raise ValueError("each pair needs as many rounds of each side, at least one")
        differences.append([b - a for a, b in zip(before, after, strict=True)])
    if not differences:
        raise ValueError("no pairs to compare")
    medians = []
    for _ in range(resamples):
        drawn = []
        for rounds in rng.choices(differences, k=len(differences)):
            drawn.extend(rng.choices(rounds, k=len(rounds)))
        medians.append(statistics.median(drawn))
    medians.sort()
    everything = [d for rounds in differences for d in rounds]
    return Difference(statistics.median(everything), medians[int(0.025 * resamples)],
                      medians[int(0.975 * resamples) - 1])


@dataclass
class Tally:
    """One subject's rounds and worker CPU, pair after pair."""

    pairs: list[Rounds] = field(default_factory=list)
    cpu_ms: dict[str, list[float]] = field(
        default_factory=lambda: {"before": [], "after": []})

    def row(self, name: str, seed: int) -> str:
        before = [t for b, _a in self.pairs for t in b]
        after = [t for _b, a in self.pairs for t in a]
        a, b = summarise(before), summarise(after)
        change = paired_difference(self.pairs, rng=random.Random(f"{seed}-{name}"))
        per_pair = ", ".join(f"{statistics.median(y) - statistics.median(x):+.2f}"
                             for x, y in self.pairs)
        cpu = {side: statistics.fmean(values) for side, values in self.cpu_ms.items()}
        return (f"| {name} | {len(before)} | {a.p50:.2f} / {a.p95:.2f} | "
                f"{b.p50:.2f} / {b.p95:.2f} | {cpu['before']:.2f} → {cpu['after']:.2f} | "
                f"{change.median:+.2f} [{change.low:+.2f}, {change.high:+.2f}] | {per_pair} |")


def _timed(call: Call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def interleave(calls: dict[str, Call], servers: dict[str, Server], tally: Tally, *,
               rounds: int, warmup: int) -> None:
    """Both sides warmed up, then `rounds` rounds asking both, into `tally`."""
    for _ in range(warmup):
        for call in calls.values():
            call()
    times: dict[str, list[float]] = {"before": [], "after": []}
    cpu = {side: server.cpu_seconds() for side, server in servers.items()}
    for round_ in range(rounds):
        for side in ("before", "after") if round_ % 2 == 0 else ("after", "before"):
            times[side].append(_timed(calls[side]))
    for side, server in servers.items():
        tally.cpu_ms[side].append((server.cpu_seconds() - cpu[side]) * 1000 / rounds)
    tally.pairs.append((times["before"], times["after"]))


@contextmanager
def two_servers(url: str, before: Path, env: dict[str, str], log: Path, *,
                before_first: bool) -> Iterator[dict[str, Server]]:
    serve = [*_ON_SERVERS_CORE, sys.executable, "-m", "app.cli", "serve"]
    # PYTHONPATH too, so that nothing a server starts finds the other checkout first.
    where = {"before": before, "after": ROOT}
    order = ("before", "after") if before_first else ("after", "before")
    with ExitStack() as stack:
        servers = {side: stack.enter_context(serving(
            serve, workers=1, log=log, cwd=where[side],
            env={**env, "PYTHONPATH": str(where[side])})) for side in order}
        yield servers


def run_pairs(url: str, before: Path, chosen: Sequence[tuple[str, Maker]],
              subjects: Subjects, args: argparse.Namespace) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    with tokens_for(url, [subjects.manager_email]) as (token,), \
            tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp:
        env = {**server_env(database_url=url, data_dir=Path(tmp), secret="b" * 40,
                            access_log=False),
               "BATON_API_REQUESTS_PER_MINUTE": "100000000", "PYTHONHASHSEED": "0"}
        for pair in range(args.pairs):
            with two_servers(url, before, env, Path(tmp) / "server.log",
                             before_first=pair % 2 == 0) as servers:
                contexts = {side: Context(url, server, subjects, args.pool, args.seed,
                                          api_headers={"Authorization": f"Bearer {token}"},
                                          rounds=args.rounds, warmup=args.warmup)
                            for side, server in servers.items()}
                try:
                    for name, make in chosen:
                        made = {side: make(context) for side, context in contexts.items()}
                        calls = {side: call for side, call in made.items() if call is not None}
                        if len(calls) < len(made):
                            print(f"(skipped {name}: nothing to time it on)", file=sys.stderr)
                            continue
                        interleave(calls, servers, tallies.setdefault(name, Tally()),
                                   rounds=args.rounds, warmup=args.warmup)
                finally:
                    for context in contexts.values():
                        context.close()
            print(f"(pair {pair + 1} of {args.pairs} done)", file=sys.stderr, flush=True)
    return tallies


def main(argv: list[str] | None = None) -> None:
    reads = [name for name, _what, _make in SUBJECTS if name not in WRITES]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--before", required=True, type=Path,
                        help="a checkout of the code to compare this one with")
    parser.add_argument("--only", help=f"comma-separated subjects of {','.join(reads)}")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="rounds a pair")
    parser.add_argument("--pairs", type=int, default=PAIRS,
                        help="pairs of servers, each started afresh")
    parser.add_argument("--warmup", type=int, default=WARMUP)
    parser.add_argument("--pool", type=int, default=POOL)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args(argv)
    only = args.only.split(",") if args.only else reads
    if unknown := set(only) - set(reads):
        parser.error(f"not subjects that only read: {', '.join(sorted(unknown))}")
    if not (args.before / "app" / "cli.py").is_file():
        parser.error(f"{args.before} is not a checkout of Baton")
    if args.pairs < 1 or args.rounds < 2:
        parser.error("at least one pair of servers and two rounds")
    chosen = [(name, make) for name, _what, make in SUBJECTS if name in only]
    subjects = discover(args.database_url, tasks_needed=0)
    print(f"{args.database_url.split(':')[0]}; before {args.before}, after {ROOT}; "
          f"{args.pairs} pairs of servers, one worker each, requests interleaved; load "
          f"average {os.getloadavg()[0]:.2f}; {time.strftime('%H:%M UTC', time.gmtime())}",
          flush=True)
    if len(_CORES) > 1:
        os.sched_setaffinity(0, _CORES[:-1])  # the client off the servers' core
    tallies = run_pairs(args.database_url, args.before, chosen, subjects, args)
    print("| subject | rounds | before p50 / p95 ms | after p50 / p95 ms | server CPU ms "
          "before → after | after - before, median of the rounds' differences [95%] | "
          "each pair's difference of medians |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, _make in chosen:
        if name in tallies:
            print(tallies[name].row(name, args.seed))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
