"""Mesa's agent view of one neighbourhood: a sample of Resident agents and their states month by month.

The model is the engine's own `NeighbourhoodModel` (a `mesa.Model`) built with `agents="sample"`: the
sample are `Resident` agents (`mesa.Agent` views onto rows of the cohort arrays), registered in the
model's Mesa `AgentSet` (`model.agents`). A Mesa `DataCollector` with agent reporters records them at the
start and after every month, and `AgentSet.groupby` counts them by state, exactly as a Mesa model would.
(Mesa's own Solara components, `mesa.visualization`, draw agents on a grid or network space and need
altair; the residents have no space, so the page shows the collected table and plots of it instead.)
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..errors import NeighsimError

REPORTERS = {
    "resident_id": "resident_id", "alive": "alive", "age": "age", "sex": "sex", "imd_decile": "imd_decile",
    "smoking": "smoking_status", "frailty": "frailty_category", "long_term_conditions": "ltc_count",
    "fuel_poor": "fuel_poor",
}
MAX_SAMPLE = 500
MAX_MONTHS = 60


def agent_states(cfg: Any, neighbourhood: str, scenarios: list[dict[str, Any]], scenario: str | None,
                 sample: int = 100, months: int = 24) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(states, counts). states: one row per sampled resident and month (0 = the start) with the columns
    of REPORTERS, `month`, `date` and `agent` (Mesa's unique_id), from a Mesa DataCollector. counts: per
    month, the living sampled residents by frailty and by smoking, from `AgentSet.groupby`."""
    import mesa

    from ..api import load_scenarios
    from ..config import neighbourhood_table, resolve_neighbourhoods
    from ..model import NeighbourhoodModel
    from ..runner.tasks import get_population

    if not 1 <= int(sample) <= MAX_SAMPLE:
        raise NeighsimError(f"agent view: sample size must be 1 to {MAX_SAMPLE}, got {sample}")
    if not 1 <= int(months) <= min(MAX_MONTHS, cfg.time.months):
        raise NeighsimError(f"agent view: months must be 1 to {min(MAX_MONTHS, cfg.time.months)}, got {months}")
    try:
        (nid,) = resolve_neighbourhoods(cfg, [neighbourhood])
    except ValueError as exc:
        raise NeighsimError(f"agent view: {exc}") from None
    chosen = None
    if scenario not in (None, "", "baseline"):
        loaded = load_scenarios(scenarios, cfg) if scenarios else {}
        if scenario not in loaded:
            raise NeighsimError(f"agent view: no scenario {scenario!r} in this run ({', '.join(loaded) or 'none'})")
        chosen = loaded[scenario]
    pop = get_population(cfg, [nid])
    if pop.geography.neighbourhood_ids() != [nid]:
        pop = pop.subset([nid])
    params = pop.params
    interventions = chosen.build(params) if chosen is not None else []
    model = NeighbourhoodModel(pop, params, replicate=0, interventions=interventions, agents="sample",
                               sample_size=int(sample), months=int(months))
    try:
        dc = mesa.DataCollector(agent_reporters=dict(REPORTERS))
        counts = []

        def observe() -> None:
            dc.collect(model)
            living = model.agents.select(lambda a: a.alive)  # Mesa's AgentSet
            row = {"month": model.steps, "alive": len(living)}
            for state in ("frailty_category", "smoking_status"):
                row.update({f"{state.split('_')[0]}: {k}": v for k, v in living.groupby(state).count().items()})
            counts.append(row)

        observe()  # the start (model.steps == 0)
        for _ in range(int(months)):
            model.step()  # Mesa counts the step (model.steps) and the engine steps a month
            observe()
        frame = dc.get_agent_vars_dataframe().reset_index()
    finally:
        model.close()
    frame = frame.rename(columns={"Step": "month", "AgentID": "agent"})
    start = cfg.time.start
    frame["date"] = [f"{start.year + (start.month - 1 + m) // 12}-{(start.month - 1 + m) % 12 + 1:02d}"
                     for m in frame["month"]]
    frame.attrs["neighbourhood"] = str(neighbourhood_table(cfg).set_index("id").loc[nid, "name"])
    frame.attrs["scenario"] = scenario or "baseline"
    return frame, pd.DataFrame(counts).fillna(0).set_index("month")
