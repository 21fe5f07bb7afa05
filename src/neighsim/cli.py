"""The `neighsim` command. Every user error is printed as one line naming the file and field."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .errors import NeighsimError
from .outcomes import OUT
from .runner import BACKENDS

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit code 2) that name the flag and what it expects."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _number(kind: type, low: float | None = None, high: float | None = None, what: str = ""):
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what or kind.__name__}, got {text!r}") from None
        if kind is float and not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if (low is not None and v < low) or (high is not None and v > high):
            raise argparse.ArgumentTypeError(f"expected {what} from {low:,g} to {high:,g}, got {text}")
        return v
    return parse


def _la(text: str) -> str:
    from .config import LA_CHOICES, local_authority

    la = local_authority(text)
    if la is None:
        raise argparse.ArgumentTypeError(f"unknown local authority {text!r}; expected one of {LA_CHOICES}")
    return la


SEED = _number(int, 0, 2**63 - 1, "a whole number")
SCALE = _number(float, 0.001, 1.0, "a fraction of residents")
REPLICATES = _number(int, 1, 100_000, "a whole number of replicates")
WORKERS = _number(int, 1, 4096, "a whole number of workers")
YEARS = _number(int, 1, 20, "a whole number of years")
CHUNK = _number(int, 1, 10_000, "a whole number of neighbourhoods per task")


def command(name: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    def deco(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = fn
        return fn
    return deco


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The configuration overrides the flags ask for (--scale, --la, --scale-up, --seed, --years,
    --parameters/--start): one reading for `neighsim run`, `experiment` and the rest."""
    overrides: dict[str, Any] = {}
    pop: dict[str, Any] = {}
    if getattr(args, "scale", None) is not None:
        pop["scale"] = args.scale
    if getattr(args, "la", None):
        pop["local_authorities"] = args.la
    if getattr(args, "scale_up", False):
        pop["scale_up"] = True
    if pop:
        overrides["population"] = pop
    if getattr(args, "seed", None) is not None:
        overrides["seed"] = args.seed
    if getattr(args, "years", None) is not None:
        overrides["time"] = {"months": 12 * args.years}
    folder, flag = getattr(args, "parameters_dir", None), "--start" if hasattr(args, "start") else "--parameters"
    if folder is not None:
        if not Path(folder).is_dir():
            raise NeighsimError(f"{flag} {folder}: no such folder (expected a folder of parameter files, such as "
                                "configs/parameters or one written by `neighsim calibrate`)")
        overrides["parameters"] = str(Path(folder).resolve())
    return overrides


def _config(args: argparse.Namespace):
    from .config import load_config

    return load_config(args.config, **_overrides(args))


def _replicates(args: argparse.Namespace, replicates: int = 1, psa: bool = False) -> tuple[int, bool]:
    """(replicates, psa) from --replicates / --psa N over the defaults (an experiment file's keys)."""
    if args.psa is not None and args.replicates is not None:
        raise NeighsimError("give --replicates or --psa, not both: with --psa N each of the N replicates uses its "
                            "own parameter draw")
    if args.psa is not None:
        return args.psa, True
    return (args.replicates if args.replicates is not None else replicates), psa


def _neighbourhoods(args: argparse.Namespace, cfg) -> list[int] | None:
    """--neighbourhoods as ids (ids or names, any case, within the run's local authorities)."""
    from .config import UnknownArea, resolve_neighbourhoods

    if not args.neighbourhoods:
        return None
    try:
        return resolve_neighbourhoods(cfg, args.neighbourhoods)
    except UnknownArea as exc:
        files = [n for n in args.neighbourhoods if str(n).endswith((".yaml", ".yml"))]
        hint = f" ({files[0]} looks like a scenario file: put scenario files before the flags)" if files else ""
        raise NeighsimError(f"--neighbourhoods: {exc}{hint}") from None


def _add_output(p: argparse.ArgumentParser, out_help: str) -> None:
    p.add_argument("--out", default=None, help=out_help)
    p.add_argument("--resume", action="store_true",
                   help="continue the folder's run: finished tasks are checked and kept (same inputs only)")
    p.add_argument("--force-new", action="store_true",
                   help="if the folder holds results, move them aside (to DIR.replaced-TIME) and start afresh; "
                        "with --resume, only when its inputs differ")
    p.add_argument("--chunk", type=CHUNK, default=None,
                   help="neighbourhoods per task (default: all in one task); smaller tasks spread better over "
                        "many Ray workers and lose less when interrupted")
    _add_quiet(p)


QUIET = "no progress bar or status lines (results and errors are still printed)"


def _add_quiet(p: argparse.ArgumentParser, help: str = QUIET) -> None:
    p.add_argument("--quiet", action="store_true", help=help)


def _add_run_settings(p: argparse.ArgumentParser, file: str = "") -> None:
    """--replicates, --psa, --scale-up, --years, --neighbourhoods: `neighsim run`'s, and in `neighsim
    experiment` over the file's keys."""
    over = "; overrides the file's `{}`" if file else ""
    p.add_argument("--replicates", type=REPLICATES, default=None,
                   help=("replicates, 1 to 100,000 (default 1)" if not file else
                         "replicates, 1 to 100,000 (with the file's `psa: true`, parameter draws)")
                        + over.format("replicates"))
    p.add_argument("--psa", type=REPLICATES, default=None, metavar="N",
                   help="probabilistic sensitivity analysis: N replicates, each with its own draw of every "
                        "uncertain parameter (shared by all scenarios of that replicate); instead of --replicates"
                        + ("; overrides the file's `psa` and `replicates`" if file else ""))
    p.add_argument("--scale-up", action="store_true",
                   help="with --scale below 1: multiply the summary's counts, costs and QALYs by 1/scale, so a "
                        "sample stands for every resident (rates are unchanged; chance variation is that of the "
                        "sample). Quick probabilistic analyses; the report says so"
                        + ("; as the file's `scale_up: true`" if file else ""))
    p.add_argument("--years", type=YEARS, default=None,
                   help="projection horizon in whole years, 1 to 20 (default 5: April 2026 - March 2031); the "
                        "cost-effectiveness adds extra survivors' QALYs beyond it, and annuitises measures that "
                        "outlast it" + over.format("years"))
    p.add_argument("--neighbourhoods", nargs="+", metavar="ID_OR_NAME",
                   help="restrict to these neighbourhoods, by id or name in any case, e.g. 24 or "
                        "'Tamworth: Wilnecote & Belgrave' or 'wilnecote & belgrave' (`neighsim population` lists "
                        "them)" + over.format("neighbourhoods"))


def _add_common(p: argparse.ArgumentParser, parameters_folder: bool = True, file: str = "") -> None:
    """--config, --seed, --scale, --la (and --parameters); `file` names the experiment file whose keys
    they override."""
    over = "; overrides the file's `{}`" if file else ""
    p.add_argument("--config", metavar="FILE", default=None,
                   help="ICS configuration file (default: configs/ics.yaml)" + over.format("config"))
    p.add_argument("--seed", type=SEED, default=None,
                   help="master seed (default: from the configuration)" + over.format("seed"))
    p.add_argument("--scale", type=SCALE, default=None,
                   help="fraction of residents to synthesise, 0.001 to 1, e.g. 0.05 for a quick look (default 1)"
                        + over.format("scale"))
    p.add_argument("--la", action="append", metavar="NAME", type=_la,
                   help="restrict to a local authority (repeatable, any case), e.g. --la Tamworth"
                        + over.format("local_authorities"))
    if parameters_folder:
        p.add_argument("--parameters", dest="parameters_dir", metavar="DIR", default=None,
                       help="parameter folder to use instead of the configuration's (e.g. one written by "
                            "`neighsim calibrate`)")


@command("population")
def cmd_population(args: argparse.Namespace) -> int:
    from .population import build_population
    from .population.summary import format_summary, summarise_population

    pop = build_population(_config(args))
    s = summarise_population(pop)
    if args.json:
        print(json.dumps(s, indent=2))
    else:
        print(format_summary(s))
    return 0


def _progress_enabled(args: argparse.Namespace) -> bool:
    return not getattr(args, "quiet", False)


@command("run")
def cmd_run(args: argparse.Namespace) -> int:
    from .runner.experiment import run_experiment
    from .scenarios import load_scenarios

    replicates, psa = _replicates(args)
    cfg = _config(args)
    neighbourhoods = _neighbourhoods(args, cfg)
    scenarios = load_scenarios(args.scenarios, cfg) if args.scenarios else {}
    out = Path(args.out) if args.out else Path("out") / ("run-" + "-".join(scenarios) if scenarios else "baseline")
    res = run_experiment(cfg, out, scenarios=scenarios, replicates=replicates, psa=psa,
                         neighbourhoods=neighbourhoods, backend=args.backend, address=args.address,
                         workers=args.workers, resume=args.resume, force_new=args.force_new, chunk=args.chunk,
                         progress=_progress_enabled(args), name="run", contributions=args.contributions)
    _print_headline(res, out, cfg, neighbourhoods)
    return 0


def _print_headline(res: dict[str, Any], out: Path, cfg, chosen: list[int] | None) -> None:
    """Whole-horizon headline for the area run: each scenario's own level for the comparator, differences
    for the rest; first the area (a local authority, some neighbourhoods, the whole ICS) and whether the
    totals are a sample's."""
    from .config import describe_area, describe_sample

    s = res["summary"]
    nbs = res["manifest"]["neighbourhoods"]
    whole = sorted(p for p in s["period"].unique() if "-" in p and "/" not in p)
    period = whole[0] if whole else s["period"].max()
    sel = s[(s["level"] == "ics") & (s["stratum"] == "all") & (s["period"] == period)]
    sample = describe_sample(cfg)
    print(f"Results in {out}/ (summary.csv, manifest.json, tasks/).")
    print(f"Area run: {describe_area(cfg, sorted(chosen) if chosen else None, len(nbs))}; "
          f"{sample or 'every resident'}.")
    print(f"The whole horizon ({period}), totals for the area run:")
    for outcome in (OUT.emergency_admissions, OUT.bed_days, OUT.deaths, OUT.admissions_falls, OUT.hip_fractures, OUT.qalys,
                    OUT.cost_admissions, OUT.cost_intervention, OUT.roi):
        rows = sel[(sel["outcome"] == outcome) & ((sel["measure"] == "difference")
                                                  | ((sel["measure"] == "value") & (sel["scenario"] == "baseline"))
                                                  | (sel["outcome"] == OUT.roi))]
        for r in rows.itertuples():
            label = f"{r.scenario} {r.measure}" if r.measure != "value" else r.scenario
            print(f"  {outcome:<20} {label:<34} {r.mean:>16,.1f}  (95% interval {r.lower:,.1f} to {r.upper:,.1f})")
    rows = sel[sel["outcome"] == "contribution_" + OUT.emergency_admissions]
    for pkg, g in rows.groupby("scenario", sort=False):
        print(f"What each part of {pkg} contributes to emergency admissions (difference; sequential in the stated "
              "order, and Shapley values; every contribution_* row is in summary.csv):")
        for r in g.itertuples():
            print(f"  {r.measure:<44} {r.mean:>16,.1f}  (95% interval {r.lower:,.1f} to {r.upper:,.1f})")


@command("experiment")
def cmd_experiment(args: argparse.Namespace) -> int:
    from .runner.experiment import run_experiment
    from .runner.experiment_file import load_experiment

    spec, cfg, scenarios = load_experiment(args.file, _overrides(args), config=args.config,
                                           neighbourhoods=not args.neighbourhoods)
    replicates, psa = _replicates(args, spec.replicates, spec.psa)
    neighbourhoods = _neighbourhoods(args, cfg) if args.neighbourhoods else spec.neighbourhoods
    out = Path(args.out or spec.out or Path("out") / spec.name)
    res = run_experiment(cfg, out, scenarios=scenarios, replicates=replicates,
                         neighbourhoods=neighbourhoods, backend=args.backend or spec.backend,
                         address=args.address or spec.address, workers=args.workers or spec.workers,
                         resume=args.resume, force_new=args.force_new, chunk=args.chunk or spec.chunk,
                         psa=psa, progress=_progress_enabled(args), name=spec.name,
                         comparator=spec.comparator)
    _print_headline(res, out, cfg, neighbourhoods)
    return 0


@command("report")
def cmd_report(args: argparse.Namespace) -> int:
    from .errors import NeighsimError
    from .report import write_report

    out = Path(args.dir)
    if not any((out / f).is_file() for f in ("results.parquet", "summary.csv")):
        raise NeighsimError(f"{out}: no summary.csv here (run `neighsim run` or `neighsim experiment` first)")
    from .report import load_run

    data = load_run(out)
    for area in args.area or [None]:
        paths = write_report(out, area, data)
        if args.quiet:
            continue
        print(f"Report{f' for {area}' if area else ''} written to {paths['html'].parent}/:")
        for name, p in paths.items():
            print(f"  {name:<10} {p}")
    return 0


@command("serve")
def cmd_serve(args: argparse.Namespace) -> int:
    from .workbench.server import serve

    return serve(args.host, args.port, explicit_host=args.host is not None, cache_dir=args.cache_dir,
                 config=args.config, keep=args.keep, quiet=args.quiet)


@command("calibrate")
def cmd_calibrate(args: argparse.Namespace) -> int:
    from .calibrate import Calibration, knob, run_study
    from .parameters import load_parameters

    if args.start is not None:
        args.parameters_dir = args.start
    cfg = _config(args)
    base = load_parameters(cfg.parameters_dir())
    knobs = []
    for item in args.parameters:
        name, _, rng = item.partition("=")
        if name not in base:
            raise NeighsimError(f"--parameters {name}: no such parameter (names are file.key, e.g. "
                                "falls.admission_per_fall; see configs/parameters/)")
        knobs.append(knob(base.spec(name), rng or None))
    cal = Calibration(cfg, args.targets, knobs, args.target, months=args.months, replicates=args.replicates,
                      rebuild=args.rebuild)
    out = Path(args.out)
    rec = run_study(cal, out, args.trials, args.resume, progress=_progress_enabled(args))
    print(f"Calibration: {rec['trials']} trials ({rec['seconds_this_run']:.0f} s this run), chosen trial "
          f"{rec['best_trial']} with score {rec['best_score']:.3g} (the lowest among trials inside every tolerance, "
          f"if any; below 1: within tolerance on average), "
          f"{rec['accepted_draws']} accepted joint draws.")
    for name, v in rec["parameters"].items():
        print(f"  {name:<40} start {v['start']:<10.4g} fitted {v['fitted']:<10.4g} range {v['range'][0]:.4g}"
              f" to {v['range'][1]:.4g}")
    for t in rec["targets"]:
        print(f"  {'pass' if t['within'] else 'FAIL'}  {t['target']:<34} published {t['observed']:>9.4g}  "
              f"simulated {t['simulated']:>9.4g}")
    print(f"Written {out}/trials.csv and {out}/calibrated/ (use it with --parameters {out}/calibrated)")
    if not rec["accepted_draws"]:
        print("Warning: no trial had every target within its tolerance, so no accepted_draws.csv was written and a "
              "PSA would draw these parameters one by one; add trials (--resume --trials N) or review the targets.",
              file=sys.stderr)
    return 0


@command("validate")
def cmd_validate(args: argparse.Namespace) -> int:
    from .validate import run_validation

    cfg = _config(args)
    df, drift = run_validation(cfg, args.out, args.targets, progress=_progress_enabled(args),
                               replicates=args.replicates)
    n = len(df)
    k0, k1 = int(df["pass"].sum()), int(df["pass_final_year"].sum())
    for r in df.rename(columns={"pass": "ok", "pass_final_year": "ok_final"}).itertuples():
        marks = f"{'pass' if r.ok else 'FAIL'} {'pass' if r.ok_final else 'FAIL'}"
        print(f"  {marks}  {r.target:<26} published {r.observed:>9.4g}  simulated {r.simulated:>9.4g}"
              f"  final year {r.simulated_final_year:>9.4g}")
    judged = drift[drift["within_5pct"].notna()]
    beyond = judged[~judged["within_5pct"].astype(bool)]
    moved = drift[drift["steady"].eq(False)]
    print(f"First year: {k0} of {n} targets within tolerance ({k0 / n:.0%}); final year: {k1} of {n} ({k1 / n:.0%}).")
    print(f"Drift, first to final year: {len(judged)} age-specific rates with enough events; {len(beyond)} moved "
          f"more than 5% ({', '.join(f'{r.measure} {r.age_band} {r.change:+.1%}' for r in beyond.itertuples()) or 'none'}); "
          f"{len(moved)} beyond 5% by more than chance "
          f"({', '.join(f'{r.measure} {r.age_band} {r.change:+.1%}' for r in moved.itertuples()) or 'none'}).")
    print(f"Written {args.out}/validation.csv, drift.csv, areas.csv (life expectancy and its inequality by "
          "place, local authority and sex) and validation.png")
    return 0


@command("plan")
def cmd_plan(args: argparse.Namespace) -> int:
    from .agents.cohort import CORE_FIELDS
    from .processes.plan import MODEL_RESULTS, default_plan

    plan = default_plan()
    print("Monthly step plan (fixed order; every month of the projection):")
    print("  0. begin (model): everybody alive ages one month; ages, recording strata and table indices for the")
    print("     month; person-time. Then each process's own month context (its begin_step), in plan order")
    print(f"       states: {', '.join(CORE_FIELDS)}")
    print(f"       results: {', '.join(r.name for r in MODEL_RESULTS)}")
    print("  1. interventions.begin_step (model): invitations, uptake, capacity, state changes")
    for i, proc in enumerate(plan, start=2):
        print(f"  {i}. {proc.name} ({proc.level}): {proc.description}")
        for what, items in (("states", [s.name for s in proc.states]),
                            ("results", [f"{r.name}{' (snapshot)' if r.kind == 'snapshot' else ''}" for r in proc.results]),
                            ("streams", proc.streams), ("hazard modifiers", proc.modifiers), ("events", proc.events)):
            if items:
                print(f"       {what}: {', '.join(items)}")
    print(f"  {len(plan) + 2}. end (model): interventions.end_step; each process's snapshot results each March")
    from .interventions import registry

    names = registry.available()
    print("\nRegistered interventions: " + (", ".join(names) if names else "(none)"))
    print("Eligibility rules may use: " + ", ".join(sorted(_rule_attributes())))
    return 0


def _rule_attributes() -> list[str]:
    from .interventions.rules import ATTRIBUTES

    return list(ATTRIBUTES)


@command("schema")
def cmd_schema(args: argparse.Namespace) -> int:
    from .schemas import json_schema

    text = json.dumps(json_schema(args.kind), indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        if not args.quiet:
            print(f"JSON Schema for {args.kind} files written to {args.out}")
    else:
        print(text)
    return 0


@command("bench")
def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    res = run_bench(_config(args), per_agent_months=args.per_agent_months, progress=_progress_enabled(args),
                    threads=args.threads, profile=args.profile, starsim=not args.no_starsim)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    table = res.pop("profile", None)
    for k, v in res.items():
        print(f"  {k:<36} {v}")
    if table:
        print(f"\nWhere the time goes ({res['threads']} thread(s), {res['steps']} months):")
        print(f"  {'process':<40} {'ms/month':>9} {'share':>7}")
        for row in table:
            print(f"  {row['process']:<40} {row['ms_per_month']:>9.2f} {row['share']:>7.1%}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="neighsim",
        description="Neighbourhood microsimulation of the residents of Staffordshire and Stoke-on-Trent: "
                    "projects April 2026 - March 2031 month by month and compares interventions.",
        epilog="Run `neighsim COMMAND --help` for each command's options. Docs: README.md and docs/.",
    )
    parser.add_argument("--version", action="version", version=f"neighsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p = sub.add_parser("population", help="synthesise the residents and summarise them",
                       description="Build the residents, households, neighbourhoods and social network at the "
                                   "start date and print a summary (or JSON with --json).")
    _add_common(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    _add_quiet(p, "accepted for uniformity: the summary is the result and is printed")

    p = sub.add_parser("run", help="run scenarios against the baseline and write an output folder",
                       description="Project the residents month by month (from April 2026, five years unless "
                                   "--years says otherwise) for the baseline and any scenario files, with common "
                                   "random numbers, and write manifest.json, tasks/*.parquet and summary.csv to "
                                   "--out. Economics follow the NICE reference case (NHS and social care, 3.5%%, "
                                   "survivors' unrelated costs left out); see docs/economics.md.")
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO.yaml", help="scenario files (none: baseline only)")
    _add_common(p)
    _add_run_settings(p)
    p.add_argument("--backend", choices=list(BACKENDS), default="processes",
                   help="where tasks run: worker processes on this machine (processes, default), this process "
                        "only (serial) or Ray; the numbers are the same on every backend")
    p.add_argument("--address", default=None, help="an existing Ray cluster, e.g. 10.0.0.5:6379 (with --backend ray)")
    p.add_argument("--workers", type=WORKERS, default=None,
                   help="worker processes (processes) or local Ray workers (default: all cores)")
    p.add_argument("--contributions", action="store_true",
                   help="for every scenario of 2+ interventions, also run its subsets (common random numbers) "
                        "and report what each intervention contributes: a waterfall in the file's order of "
                        "interventions (or its contributions.order), Shapley values and the interaction (summary "
                        "outcomes contribution_*); the same as `contributions: true` in the file; at most 6 "
                        "interventions")
    _add_output(p, "output folder (default out/baseline or out/run-NAMES)")

    p = sub.add_parser("experiment", help="run an experiment file (scenarios x replicates x parameter draws)",
                       description="Run experiments/NAME.yaml: comparator and alternative scenarios, replicates, "
                                   "probabilistic sensitivity analysis, neighbourhood subset, seed and output "
                                   "folder; writes manifest.json, tasks/, summary.csv and convergence.csv.")
    p.add_argument("file", metavar="EXPERIMENT.yaml")
    _add_common(p, file="EXPERIMENT.yaml")
    _add_run_settings(p, file="EXPERIMENT.yaml")
    p.add_argument("--backend", choices=list(BACKENDS), default=None, help="overrides the file's `backend`")
    p.add_argument("--address", default=None, help="an existing Ray cluster; overrides the file's `address`")
    p.add_argument("--workers", type=WORKERS, default=None,
                   help="worker processes (processes) or local Ray workers (default: all cores); overrides the "
                        "file's `workers`")
    _add_output(p, "output folder (default: the file's `out`, or out/NAME)")

    p = sub.add_parser("report", help="write report.html, report.md, results.xlsx and figures for a run",
                       description="Read an output folder (summary.csv, manifest.json, validation.csv) and write "
                                   "a self-contained report.html, report.md, results.xlsx and figures/*.png.")
    p.add_argument("dir", metavar="DIR", help="output folder of `neighsim run` or `neighsim experiment`")
    p.add_argument("--area", action="append", metavar="NAME",
                   help="write the whole report for one place, locality or neighbourhood (any case; the start of a "
                        "neighbourhood's name will do) into DIR/areas/NAME/ instead; repeatable")
    _add_quiet(p, "do not list the files written (errors are still printed)")

    p = sub.add_parser("serve", help="start the workbench: a local web app to set up, run and compare scenarios",
                       description="Start the workbench (a Solara web app; docs/workbench.md): choose an area on a "
                                   "map, set up to four scenarios, run them in the background (a 5% sample, counts "
                                   "scaled up, by default) and see the headline, charts, economics and Mesa's agent "
                                   "view; download results.xlsx and report.html. Listens on 127.0.0.1 only unless "
                                   "--host says otherwise. Finished runs are cached by their inputs.")
    p.add_argument("--port", type=_number(int, 0, 65535, "a port"), default=8765,
                   help="port to listen on (default 8765; 0: any free port)")
    p.add_argument("--host", default=None, metavar="ADDRESS",
                   help="address to listen on (default 127.0.0.1: this machine only); another address lets "
                        "anyone who can reach it run simulations")
    p.add_argument("--cache-dir", default="out/workbench", metavar="DIR",
                   help="folder of the cached runs (default out/workbench)")
    p.add_argument("--keep", type=_number(int, 1, 100_000, "a whole number of runs"), default=50,
                   help="finished runs kept in the cache (default 50; the oldest are removed)")
    p.add_argument("--config", metavar="FILE", default=None,
                   help="ICS configuration file (default: configs/ics.yaml)")
    _add_quiet(p, "print only the address and errors")

    p = sub.add_parser("calibrate", help="fit parameters to published targets (Optuna) and write a parameter folder",
                       description="Fit the chosen parameters to a targets file with Optuna's TPE sampler: each "
                                   "trial runs the baseline (first projection year) and scores the targets. "
                                   "Writes OUT/trials.csv and OUT/calibrated/ (the parameter folder with the "
                                   "best values, calibration.yaml with the fit and its provenance, and "
                                   "accepted_draws.csv for the PSA), which any command takes with --parameters. "
                                   "Example: neighsim calibrate --parameters falls.admission_per_fall "
                                   "--target falls_admissions_65plus --trials 30 --scale 0.25")
    _add_common(p, parameters_folder=False)
    p.add_argument("--parameters", nargs="+", required=True, metavar="NAME[=LOW:HIGH]",
                   help="parameters to fit (file.key); the search range is the parameter's own uncertainty "
                        "(central 95%%) unless given")
    p.add_argument("--targets", default=None, metavar="FILE",
                   help="targets file in the format of configs/targets.yaml (default: that file)")
    p.add_argument("--target", action="append", metavar="NAME", help="fit only these targets of the file "
                                                                     "(repeatable; default all)")
    p.add_argument("--trials", type=_number(int, 1, 100_000, "a whole number of trials"), default=40,
                   help="trials in the study in all, counting those of a resumed study (default 40)")
    p.add_argument("--months", type=_number(int, 12, 600, "a whole number of months"), default=12,
                   help="months each trial simulates; targets are read in the first year (default 12)")
    p.add_argument("--replicates", type=REPLICATES, default=1, help="baseline replicates per trial (default 1)")
    p.add_argument("--rebuild", action="store_true",
                   help="synthesise the residents again in every trial (needed for parameters of the starting "
                        "population, such as frailty.prevalence_65plus; slower)")
    p.add_argument("--start", metavar="DIR", default=None,
                   help="parameter folder to start from (default: the configuration's)")
    p.add_argument("--out", default="out/calibration", help="output folder (default out/calibration)")
    p.add_argument("--resume", action="store_true", help="add trials to the study already in --out")
    _add_quiet(p)

    p = sub.add_parser("validate", help="run the baseline and compare it with published figures",
                       description="Run the baseline for the whole horizon and write validation.csv (target, "
                                   "source, observed, simulated in the first and in the final year, tolerance, "
                                   "pass, pass_final_year), drift.csv (age-specific rates per head in both years) "
                                   "and validation.png.")
    _add_common(p)
    p.add_argument("--out", default="out/validation", help="output folder (default out/validation)")
    p.add_argument("--targets", default=None, help="targets file (default configs/targets.yaml)")
    p.add_argument("--replicates", type=REPLICATES, default=3,
                   help="baseline replicates pooled (default 3: life expectancy of one local authority in one "
                        "year is otherwise too noisy to judge)")
    _add_quiet(p)

    p = sub.add_parser("plan", help="print the monthly step plan and the registered interventions",
                       description="Print the fixed order of processes, their random streams and the hazard "
                                   "modifiers interventions can use.")
    _add_quiet(p, "accepted for uniformity: the plan is the result and is printed")

    p = sub.add_parser("bench", help="measure speed and memory of the engine",
                       description="Build the population, compile (or load) the kernels, run 60 months in one "
                                   "process on --threads threads, compare the vectorised engine with the per-agent "
                                   "path on one neighbourhood, and run Starsim's simpler model side by side when "
                                   "starsim is installed (pip install -e .[bench]).")
    _add_common(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--threads", type=_number(int, 1, 2, "1 or 2"), default=1,
                   help="threads for the 60-month run (default 1: the one-thread figure)")
    p.add_argument("--profile", action="store_true", help="also print each process's milliseconds per month")
    p.add_argument("--no-starsim", action="store_true", help="skip the Starsim reference run")
    p.add_argument("--per-agent-months", type=_number(int, 1, 60, "a whole number of months"), default=1,
                   help="months the (slow) per-agent path runs for the speed-up ratio (default 1)")
    _add_quiet(p)

    p = sub.add_parser("schema", help="print the JSON Schema of an input file format (for editors)",
                       description="Print the JSON Schema of configs/ics.yaml (ics), scenario files (scenario), "
                                   "experiment files (experiment) or parameter files (parameters), generated from "
                                   "the same models that validate them.")
    p.add_argument("kind", choices=["ics", "scenario", "experiment", "parameters"])
    p.add_argument("--out", metavar="FILE", default=None, help="write to FILE instead of printing")
    _add_quiet(p, "with --out, do not say where the schema was written")

    for extra in EXTRA_PARSERS:
        extra(sub)
    return parser


EXTRA_PARSERS: list[Callable[[Any], None]] = []


# --- sensitivity: one-way deterministic sensitivity analysis (the tornado chart) ---------------------------
QUANTILE = _number(float, 0.0001, 0.9999, "a quantile")


@command("sensitivity")
def cmd_sensitivity(args: argparse.Namespace) -> int:
    from .runner.sensitivity import run_sensitivities

    for f in args.scenario:
        if not Path(f).is_file():
            raise NeighsimError(f"{f}: no such scenario file (give a file such as "
                                "configs/scenarios/falls_pathway.yaml)")
    if not args.low < args.high:
        raise NeighsimError(f"--low {args.low:g} must be below --high {args.high:g}")
    cfg = _config(args)
    one = len(args.scenario) == 1
    if args.out:
        out = Path(args.out)
    else:
        out = Path("out") / (f"sensitivity-{Path(args.scenario[0]).stem}" if one else "sensitivity")
    if one:  # OUT holds the files themselves
        from .runner.experiment import prepare_folder

        prepare_folder(out)
    results = run_sensitivities(cfg, args.scenario, None, parameters=args.parameters, candidates=args.candidates,
                                low=args.low, high=args.high, rebuild=args.rebuild, replicates=args.replicates,
                                workers=args.workers, progress=_progress_enabled(args))
    from .config import describe_area
    from .runner.sensitivity import _write

    for name, res in results.items():
        where = out if one else out / name
        _write(res, where)
        table, m = res["table"], res["manifest"]
        sample = (f"scaled up from the sample at --scale {m['scale']:g} to stand for every resident"
                  if m.get("scaled_up") else f"for the simulated sample at --scale {m['scale']:g}, not the whole "
                  "population" if m["scale"] < 1 else "whole population")
        reps = f", each point the mean of {m['replicates']} replicates" if m["replicates"] > 1 else ""
        shared = "" if one else f" (of {m['simulations_in_call']} for {len(results)} scenarios, baseline shared)"
        print(f"One-way sensitivity of {m['scenario']} against the baseline: {m['n_candidates']} parameters at "
              f"their {args.low:g} and {args.high:g} quantiles{reps}, {m['simulations']} simulations{shared} in "
              f"{m['workers']} process{'es' if m['workers'] > 1 else ''}, {m['seconds']:.0f} s.")
        print(f"Whole projection ({m['period']}), {describe_area(cfg, None, None)}; money, QALYs and admissions "
              f"{sample}.")
        print(f"Central nmb_20000 {m['central']['nmb_20000']:,.0f}; the {args.top} widest swings:")
        top = table[table["outcome"] == "nmb_20000"].head(args.top)
        for r in top.itertuples():
            print(f"  {r.parameter:<48} {r.at_low:>14,.0f} to {r.at_high:>14,.0f}  (swing {r.swing:,.0f}; "
                  f"low {r.low_value}, high {r.high_value})")
        print(f"Written {where}/tornado.csv (every parameter; also net_cost, qalys_gained, admissions_avoided) "
              f"and {where}/sensitivity.json")
    return 0


def _sensitivity_parser(sub: Any) -> None:
    p = sub.add_parser(
        "sensitivity", help="one-way sensitivity analysis of a scenario (data for a tornado chart)",
        description="One-way deterministic sensitivity analysis for a tornado chart: run the scenario and the "
                    "baseline with central parameter values, then, one parameter at a time, with the parameter at "
                    "its LOW and its HIGH quantile of its PSA distribution (default 2.5% and 97.5%; for a "
                    "calibrated parameter, of its accepted joint draws), everything else central. Every run uses "
                    "the same seed and replicate (common random numbers), so a change comes from the parameter "
                    "alone; a list-valued parameter moves all its elements together. The outcome is the whole-horizon, "
                    "whole-area net monetary benefit at £20,000 per QALY (nmb_20000), with net_cost, "
                    "qalys_gained and admissions_avoided. Writes OUT/tornado.csv (parameter, label, low_value, "
                    "high_value, outcome, central, at_low, at_high, swing, scale, population; sorted by swing) and "
                    "OUT/sensitivity.json. At --scale below 1 the money, QALY and admission figures are those of "
                    "the simulated sample (the scale column says so), not of the whole population, unless --scale-up "
                    "multiplies them by 1/scale (the scaled_up column). The starting "
                    "population is synthesised once from central values, as in a PSA (--rebuild to change that). "
                    "--candidates interventions limits it to the scenario's own and the economics parameters; "
                    "--replicates R averages each point over R common-random-number replicates; --workers N runs "
                    "the simulations in N processes.",
        epilog="Example: neighsim sensitivity configs/scenarios/falls_pathway.yaml --candidates interventions "
               "--scale 0.05 --replicates 2 --top 10")
    p.add_argument("scenario", metavar="SCENARIO.yaml", nargs="+",
                   help="the scenario file compared with the baseline; several run in one pool of processes, "
                        "sharing the baseline's runs, each written to OUT/SCENARIO/")
    _add_common(p, parameters_folder=False)
    p.add_argument("--scale-up", action="store_true",
                   help="with --scale below 1: multiply the money, QALY and admission figures by 1/scale so the "
                        "sample stands for every resident (as `neighsim run --scale-up`)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--parameters", nargs="+", metavar="NAME", default=None,
                       help="parameters to vary (file.key, e.g. interventions.falls_mfa_rate_ratio); default: the "
                            "--candidates group")
    which.add_argument("--candidates", choices=["all", "interventions"], default="all",
                       help="which uncertain parameters to vary: all (default) = every one the scenario can "
                            "influence (its interventions' own, and all economics, admissions, mortality, falls "
                            "and frailty ones); interventions = the scenario's intervention parameters (effects, "
                            "uptake, costs, and what building them reads) and the economics ones (costs, prices, "
                            "utilities): far fewer simulations, as a cost parameter re-uses the central runs and "
                            "an effect parameter re-runs only the scenario")
    p.add_argument("--replicates", type=_number(int, 1, 1000, "a whole number of replicates"), default=1,
                   help="each point (central, every low and high) is the mean over this many replicates, the same "
                        "replicates 0..R-1 at every point (common random numbers). One replicate (default) is "
                        "noisy at a small --scale: a changed parameter shifts which random events happen later "
                        "in the run; R replicates average that out (about R times the simulations)")
    p.add_argument("--workers", type=_number(int, 1, 1024, "a whole number of processes"), default=None,
                   help="processes that run the simulations (default: the number of CPUs, at most one per "
                        "simulation; 1 runs them in this process); the results are the same whatever the number")
    p.add_argument("--low", type=QUANTILE, default=0.025, help="quantile taken as the low value (default 0.025)")
    p.add_argument("--high", type=QUANTILE, default=0.975, help="quantile taken as the high value (default 0.975)")
    p.add_argument("--rebuild", action="store_true",
                   help="for parameters the population synthesis reads (e.g. frailty.prevalence_65plus), synthesise "
                        "the starting population again with the changed value (default: central population, as in "
                        "a PSA; tornado.csv's population column marks them)")
    p.add_argument("--top", type=_number(int, 1, 10_000, "a whole number of rows"), default=10,
                   help="rows of the tornado to print (default 10)")
    p.add_argument("--out", default=None, help="output folder (default out/sensitivity-SCENARIO; with several "
                                                "scenario files out/sensitivity, one subfolder each)")
    _add_quiet(p)


EXTRA_PARSERS.append(_sensitivity_parser)


# --- optimise: allocate a budget across neighbourhoods x interventions x capacity levels --------------------
def _budget(text: str) -> float:
    """Pounds: 2000000, 2e6, 2,000,000, £2m, 500k (optimise.parse_budget)."""
    from .optimise import parse_budget

    try:
        return parse_budget(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _equity(text: str):
    from .optimise import parse_equity

    try:
        return parse_equity(text)
    except NeighsimError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--equity {text!r}: ").removeprefix(
            f"--equity {text}: ")) from None


@command("optimise")
def cmd_optimise(args: argparse.Namespace) -> int:
    from .optimise import optimise
    from .optimise.outputs import console

    cfg = _config(args)
    workers = args.workers
    backend = "serial" if workers == 1 else "processes"
    res = optimise(cfg, Path(args.out), args.budget, objective=args.objective, equity=args.equity, area=args.area,
                   interventions=args.interventions, levels=args.levels, replicates=args.replicates,
                   curve_psa=args.curve_psa, psa=args.psa, cost_basis=args.cost_basis,
                   scenario_limits=not args.no_scenario_limits, shrink=not args.no_shrink, backend=backend, workers=workers,
                   progress=_progress_enabled(args), force_new=args.force_new)
    for line in console(res):
        print(line)
    written = ["allocation.csv", "allocation_scenario.yaml", "comparison.csv", "optimise.png", "optimise.md",
               "curves.csv", "optimise.json"]
    print(f"Written to {res.out}/: " + ", ".join(f for f in written if (res.out / f).is_file())
          + f" ({res.timings.get('total', 0):.0f} s; the runs are kept in {res.out}/runs/ and reused with the same inputs)")
    return 0


def _optimise_parser(sub: Any) -> None:
    p = sub.add_parser(
        "optimise", help="allocate a budget across neighbourhoods x interventions x capacity levels",
        description="Allocate a budget (pounds over the projection, whole population) across the area's "
                    "neighbourhoods, the interventions and a few capacity levels each. Response curves come from "
                    "simulation with common random numbers: each intervention unlimited (what each neighbourhood "
                    "could take), then at each level, every neighbourhood at once with its own places (effects are "
                    "separable by neighbourhood). A mixed-integer programme (scipy's milp, HiGHS) picks one level "
                    "per intervention and neighbourhood to maximise the objective within the budget, the scenario's "
                    "own capacity and an optional equity constraint. The allocation is written as a scenario file, "
                    "run with a small PSA and compared with simple rules at the same money (everyone, Core20 only, "
                    "by need). Writes OUT/allocation.csv, allocation_scenario.yaml, comparison.csv, optimise.png, "
                    "optimise.md, curves.csv and optimise.json (docs/optimise.md).",
        epilog="Example: neighsim optimise --budget 2m --area Tamworth --objective admissions --scale 0.05")
    p.add_argument("--budget", type=_budget, required=True, metavar="AMOUNT",
                   help="pounds over the projection (five years by default) for the area at full population, e.g. "
                        "2000000, 2e6 or 2m")
    p.add_argument("--objective", choices=["admissions", "qalys", "nmb"], default="nmb",
                   help="what to maximise: emergency admissions avoided, QALYs gained or net monetary benefit at "
                        "£20,000 per QALY (default nmb)")
    p.add_argument("--equity", type=_equity, default=None, metavar="RULE",
                   help="gap-narrows (the Core20 gap in emergency admission rates must not widen) or "
                        "core20-share=X (at least X, from 0 to 1, of the spend on Core20 residents); default none")
    p.add_argument("--area", metavar="NAME", default=None,
                   help="the area the budget is for: a place, local authority, locality or neighbourhood (id or "
                        "name, any case); default the whole ICS")
    p.add_argument("--interventions", nargs="+", metavar="NAME", default=None,
                   help="scenario files of one intervention, by name in configs/scenarios (health_checks, tobacco, "
                        "warm_homes, falls_pathway, falls_pathway_core20) or path; default the four built-in ones")
    p.add_argument("--levels", nargs="+", type=_number(float, 0.0001, 1.0, "a fraction"), default=None,
                   metavar="F", help="capacity levels as fractions of what each neighbourhood could take, besides "
                                     "none (default 0.25 0.5 1)")
    p.add_argument("--replicates", type=_number(int, 1, 1000, "a whole number of replicates"), default=3,
                   help="replicates of every curve run, common random numbers (default 3)")
    p.add_argument("--curve-psa", action="store_true",
                   help="make the curves' replicates parameter draws (PSA) instead of central values")
    p.add_argument("--psa", type=_number(int, 0, 10_000, "a whole number of draws"), default=10, metavar="N",
                   help="PSA draws of the comparison run of the allocation and the rules (default 10; 0 skips it)")
    p.add_argument("--cost-basis", choices=["programme", "cash"], default="programme",
                   help="what the budget pays: programme = cost_programme (discounted, measures such as warm homes "
                        "annuitised over their lifetime; default), cash = programme cash as spent")
    p.add_argument("--no-scenario-limits", action="store_true",
                   help="let the places of an intervention exceed its scenario file's capacity for the area (default: "
                        "never more than the scenario allows)")
    p.add_argument("--no-shrink", action="store_true",
                   help="use each neighbourhood's measured effects as they are, instead of shrinking its effect per "
                        "participant towards the area's (empirical Bayes; default on: it tempers the winner's curse)")
    p.add_argument("--config", metavar="FILE", default=None, help="ICS configuration file (default: configs/ics.yaml)")
    p.add_argument("--seed", type=SEED, default=None, help="master seed (default: from the configuration)")
    p.add_argument("--scale", type=SCALE, default=0.05,
                   help="fraction of residents simulated, scaled up to the whole population (default 0.05)")
    p.add_argument("--years", type=YEARS, default=None, help="projection horizon in whole years (default 5)")
    p.add_argument("--parameters", dest="parameters_dir", metavar="DIR", default=None,
                   help="parameter folder to use instead of the configuration's")
    p.add_argument("--workers", type=WORKERS, default=None,
                   help="processes for the simulations (default: every core; 1 runs them in this process)")
    p.add_argument("--out", default="out/optimise", help="output folder (default out/optimise)")
    p.add_argument("--force-new", action="store_true",
                   help="move aside runs in OUT/runs/ made with other inputs instead of stopping")
    _add_quiet(p)


EXTRA_PARSERS.append(_optimise_parser)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    _show_warnings(args.command)
    try:
        return COMMANDS[args.command](args)
    except NeighsimError as exc:
        print(f"neighsim {args.command}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"neighsim {args.command}: interrupted; finished results are kept on disk", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not the user's input: one line, the traceback on request
        if os.environ.get("NEIGHSIM_DEBUG"):
            raise
        print(f"neighsim {args.command}: internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
              "(a bug in neighsim: rerun with NEIGHSIM_DEBUG=1 for the traceback and report it)", file=sys.stderr)
        return 1


def _show_warnings(command: str) -> None:
    """Warnings about the user's input as one line each; numpy's arithmetic warnings are not for users."""
    from .errors import NeighsimWarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, NeighsimWarning):
            print(f"neighsim {command}: warning: {message}", file=sys.stderr)
        else:
            print(f"neighsim {command}: warning: {category.__name__}: {message}", file=sys.stderr)

    warnings.showwarning = show
    warnings.simplefilter("default", NeighsimWarning)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
