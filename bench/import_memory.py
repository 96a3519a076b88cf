"""What Baton's own modules add to a worker's memory as they are imported (issue 18's
memory target: where the megabytes between the fixed stack and `app.main` go).

    python -m bench.import_memory [--top 15]

In a fresh interpreter that has imported the fixed stack a SQLite worker has (FastAPI,
uvicorn, SQLAlchemy, SQLModel, Jinja2, pydantic-settings, argon2), `app.main` is
imported with every module's import timed in RSS: each module is charged what its own
body added, its imports' excluded (a library first imported by one of Baton's modules
is charged as its own line). It prints the total, the modules that added the most, and
the sum by package. RSS grows in pages and glibc's heap in steps, so one module's figure
is rough; the sums are not.
"""

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

_MEASURE = r'''
import importlib.abc, json, sys
import fastapi, uvicorn, sqlalchemy.orm, sqlmodel, jinja2, jinja2_fragments
import pydantic_settings, argon2, multipart

def rss():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) for l in status if l.startswith("VmRSS:")) / 1024

own, stack = {}, []

class Charged(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is None:
                continue
            loader = spec.loader
            if loader is not None and hasattr(loader, "exec_module"):
                run = loader.exec_module
                def exec_module(module, run=run, name=name):
                    stack.append([name, 0.0]); before = rss()
                    try:
                        run(module)
                    finally:
                        _, children = stack.pop(); added = rss() - before
                        own[name] = own.get(name, 0.0) + added - children
                        if stack:
                            stack[-1][1] += added
                loader.exec_module = exec_module
            return spec
        return None

sys.meta_path.insert(0, Charged())
began = rss()
import app.main
print(json.dumps({"before": began, "after": rss(), "own": own}))
'''


def measure() -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", _MEASURE], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).parent.parent)
    return json.loads(done.stdout.splitlines()[-1])


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "app" else parts[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    found = measure()
    own: dict[str, float] = found["own"]  # type: ignore[assignment]
    print(f"RSS before app.main {found['before']:.1f} MiB, after {found['after']:.1f}: "
          f"+{found['after'] - found['before']:.1f} MiB "  # type: ignore[operator]
          f"over {sum(1 for m in own if m.startswith('app'))} of Baton's modules "
          f"and {sum(1 for m in own if not m.startswith('app'))} of libraries'\n")
    print("| module | MiB its import added |\n|---|---:|")
    for module, mib in sorted(own.items(), key=lambda item: -item[1])[:args.top]:
        print(f"| {module} | {mib:.2f} |")
    by_package: Counter[str] = Counter()
    for module, mib in own.items():
        by_package[package_of(module)] += mib
    print("\n| package | MiB |\n|---|---:|")
    for package, mib in by_package.most_common():
        if mib >= 0.05:
            print(f"| {package} | {mib:.2f} |")


if __name__ == "__main__":
    main()
