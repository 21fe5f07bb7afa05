"""What determines a run's results, as digests: an output folder is bound to them.

The manifest records each component (model code and bundled data, resolved configuration, parameter
values and distributions, each scenario's resolved contents with the code of its intervention types,
seed, parameter draws, neighbourhoods and their grouping into tasks). A resumed run must match on
every component it shares with the folder; `differences` says in words what does not. Each task's
done-marker records the digest of the components that determine that task alone, so a task file
copied from another folder, or left from other inputs, is never used.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from functools import cache
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import ICSConfig
from ..parameters import ParameterSet
from ..paths import DATA_DIR, PACKAGE_DIR


def digest(obj: Any) -> str:
    """sha256 of canonical JSON (sorted keys), shortened to 16 hex digits."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _files_digest(paths: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


@cache
def model_digest() -> str:
    """The engine's code and bundled data: any edit changes it (a different model)."""
    code = [p for p in PACKAGE_DIR.rglob("*.py") if "__pycache__" not in p.parts]
    data = [p for p in DATA_DIR.iterdir() if p.is_file()]
    return f"{__version__}+{_files_digest(code + data, PACKAGE_DIR)}"


def config_digest(cfg: ICSConfig) -> str:
    """The resolved configuration (not where it was read from), with a neighbourhood file's contents."""
    data = cfg.model_dump(mode="json", exclude={"source", "base_dir", "parameters"})
    nb_file = cfg.geography.neighbourhood_file
    if nb_file:
        p = Path(nb_file)
        p = p if p.is_absolute() else Path(cfg.base_dir or ".") / p
        data["geography"]["neighbourhood_file"] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
    return digest(data)


def parameters_digest(params: ParameterSet) -> str:
    """Values and distributions (what draws are made from); sources and notes do not change results."""
    joint = None if params.joint is None else params.joint.to_dict(orient="list")
    return digest({"values": {k: [p.value, p.dist] for k, p in sorted(params.items())}, "joint": joint})


def scenario_digest(scenario: Any) -> str:
    """The scenario as resolved (effects, delivery, targeting ids, shares) and its types' code."""
    desc = scenario.describe() if hasattr(scenario, "describe") else repr(scenario)
    if isinstance(desc, dict):
        desc = {k: v for k, v in desc.items() if k not in ("file", "description", "contributions")}
    code = []
    for spec in getattr(scenario, "specs", ()):
        try:
            from ..interventions import registry

            cls = registry.get(spec.type)
            src = inspect.getsourcefile(cls)
            code.append(hashlib.sha256(Path(src).read_bytes()).hexdigest()[:16] if src else cls.__qualname__)
        except (KeyError, OSError, TypeError):
            code.append(spec.type)
    return digest([desc, code])


def components(cfg: ICSConfig, params: ParameterSet, scenarios: dict[str, Any], *, psa: bool,
               neighbourhoods: list[int], chunk: int, contributions: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything a task's result depends on, by name (recorded in manifest.json as `inputs`); with
    `contributions`, each package's plan (order, Shapley, which scenario holds each subset), so that a
    folder's summary never mixes runs with and without them."""
    return {
        "contributions": digest(contributions or {}),
        "model": model_digest(), "config": config_digest(cfg), "parameters": parameters_digest(params),
        "seed": cfg.seed, "psa": bool(psa), "neighbourhoods": list(neighbourhoods), "chunk": int(chunk),
        "scenarios": {name: scenario_digest(s) for name, s in scenarios.items()},
    }


SHARED = ("model", "config", "parameters", "seed", "psa", "neighbourhoods", "chunk")
WORDS = {"model": "the model code or bundled data (neighsim was changed or upgraded)",
         "config": "the configuration (--config, --scale, --la or the file's values)",
         "parameters": "parameter values or distributions", "seed": "the seed", "psa": "parameter draws (psa)",
         "neighbourhoods": "the neighbourhoods", "chunk": "the neighbourhoods per task (--chunk)"}


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between a folder's inputs and this run's, in words; scenarios may be added."""
    out = []
    for key in SHARED:
        if old.get(key) != new.get(key):
            detail = f" ({old.get(key)} then, {new.get(key)} now)" if key in ("seed", "psa", "chunk") else ""
            out.append(WORDS[key] + detail)
    if old.get("contributions", digest({})) != new.get("contributions", digest({})):
        out.append("what each intervention contributes (--contributions, or a scenario file's 'contributions': "
                   "on or off, order, Shapley values, or the subsets run)")
    for name, d in (new.get("scenarios") or {}).items():
        prev = (old.get("scenarios") or {}).get(name)
        if prev is not None and prev != d:
            out.append(f"scenario {name!r} (its file, effects or parameters)")
    return out


def task_digest(comp: dict[str, Any], scenario: str, replicate: int, param_draw: int,
                neighbourhoods: tuple[int, ...]) -> str:
    """The inputs of one task: shared components, its scenario's contents, replicate, draw, areas."""
    shared = {k: comp[k] for k in SHARED if k not in ("neighbourhoods", "chunk")}
    scen = None if scenario == "baseline" else comp["scenarios"].get(scenario)
    return digest([shared, scenario, scen, replicate, param_draw, list(neighbourhoods)])
