"""Starsim, run side by side on the same machine, as the speed reference for `neighsim bench`.

A simpler model than neighsim's (births, deaths and one non-communicable disease), for the same
number of agents (the whole ICS, 1.17 million) and 61 monthly steps (April 2026 to April 2031), on
one core. Starsim is a benchmark extra (`pip install -e .[bench]`), never a runtime dependency.

    python benchmarks/peer_starsim.py [--agents 1171206] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("STARSIM_INSTALL_FONTS", "0")
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # one core, as neighsim's one-thread figure


def run(agents: int = 1_171_206) -> dict:
    import starsim as ss

    sim = ss.Sim(n_agents=agents, start="2026-04-01", stop="2031-04-01", dt=ss.month, rand_seed=1,
                 diseases=ss.NCD(), demographics=[ss.Births(), ss.Deaths()], verbose=0)
    t0 = time.perf_counter()
    sim.init()
    t1 = time.perf_counter()
    sim.run()
    t2 = time.perf_counter()
    return {"starsim_version": ss.__version__, "agents": agents, "steps": int(sim.t.npts),
            "init_seconds": round(t1 - t0, 2), "starsim_seconds": round(t2 - t1, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", type=int, default=1_171_206)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = run(args.agents)
    print(json.dumps(res, indent=2) if args.json else
          f"Starsim {res['starsim_version']}: {res['agents']:,} agents x {res['steps']} steps in "
          f"{res['starsim_seconds']} s (init {res['init_seconds']} s)")


if __name__ == "__main__":
    main()
