"""Peak memory of the summary of a whole-ICS PSA with many draws (issue 10: at most 2 GB for 200).

Running 400 whole-ICS tasks to measure the summary would take an hour, and the summary's memory does
not depend on the numbers in the tasks, only on their number and size. So this takes one real
baseline task and one real scenario task of the whole ICS from an output folder (for example the
demo's), writes them as draws 0..N-1 of a PSA into a fresh folder (with each draw's own replicate and
draw labels), and times `write_summary` over all of them, reporting the peak resident memory of the
process (population included, as in a real run).

    python benchmarks/summary_memory.py out/demo --draws 200 --scenario combined
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path

import pandas as pd

from neighsim.config import load_config
from neighsim.parameters import load_parameters
from neighsim.runner.experiment import make_tasks
from neighsim.runner.summarise import write_summary
from neighsim.runner.tasks import get_population


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", help="output folder with whole-ICS tasks (e.g. out/demo)")
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--scenario", default="combined")
    ap.add_argument("--work", default="out/summary-memory")
    args = ap.parse_args()
    src = Path(args.source)
    manifest = json.loads((src / "manifest.json").read_text())
    cfg = load_config(seed=manifest["seed"])
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    (work / "tasks").mkdir(parents=True)
    pop = get_population(cfg)
    nbs = pop.geography.neighbourhood_ids()
    tasks = make_tasks(["baseline", args.scenario], args.draws, nbs, True, None)
    originals = {}
    for name in ("baseline", args.scenario):
        key = next(k for k in manifest["task_keys"] if k.startswith(f"{name}__r0000"))
        originals[name] = {kind: pd.read_parquet(src / "tasks" / f"{key}.{kind}.parquet")
                           for kind in ("counts", "lifetable")}
    t0 = time.perf_counter()
    for t in tasks:
        for kind, df in originals[t.scenario].items():
            df.assign(replicate=t.replicate, param_draw=t.param_draw).to_parquet(
                work / "tasks" / f"{t.key}.{kind}.parquet", index=False)
    print(f"wrote {len(tasks)} task files in {time.perf_counter() - t0:.0f} s")
    del originals
    t1 = time.perf_counter()
    write_summary(cfg, work, "baseline", tasks, load_parameters(cfg.parameters_dir()))
    seconds = time.perf_counter() - t1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"runs": len(tasks), "draws": args.draws, "summary_seconds": round(seconds, 1),
                      "peak_memory_mb": round(peak), "summary_rows": sum(1 for _ in open(work / "summary.csv")) - 1,
                      "replicates_parquet_mb": round((work / "replicates.parquet").stat().st_size / 2**20, 1)}))


if __name__ == "__main__":
    main()
