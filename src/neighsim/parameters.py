"""Model parameters: value, uncertainty, source and confidence for every number the model uses.

Files in configs/parameters/*.yaml map parameter names to specs; the file's stem is the group, so
`mortality.yaml: smoking_hr` is addressed as `mortality.smoking_hr`. Confidence marks follow
the evidence notes (docs/evidence_notes.md): V (read in the source), M (commonly quoted, unchecked:
treated as an assumption), D (derived), A (assumption with no published source; calibrated or chosen
by the team).

Plug-in intervention packages ship their own parameter files in the same format (a `parameters/`
folder beside the plug-in's module, or the entry-point group `neighsim.parameters`: see
interventions/registry.py); `load_parameters` merges them with the same checks, and a name that is
already defined elsewhere is an error naming both files.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    RootModel,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from .config import read_yaml, validation_to_config_error
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
    plugin: str = ""  # the plug-in that ships it ("" for the project's parameter folder)

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
        """One probabilistic-sensitivity draw. List values move together (one shared factor) unless a
        lognormal gives one se per element."""
        kind = self.dist.get("type", "fixed")
        v = self.array()
        if kind == "fixed":
            return self
        if kind == "lognormal":
            se = self.dist["se"]
            if isinstance(se, list | tuple):  # each element on its own
                new = v * np.exp(rng.normal(0.0, np.asarray(se, dtype=float)))
            else:
                new = v * float(np.exp(rng.normal(0.0, se)))
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

    def quantile(self, q: float) -> float | tuple[float, ...]:
        """The value at quantile q (0 < q < 1) of the distribution `draw` samples from, in the same form as
        `value` (a tuple for a list). A list moves together: every element at the same quantile (its own
        se where a lognormal gives one per element). A fixed parameter returns its value. For deterministic
        (one-way) sensitivity analysis."""
        from scipy import stats

        if not 0.0 < float(q) < 1.0:
            raise ValueError(f"{self.name}: quantile must be between 0 and 1 (exclusive), got {q}")
        kind = self.dist.get("type", "fixed")
        v = self.array()
        if kind == "fixed":
            return self.value
        z = float(stats.norm.ppf(q))
        if kind == "lognormal":
            new = v * np.exp(np.asarray(self.dist["se"], dtype=float) * z)
        elif kind == "normal":
            new = v + float(self.dist["sd"]) * z
        elif kind == "beta":
            new = np.full_like(v, stats.beta.ppf(q, self.dist["a"], self.dist["b"]))
        elif kind == "gamma":
            shape = float(self.dist["shape"])
            new = v * float(stats.gamma.ppf(q, shape, scale=1.0 / shape))
        elif kind == "triangular":
            low, high, mode = float(self.dist["low"]), float(self.dist["high"]), float(v.flat[0])
            x = low if high == low else stats.triang.ppf(q, (mode - low) / (high - low), loc=low, scale=high - low)
            new = np.full_like(v, x)
        elif kind == "uniform":
            low, high = float(self.dist["low"]), float(self.dist["high"])
            new = np.full_like(v, low + q * (high - low))
        else:  # validated at load time
            raise AssertionError(kind)
        new = np.asarray(new, dtype=float)
        return float(new) if new.ndim == 0 else tuple(float(x) for x in new)


class ParameterSet:
    """All parameters, addressed as 'group.name'. Values are read with `p['group.name']`.

    `joint`: accepted joint draws of calibrated parameters (a table, one column per parameter) from
    `neighsim calibrate`; a PSA draw takes one row of it for those parameters, so that the draw keeps
    reproducing the calibration targets, instead of drawing them one by one."""

    def __init__(self, params: dict[str, Parameter], joint: pd.DataFrame | None = None):
        self._p = dict(params)
        self.joint = joint

    def spec(self, key: str) -> Parameter:
        return self._p[key]

    def __getitem__(self, key: str) -> Any:
        try:
            v = self._p[key].value
        except KeyError:
            raise KeyError(f"parameter '{key}' is not defined in configs/parameters/ or in a plug-in's "
                           "parameter files") from None
        return np.asarray(v, dtype=float) if isinstance(v, tuple) else v

    def __contains__(self, key: str) -> bool:
        return key in self._p

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
        return ParameterSet(new, self.joint)

    def draw(self, rng: np.random.Generator) -> ParameterSet:
        """A probabilistic-sensitivity draw of every uncertain parameter (sorted order: reproducible);
        calibrated parameters with accepted joint draws take one row of them together. Plug-ins'
        parameters are drawn after those, each from its own generator keyed on one number from `rng`
        and its name: installing a plug-in moves no draw of the project's parameters or another plug-in's."""
        own = sorted(k for k, p in self._p.items() if not p.plugin)
        drawn = {k: self._p[k].draw(rng) for k in own}
        if self.joint is not None and len(self.joint):
            row = self.joint.iloc[int(rng.integers(len(self.joint)))]
            for k, v in row.items():
                drawn[k] = replace(drawn.get(k, self._p[k]), value=float(v))
        plugins = sorted(k for k, p in self._p.items() if p.plugin and k not in drawn)
        if plugins:
            key = int(rng.integers(2**63))
            for k in plugins:
                name = int.from_bytes(hashlib.sha256(k.encode()).digest()[:8], "little")
                drawn[k] = self._p[k].draw(np.random.Generator(np.random.Philox(key=[key, name])))
        return ParameterSet({k: drawn[k] for k in sorted(drawn)}, self.joint)

    def quantile(self, key: str, q: float) -> float | tuple[float, ...]:
        """The value of one parameter at quantile q of its PSA distribution: for a calibrated parameter
        with accepted joint draws, the empirical quantile of its column (what `draw` samples from);
        otherwise `Parameter.quantile`."""
        if key not in self._p:
            raise KeyError(f"unknown parameter '{key}'")
        if self.joint is not None and len(self.joint) and key in self.joint.columns:
            if not 0.0 < float(q) < 1.0:
                raise ValueError(f"{key}: quantile must be between 0 and 1 (exclusive), got {q}")
            return float(np.quantile(self.joint[key].to_numpy(dtype=float), q))
        return self._p[key].quantile(q)

    def values(self) -> dict[str, Any]:
        return {k: p.value for k, p in self._p.items()}

    def table(self) -> list[dict[str, Any]]:
        """Rows for reports: every parameter with its uncertainty, source and confidence."""
        return [
            {"parameter": k, "value": p.value, "unit": p.unit, "uncertainty": p.describe_uncertainty(),
             "source": p.source, "confidence": p.confidence, "assumption": p.is_assumption,
             "calibrated": p.calibrated, "note": p.note, "file": p.file, "plugin": p.plugin}
            for k, p in sorted(self._p.items())
        ]


class ReadRecorder(ParameterSet):
    """A ParameterSet that notes every parameter read (`seen`); '*' when everything is read at once: what
    a run used (its report lists those) and what a one-way sensitivity needs to re-run."""

    def __init__(self, params: ParameterSet, seen: set[str]):
        super().__init__(dict(params.items()), params.joint)
        self.seen = seen

    def __getitem__(self, key: str) -> Any:
        self.seen.add(key)
        return super().__getitem__(key)

    def spec(self, key: str):
        self.seen.add(key)
        return super().spec(key)

    def items(self):
        self.seen.add("*")
        return super().items()

    def values(self) -> dict[str, Any]:
        self.seen.add("*")
        return super().values()

    def table(self) -> list[dict[str, Any]]:
        self.seen.add("*")
        return super().table()

    def update(self, values: dict[str, Any]) -> ParameterSet:
        return ReadRecorder(ParameterSet.update(self, values), self.seen)

    def draw(self, rng: np.random.Generator) -> ParameterSet:
        return ReadRecorder(ParameterSet.draw(self, rng), self.seen)


# --- the file format, as pydantic models (also published as JSON Schema by `neighsim schema parameters`) ---
class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
PositiveNumber = Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]


class Fixed(_Spec):
    type: Literal["fixed"]


SE = Annotated[float, Field(strict=True, ge=0, le=5)]


class Lognormal(_Spec):
    """Multiplicative: value x exp(N(0, se)), median = value. For a list value, one se moves every element
    together (one shared factor); a list of se (one per element) draws each element on its own, as for
    hazard ratios by category whose common factor a normalisation would cancel."""
    type: Literal["lognormal"]
    se: SE | Annotated[list[SE], Field(min_length=1, max_length=1000)]


class Normal(_Spec):
    type: Literal["normal"]
    sd: Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]


class Beta(_Spec):
    type: Literal["beta"]
    a: PositiveNumber
    b: PositiveNumber


class Gamma(_Spec):
    """Mean preserved: scale = value / shape."""
    type: Literal["gamma"]
    shape: PositiveNumber


class Triangular(_Spec):
    """Mode = value."""
    type: Literal["triangular"]
    low: Number
    high: Number


class Uniform(_Spec):
    type: Literal["uniform"]
    low: Number
    high: Number


def _dist_shorthand(v: Any) -> Any:
    return {"type": v} if isinstance(v, str) else ({"type": "fixed"} if v is None else v)


Distribution = Annotated[Fixed | Lognormal | Normal | Beta | Gamma | Triangular | Uniform,
                         Field(discriminator="type"), BeforeValidator(_dist_shorthand)]
DIST_TAGS = frozenset(DIST_FIELDS)


def _number_or_list(v: Any) -> float | list[float]:
    def num(x: Any) -> bool:
        return isinstance(x, int | float) and not isinstance(x, bool) and bool(np.isfinite(x))
    if isinstance(v, list):
        if not v or len(v) > 1000 or not all(num(x) for x in v):
            raise ValueError(f"expected a list of 1 to 1000 finite numbers, got {v!r:.80}")
        return [float(x) for x in v]
    if not num(v):
        raise ValueError(f"expected a finite number or a list of numbers, got {v!r:.80}")
    return float(v)


class ParameterSpec(_Spec):
    """One parameter: its value, uncertainty and where it comes from."""

    value: Annotated[float | list[float], PlainValidator(_number_or_list, json_schema_input_type=float | list[float])]
    source: Annotated[str, Field(min_length=1, description="where the value comes from (resolvable in docs/)")]
    confidence: Literal["V", "M", "D", "A"] = Field(description="; ".join(f"{k}: {v}" for k, v in CONFIDENCE.items()))
    dist: Distribution = Field(default_factory=lambda: Fixed(type="fixed"))
    unit: str = ""
    note: str = ""
    calibrated: bool = False

    @field_validator("dist")
    @classmethod
    def _dist_fits_value(cls, dist: Any, info: ValidationInfo) -> Any:
        kind, value = dist.type, info.data.get("value")
        if isinstance(value, list) and kind in ("beta", "triangular", "uniform"):
            raise ValueError(f"{kind} draws one number; a list value needs lognormal, normal or gamma "
                             "(one shared factor) or fixed")
        se = getattr(dist, "se", None)
        if isinstance(se, list) and (not isinstance(value, list) or len(se) != len(value)):
            n = len(value) if isinstance(value, list) else 1
            raise ValueError(f"a list of se needs a list value of the same length ({len(se)} se for {n} value(s))")
        if kind in ("triangular", "uniform") and not dist.low <= dist.high:
            raise ValueError(f"{kind} needs low <= high")
        if kind == "triangular" and value is not None and not dist.low <= float(np.asarray(value).flat[0]) <= dist.high:
            raise ValueError("triangular needs low <= value <= high")
        return dist


ParameterFile = RootModel[dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], ParameterSpec]]


def _parameter(file: Path, name: str, spec: ParameterSpec, plugin: str = "") -> Parameter:
    value = tuple(float(x) for x in spec.value) if isinstance(spec.value, list) else float(spec.value)
    return Parameter(name=name, value=value, source=spec.source.strip(), confidence=spec.confidence,
                     dist=spec.dist.model_dump(), unit=spec.unit, note=spec.note, calibrated=spec.calibrated,
                     file=f"{file.name} (plug-in {plugin})" if plugin else file.name, plugin=plugin)


def _check_file(f: Path, raw: Any) -> dict[str, ParameterSpec]:
    if not isinstance(raw, dict):
        raise ConfigError(str(f), None, "expected a mapping of parameter names to specs")
    try:
        return ParameterFile.model_validate(raw).root
    except ValidationError as exc:
        raise validation_to_config_error(f, exc, DIST_TAGS) from None


def load_parameters(directory: str | Path, plugins: bool = True) -> ParameterSet:
    """Read every configs/parameters/*.yaml, then (with `plugins`) the parameter files plug-ins ship
    (`plugin_parameter_files`), checked the same way; errors name the file and the parameter, and a
    plug-in's parameter whose name is already defined (by the project or another plug-in) is an error
    naming both files."""
    d = Path(directory)
    if not d.is_dir():
        raise ConfigError(str(d), None, "parameter folder not found")
    params: dict[str, Parameter] = {}
    files = sorted(f for f in d.glob("*.yaml") if f.name != CALIBRATION_RECORD)
    if not files:
        raise ConfigError(str(d), None, "no parameter files (*.yaml) in this folder")
    for f in files:
        raw = read_yaml(f) or {}
        if not isinstance(raw, dict):
            raise ConfigError(str(f), None, "expected a mapping of parameter names to specs")
        for name, spec in _check_file(f, raw).items():
            params[f"{f.stem}.{name}"] = _parameter(f, f"{f.stem}.{name}", spec)
    if plugins:
        origin = {k: str(d / p.file) for k, p in params.items()}
        for plugin, f in plugin_parameter_files(d):
            for name, spec in _check_file(f, read_yaml(f) or {}).items():
                key = f"{f.stem}.{name}"
                if key in params:
                    raise ConfigError(str(f), name, f"plug-in {plugin!r} defines parameter '{key}', which "
                                                    f"{origin[key]} already defines; rename one of them (a plug-in "
                                                    "keeps its parameters in a group of its own: the file's name)")
                params[key] = _parameter(f, key, spec, plugin)
                origin[key] = f"{f} (plug-in {plugin!r})"
    return ParameterSet(params, _joint_draws(d / ACCEPTED_DRAWS, params))


def plugin_parameter_files(project: str | Path | None = None) -> list[tuple[str, Path]]:
    """(plug-in, file) for every parameter file plug-ins ship (`registry.parameter_sources`: a file, or a
    folder's *.yaml), leaving out the project's own folder `project`. A file's stem is its group, so it
    must be a lower-case identifier."""
    from .interventions import registry

    skip = Path(project).resolve() if project is not None else None
    out: list[tuple[str, Path]] = []
    for plugin, path in registry.parameter_sources():
        if skip is not None and path.resolve() == skip:
            continue
        if path.is_dir():
            found = sorted(f for f in path.glob("*.yaml") if f.name != CALIBRATION_RECORD)
            if not found:
                raise ConfigError(str(path), None, f"plug-in {plugin!r}: no parameter files (*.yaml) in this folder")
        else:
            found = [path]
        for f in found:
            if not _GROUP.match(f.stem):
                raise ConfigError(str(f), None, f"plug-in {plugin!r}: a parameter file's name is its group, so it "
                                                f"must be a lower-case identifier (a-z, 0-9, _), not {f.stem!r}")
            out.append((plugin, f))
    return out


_GROUP = re.compile(r"^[a-z][a-z0-9_]*$")


ACCEPTED_DRAWS = "accepted_draws.csv"
CALIBRATION_RECORD = "calibration.yaml"  # what `neighsim calibrate` fitted, to what and how well (not parameters)


def _joint_draws(path: Path, params: dict[str, Parameter]) -> pd.DataFrame | None:
    """The accepted joint draws written by `neighsim calibrate`, checked: known scalar parameters,
    finite numbers, at least one row."""
    if not path.is_file():
        return None
    try:
        df = pd.read_csv(path)
    except Exception as exc:  # pandas raises several parser errors; all mean "not a table we can read"
        raise ConfigError(str(path), None, f"cannot read as CSV: {exc}") from None
    for col in df.columns:
        if col not in params:
            raise ConfigError(str(path), col, "not a parameter of this folder (a column per calibrated parameter)")
        if isinstance(params[col].value, tuple):
            raise ConfigError(str(path), col, "a list-valued parameter cannot take joint draws")
        values = pd.to_numeric(df[col], errors="coerce")
        if values.isna().any() or not np.isfinite(values).all():
            raise ConfigError(str(path), col, "expected a finite number in every row")
    if df.empty or not len(df.columns):
        raise ConfigError(str(path), None, "expected a header of parameter names and at least one row")
    return df.astype(float)
