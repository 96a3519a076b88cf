"""The results as Markdown, one table per database and size, ready for bench/RESULTS.md."""

from dataclasses import dataclass, field

from bench.measure import Row

NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass
class Table:
    kind: str
    size: int
    machine: str
    notes: list[str]  # lines about the data and how it was loaded
    rows: list[Row]
    rss: dict[str, dict[int, list[float]]] = field(default_factory=dict)  # app → workers → MiB


def _ms(row: Row, name: str) -> str:
    return f"{getattr(row.latency, name):.1f}" if row.latency else "–"


def _cpu(row: Row) -> str:
    return f"{row.cpu_ms:.1f}" if row.cpu_ms is not None else "–"


def _pair(values: dict[int, float], style: str = ",.0f") -> str:
    return " / ".join(format(values[w], style) if w in values else "–" for w in (1, 2))


def _ratios(row: Row) -> dict[int, float]:
    return {w: row.rps[w] / row.baseline[w] for w in row.rps if row.baseline.get(w)}


def _rss(peaks: dict[int, list[float]]) -> str:
    return "; ".join(f"{w} worker{'s' if w > 1 else ''}: "
                     + ", ".join(f"{mib:.0f}" for mib in peaks[w]) + " MiB"
                     for w in sorted(peaks))


def markdown(table: Table) -> str:
    lines = [f"### {NAMES[table.kind]}, {table.size:,} requests", "",
             f"Machine: {table.machine}.", ""]
    lines += [f"- {note}" for note in table.notes]
    lines += ["", "| page | bytes | p50 ms | p95 ms | p99 ms | server CPU ms | req/s 1 worker "
              "| req/s 2 workers | baseline req/s (1 / 2 workers) | of baseline (1 / 2 workers) |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in table.rows:
        mark = " †" if row.sequential else ""
        lines.append(
            f"| {row.name}{mark} | {row.size:,} | {_ms(row, 'p50')} | {_ms(row, 'p95')} "
            f"| {_ms(row, 'p99')} | {_cpu(row)} | {row.rps.get(1, 0):,.0f} "
            f"| {row.rps.get(2, 0):,.0f} "
            f"| {_pair(row.baseline)} | {_pair(_ratios(row), '.2%')} |")
    lines += ["", "† a sequential client (one request at a time), so req/s is 1 / mean "
              "latency; its baseline is the same client posting to the baseline app.",
              "Server CPU ms: the one worker's CPU time (user + system) during the latency "
              "run, per request: the page's own cost, which other work on the machine's "
              "cores does not inflate as it does the latencies.", ""]
    lines += [f"Peak RSS per worker (VmHWM), {app}: {_rss(peaks)}."
              for app, peaks in table.rss.items()]
    return "\n".join(lines) + "\n"
