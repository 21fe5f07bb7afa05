"""Ray scaling: tasks per second and parallel efficiency for 1, 2, 4, ... workers.

    python benchmarks/scaling.py --workers 1 2 4 8 16 --replicates 16 [--scale 1.0] [--json out.json]

Each run is a real experiment (baseline x replicates x neighbourhoods, one task per neighbourhood and
replicate) written to a temporary folder; the summary of every run must be identical (checked).
Efficiency at w workers = throughput(w) / (w x throughput(1)).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import pandas as pd

from neighsim.config import load_config
from neighsim.runner.experiment import read_summary, run_experiment


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--replicates", type=int, default=4)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--la", action="append", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    pop = {"scale": args.scale}
    if args.la:
        pop["local_authorities"] = args.la
    cfg = load_config(population=pop)
    rows, first = [], None
    for w in args.workers:
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            res = run_experiment(cfg, d, replicates=args.replicates, backend="ray", workers=w, chunk=1,
                                 progress=False)
            secs = time.perf_counter() - t0
            summary = read_summary(d)
        tasks = res["manifest"]["tasks"]
        if first is None:
            first = summary
        else:
            pd.testing.assert_frame_equal(first, summary)  # identical whatever the worker count
        rows.append({"workers": w, "tasks": tasks, "seconds": round(secs, 2),
                     "tasks_per_second": round(tasks / secs, 3),
                     "task_seconds": res["manifest"]["task_seconds"]})
    base = rows[0]["tasks_per_second"] / rows[0]["workers"]
    for r in rows:
        r["efficiency"] = round(r["tasks_per_second"] / (r["workers"] * base), 3)
    print(pd.DataFrame(rows).to_string(index=False))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
