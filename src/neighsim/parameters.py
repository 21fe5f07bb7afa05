"""Model parameters: value, uncertainty, source and confidence for every number the model uses.

Files in configs/parameters/*.yaml map parameter names to specs; the file's stem is the group, so
`mortality.yaml: smoking_hr` is addressed as `mortality.smoking_hr`. Confidence marks follow
EVIDENCE.md: V (read in the source), M (commonly quoted, unchecked: treated as an assumption),
D (derived), A (assumption with no published source; calibrated or chosen by the team).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .config import read_yaml
from .errors import ConfigError

CONFIDENCE = {"V": "read in the source", "M": "commonly quoted, unchecked (assumption)",
              "D": "derived from other figures", "A": "assumption (no published source)"}
DIST_FIELDS = {
    "fixed": set(),
    "lognormal": {"se"},           # multiplicative: value * exp(N(0, se)) with median = value
    "normal": {"sd"},
    "beta": {"a", "b"},
    "gamma": {"shape"},            # mean preserved: scale = value / shape
    "triangular": {"low", "high"},  # mode = value
    "uniform": {"low", "high"},
}
SPEC_KEYS = {"value", "dist", "source", "confidence", "unit", "note", "calibrated"}


@dataclass(frozen=True)
class Parameter:
    name: str
    value: float | tuple[float, ...]
    source: str
    confidence: str
    dist: dict[str, Any] = field(default_factory=lambda: {"type": "fixed"})
    unit: str = ""
    note: str = ""
    calibrated: bool = False
    file: str = ""

    @property
    def is_assumption(self) -> bool:
        return self.confidence in ("M", "A")

    def array(self) -> np.ndarray:
        return np.asarray(self.value, dtype=float)

    def describe_uncertainty(self) -> str:
        d = dict(self.dist)
        kind = d.pop("type", "fixed")
        if kind == "fixed":
            return "fixed"
        return kind + "(" + ", ".join(f"{k}={v}" for k, v in d.items()) + ")"

    def draw(self, rng: np.random.Generator) -> Parameter:
        """One probabilistic-sensitivity draw. List values move together (one shared factor)."""
        kind = self.dist.get("type", "fixed")
        v = self.array()
        if kind == "fixed":
            return self
        if kind == "lognormal":
            new = v * float(np.exp(rng.normal(0.0, self.dist["se"])))
        elif kind == "normal":
            new = v + float(rng.normal(0.0, self.dist["sd"]))
        elif kind == "beta":
            new = np.full_like(v, rng.beta(self.dist["a"], self.dist["b"]))
        elif kind == "gamma":
            shape = float(self.dist["shape"])
            new = v * float(rng.gamma(shape, 1.0 / shape))
        elif kind == "triangular":
            new = np.full_like(v, rng.triangular(self.dist["low"], float(v.flat[0]), self.dist["high"]))
        elif kind == "uniform":
            new = np.full_like(v, rng.uniform(self.dist["low"], self.dist["high"]))
        else:  # validated at load time
            raise AssertionError(kind)
        value = float(new) if new.ndim == 0 else tuple(float(x) for x in new)
        return replace(self, value=value)


class ParameterSet:
    """All parameters, addressed as 'group.name'. Values are read with `p['group.name']`."""

    def __init__(self, params: dict[str, Parameter]):
        self._p = dict(params)

    def __getitem__(self, key: str) -> Any:
        try:
            v = self._p[key].value
        except KeyError:
            raise KeyError(f"parameter '{key}' is not defined in configs/parameters/") from None
        return np.asarray(v, dtype=float) if isinstance(v, tuple) else v

    def __contains__(self, key: str) -> bool:
        return key in self._p

    def spec(self, key: str) -> Parameter:
        return self._p[key]

    def items(self):
        return self._p.items()

    def __len__(self) -> int:
        return len(self._p)

    def with_values(self, **values: Any) -> ParameterSet:
        """A copy with some values replaced (keys use '__' for '.', or pass a dict via `update`)."""
        return self.update({k.replace("__", "."): v for k, v in values.items()})

    def update(self, values: dict[str, Any]) -> ParameterSet:
        new = dict(self._p)
        for k, v in values.items():
            if k not in new:
                raise KeyError(f"unknown parameter '{k}'")
            new[k] = replace(new[k], value=tuple(v) if isinstance(v, list | tuple | np.ndarray) else v)
        return ParameterSet(new)

    def draw(self, rng: np.random.Generator) -> ParameterSet:
        """A probabilistic-sensitivity draw of every uncertain parameter (sorted order: reproducible)."""
        return ParameterSet({k: self._p[k].draw(rng) for k in sorted(self._p)})

    def values(self) -> dict[str, Any]:
        return {k: p.value for k, p in self._p.items()}

    def table(self) -> list[dict[str, Any]]:
        """Rows for reports: every parameter with its uncertainty, source and confidence."""
        return [
            {"parameter": k, "value": p.value, "unit": p.unit, "uncertainty": p.describe_uncertainty(),
             "source": p.source, "confidence": p.confidence, "assumption": p.is_assumption,
             "calibrated": p.calibrated, "note": p.note, "file": p.file}
            for k, p in sorted(self._p.items())
        ]


def _check_spec(file: Path, name: str, spec: Any) -> Parameter:
    where = str(file)
    if not isinstance(spec, dict):
        raise ConfigError(where, name, "expected a mapping with value, source and confidence")
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise ConfigError(where, f"{name}.{sorted(unknown)[0]}", f"unknown key; allowed: {sorted(SPEC_KEYS)}")
    for req in ("value", "source", "confidence"):
        if req not in spec:
            raise ConfigError(where, f"{name}.{req}", "missing (every parameter needs value, source, confidence)")
    value = spec["value"]
    if isinstance(value, list):
        if not value or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value):
            raise ConfigError(where, f"{name}.value", "expected a number or a list of numbers")
        value = tuple(float(x) for x in value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        value = float(value)
    else:
        raise ConfigError(where, f"{name}.value", f"expected a number or a list of numbers, got {value!r}")
    conf = str(spec["confidence"])
    if conf not in CONFIDENCE:
        raise ConfigError(where, f"{name}.confidence", f"expected one of {sorted(CONFIDENCE)}, got {conf!r}")
    dist = spec.get("dist", {"type": "fixed"}) or {"type": "fixed"}
    if isinstance(dist, str):
        dist = {"type": dist}
    kind = dist.get("type") if isinstance(dist, dict) else None
    if kind not in DIST_FIELDS:
        raise ConfigError(where, f"{name}.dist.type", f"expected one of {sorted(DIST_FIELDS)}, got {kind!r}")
    missing = DIST_FIELDS[kind] - set(dist)
    if missing:
        raise ConfigError(where, f"{name}.dist", f"{kind} needs {sorted(missing)}")
    for k, v in dist.items():
        if k != "type" and not (isinstance(v, int | float) and not isinstance(v, bool)):
            raise ConfigError(where, f"{name}.dist.{k}", f"expected a number, got {v!r}")
    if isinstance(value, tuple) and kind in ("beta", "triangular", "uniform"):
        raise ConfigError(where, f"{name}.dist", f"{kind} draws one number; a list value needs lognormal, "
                                                 "normal or gamma (one shared factor) or fixed")
    if kind == "triangular" and not dist["low"] <= float(np.asarray(value).flat[0]) <= dist["high"]:
        raise ConfigError(where, f"{name}.dist", "triangular needs low <= value <= high")
    return Parameter(name=name, value=value, source=str(spec["source"]), confidence=conf, dist=dict(dist),
                     unit=str(spec.get("unit", "")), note=str(spec.get("note", "")),
                     calibrated=bool(spec.get("calibrated", False)), file=file.name)


def load_parameters(directory: str | Path) -> ParameterSet:
    """Read every configs/parameters/*.yaml; errors name the file and the parameter."""
    d = Path(directory)
    if not d.is_dir():
        raise ConfigError(str(d), None, "parameter folder not found")
    params: dict[str, Parameter] = {}
    files = sorted(d.glob("*.yaml"))
    if not files:
        raise ConfigError(str(d), None, "no parameter files (*.yaml) in this folder")
    for f in files:
        raw = read_yaml(f) or {}
        if not isinstance(raw, dict):
            raise ConfigError(str(f), None, "expected a mapping of parameter names to specs")
        for name, spec in raw.items():
            p = _check_spec(f, str(name), spec)
            params[f"{f.stem}.{name}"] = replace(p, name=f"{f.stem}.{name}")
    return ParameterSet(params)
