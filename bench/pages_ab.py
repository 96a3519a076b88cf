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
between two identical queue pages. So the sides run `--pairs` times (5 by default), each
time two new servers, started in turn in the other order; both servers share the last
core and the client has the others (left to the scheduler, whichever server shared the
client's core looked slower), both hash with the same seed, and after each answer the
client waits until that server's CPU stops (it closes its session after answering),
so that work is never timed as the other side's.

For each of bench.pages' subjects, it prints each side's p50 / p95 of the round trip
over all pairs, its worker's CPU per request, each pair's median difference (after -
before) and their mean with a 95% t interval over the pairs (`paired_difference`): the
pair of servers is the unit, so a difference between two processes does not pass for
one between two versions.

The subjects that write (`file`, `claim`, `complete`; only when named in `--only`) change
the database: run them on a copy of a seed. Both sides file the same form, each with
its own one-time keys; each side claims, then completes, tasks of its own, the after
side the ones after the before side's in the same team's newest open tasks. Every pair
uses up 2 x (warmup + rounds) of that team's open tasks: at 20k the busiest team has a
few hundred, at 1M tens of thousands.
"""

import argparse
import os
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
PAIRS = 5
# Both servers on the last core, the client on the others (see the module).
_CORES = sorted(os.sched_getaffinity(0))
_ON_SERVERS_CORE = ["taskset", "-c", str(_CORES[-1])] if len(_CORES) > 1 else []

Rounds = tuple[Sequence[float], Sequence[float]]  # one pair's times: before, after
Maker = Callable[[Context], Call | None]


@dataclass(frozen=True)
class Difference:
    """The mean over the pairs of servers of each pair's median difference (after -
    before, ms), and its 95% interval."""

    mean: float
    low: float
    high: float


# Student's t, 97.5th percentile, by degrees of freedom (1-30; the normal's beyond).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201,
         2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074,
         2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def median_difference(before: Sequence[float], after: Sequence[float]) -> float:
    """The median of one pair's rounds' differences (after - before)."""
    if len(before) != len(after) or not before:
        raise ValueError("each pair needs as many rounds of each side, at least one")
    return statistics.median(later - earlier
                             for earlier, later in zip(before, after, strict=True))


def paired_difference(pairs: Sequence[Rounds]) -> Difference:
    """Each pair's median of its rounds' differences (after - before), and a t interval
    over the pairs: the pair of servers, not the round, is the unit, since two processes
    of the same code differ by more than a round's noise averages out (resampling the
    rounds, or even three pairs' worth of them, put an interval clear of 0 between
    identical servers one time in five)."""
    medians = [median_difference(before, after) for before, after in pairs]
    if len(medians) < 2:
        raise ValueError("an interval needs two pairs of servers or more")
    mean = statistics.fmean(medians)
    degrees = len(medians) - 1
    spread = _T975[degrees - 1] if degrees <= len(_T975) else 1.96
    half = spread * statistics.stdev(medians) / len(medians) ** 0.5
    return Difference(mean, mean - half, mean + half)


@dataclass
class Tally:
    """One subject's rounds and worker CPU, pair after pair."""

    pairs: list[Rounds] = field(default_factory=list)
    cpu_ms: dict[str, list[float]] = field(
        default_factory=lambda: {"before": [], "after": []})

    def row(self, name: str) -> str:
        before = [t for b, _a in self.pairs for t in b]
        after = [t for _b, a in self.pairs for t in a]
        a, b = summarise(before), summarise(after)
        change = paired_difference(self.pairs)
        per_pair = ", ".join(f"{median_difference(*pair):+.2f}" for pair in self.pairs)
        cpu = {side: statistics.fmean(values) for side, values in self.cpu_ms.items()}
        return (f"| {name} | {len(before)} | {a.p50:.2f} / {a.p95:.2f} | "
                f"{b.p50:.2f} / {b.p95:.2f} | {cpu['before']:.2f} → {cpu['after']:.2f} | "
                f"{change.mean:+.2f} [{change.low:+.2f}, {change.high:+.2f}] | {per_pair} |")


def _timed(call: Call, server: Server) -> float:
    started = time.perf_counter()
    call()
    took = (time.perf_counter() - started) * 1000
    _settled(server)
    return took


def _cpu_ns(server: Server) -> int:
    total = 0
    for pid in server.worker_pids():
        for thread in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{thread}/schedstat") as stat:
                    total += int(stat.read().split()[0])
            except FileNotFoundError:  # a thread that has just ended
                pass
    return total


def _settled(server: Server, *, quiet_s: float = 0.0003, at_most_s: float = 0.02) -> None:
    """Waits until the server that just answered stops using CPU (it closes its
    session after the answer is sent): on the core both servers share, that work would
    otherwise be timed as the other side's."""
    deadline = time.perf_counter() + at_most_s
    used = _cpu_ns(server)
    while time.perf_counter() < deadline:
        time.sleep(quiet_s)
        now = _cpu_ns(server)
        if now == used:
            return
        used = now


def interleave(calls: dict[str, Call], servers: dict[str, Server], tally: Tally, *,
               rounds: int, warmup: int) -> None:
    """Both sides warmed up, then `rounds` rounds asking both, into `tally`."""
    for _ in range(warmup):
        for side, call in calls.items():
            _timed(call, servers[side])
    times: dict[str, list[float]] = {"before": [], "after": []}
    cpu = {side: server.cpu_seconds() for side, server in servers.items()}
    for round_ in range(rounds):
        for side in ("before", "after") if round_ % 2 == 0 else ("after", "before"):
            times[side].append(_timed(calls[side], servers[side]))
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
            serve, workers=1, log=log.with_name(f"{side}.log"), cwd=where[side],
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
                                          rounds=args.rounds, warmup=args.warmup,
                                          tasks_skipped=0 if side == "before"
                                          else args.warmup + args.rounds)
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
    names = [name for name, _what, _make in SUBJECTS]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--before", required=True, type=lambda text: Path(text).resolve(),
                        help="a checkout of the code to compare this one with")
    parser.add_argument("--only", help=f"comma-separated subjects of {','.join(names)} "
                        f"(by default those that only read; the writes on a copy)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="rounds a pair")
    parser.add_argument("--pairs", type=int, default=PAIRS,
                        help="pairs of servers, each started afresh")
    parser.add_argument("--warmup", type=int, default=WARMUP)
    parser.add_argument("--pool", type=int, default=POOL)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args(argv)
    only = args.only.split(",") if args.only else reads
    if unknown := set(only) - set(names):
        parser.error(f"unknown subjects: {', '.join(sorted(unknown))}")
    if not (args.before / "app" / "cli.py").is_file():
        parser.error(f"{args.before} is not a checkout of Baton")
    if args.pairs < 2 or args.rounds < 2:
        parser.error("at least two pairs of servers (for an interval) and two rounds")
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
          "before → after | after - before, mean of the pairs' median differences [95%] | "
          "each pair's median difference |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, _make in chosen:
        if name in tallies:
            print(tallies[name].row(name))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
