"""The workbench: `neighsim serve` starts a local web app (Solara) to set up, run and compare scenarios.

- inputs.py: the area, run settings and scenario forms as plain data; checks with the files' schemas;
  the cache key; the optimiser panel's request (`neighsim optimise` in the page) and its key.
- jobs.py: the background worker process, the cache of finished runs, progress.
- results.py: headline, economics, charts and the map's measures from a run's summary.
- agents.py: Mesa's agent view of one neighbourhood (Resident agents, AgentSet, DataCollector).
- app.py: the Solara page. server.py: the web server (local by default).

See docs/workbench.md.
"""

from .inputs import (
           DEFAULT_SCALE,
           Area,
           InputError,
           OptimiseRequest,
           RunRequest,
           RunSettings,
           cache_key,
           optimise_key,
)

__all__ = ["DEFAULT_SCALE", "Area", "InputError", "OptimiseRequest", "RunRequest", "RunSettings", "cache_key",
           "optimise_key"]
