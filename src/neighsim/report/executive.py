"""The executive summary at the top of the report: the options ranked by what a pound returns (with
intervals), and the caveats that change how to read them. Every number is read from the folder; the
wording is in templates/text.j2."""

from __future__ import annotations

import math

from ..outcomes import OUT
from ..wording import say
from . import business_case as bc
from .data import RunData
from .labels import fmt, fmt_interval, fmt_money_interval, scenario_label
from .render import Block, Table

THRESHOLD = 20_000.0


def ranking(d: RunData) -> list[dict[str, object]]:
    """One row per option with economics, best return per £1 (QALYs valued at £20,000) first."""
    rows = []
    for sc in bc.economics_scenarios(d):
        roi = bc.stat(d, sc, OUT.roi_qalys)
        rows.append({"scenario": sc, "roi_qalys": roi, "qalys": bc.stat(d, sc, OUT.qalys_gained),
                     "net_cost": bc.stat(d, sc, OUT.net_cost), "nmb": bc.stat(d, sc, OUT.nmb_20000),
                     "admissions": bc.stat(d, sc, OUT.admissions_avoided),
                     "p_ce": bc.probability_cost_effective(d, sc, THRESHOLD)})
    return sorted(rows, key=lambda r: -r["roi_qalys"][0] if math.isfinite(r["roi_qalys"][0]) else math.inf)


def _rank_table(d: RunData, rows: list[dict[str, object]]) -> Table:
    out = []
    for k, r in enumerate(rows, start=1):
        q, c = r["qalys"], r["net_cost"]
        icer = bc.cell(d, r["scenario"], bc.Measure("", OUT.cost_per_qaly, "icer"))
        p = r["p_ce"]
        out.append([str(k), scenario_label(r["scenario"]), fmt_interval(*r["roi_qalys"][:3], money=True, digits=2),
                    fmt_interval(*q[:3]), fmt_money_interval(*c[:3]), icer, fmt_money_interval(*r["nmb"][:3]),
                    "–" if p is None else f"{p:.0%}", fmt_interval(*r["admissions"][:3])])
    return Table(say("rank_columns").split("|"), out, numeric_from=2, css="rank",
                 caption=say("rank_caption", psa=bc.is_psa(d), draws=bc.n_draws(d)))


def _caveats(d: RunData) -> list[str]:
    from .economics_figures import SETTLED_MCSE, bound_mcse, draws_to_settle

    end = d.years[-1] if d.years else d.whole
    items = [say("caveat_horizon", whole=d.whole, end=end, beyond=d.has_outcome(OUT.qalys_beyond_horizon)),
             say("caveat_perspective"), say("caveat_not_valued", items=bc.not_valued()), say("caveat_cash"),
             bc.interval_source(d)]
    w = bc.draws(d)
    if bc.is_psa(d) and not w.empty and OUT.nmb_20000 in w:
        errs = [bound_mcse(g[OUT.nmb_20000].dropna().to_numpy(dtype=float)) for _, g in w.groupby("scenario")]
        errs = [e for e in errs if math.isfinite(e)]
        if errs:
            worst, n = max(errs), int(w.groupby("scenario").size().max())
            items.append(say("caveat_convergence", worst=f"{worst:.0%}", settled=worst < SETTLED_MCSE,
                             needed=f"{draws_to_settle(worst, n):,}"))
    if d.scale is not None and d.scale < 1:
        items.append(say("caveat_sample", share=f"{d.scale:.0%}", scaled=d.scale_up))
    if not d.is_ics:
        items.append(say("caveat_area", coverage=d.coverage, ics=d.ics_coverage))
    return items


def blocks(d: RunData) -> list[Block]:
    """The executive summary, boxed, then the contents."""
    out = [Block("open", css="exec"), Block("h2", say("h_executive"))]
    rows = ranking(d)
    if rows:
        years = len(d.years) or 1
        out.append(Block("p", say("exec_intro", n=len(rows), coverage=d.coverage, comparator=d.comparator_label.lower()
                                  if d.comparator == "baseline" else d.comparator_label, whole=d.whole, years=years,
                                  perspective=say("perspective_reference_case"))))
        out.append(Block("table", table=_rank_table(d, rows)))
        best = rows[0]
        m = best["roi_qalys"][0]
        if math.isfinite(m):
            chance = best["p_ce"]
            out.append(Block("p", say("best_return", name=scenario_label(best["scenario"]),
                                      per_pound=fmt(m, money=True, digits=2), psa=bc.is_psa(d),
                                      chance="" if chance is None else f"{chance:.0%}")))
    else:
        out.append(Block("p", say("exec_none", coverage=d.coverage)))
    out.append(Block("h3", say("h_read_with")))
    out.append(Block("list", items=_caveats(d)))
    out.append(Block("close"))
    out.append(Block("toc"))
    return out


__all__ = ["blocks", "ranking"]
