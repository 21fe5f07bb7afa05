"""`contributions:` in a scenario file: what each intervention of a package contributes.

    contributions: true                       # waterfall in the file's order, and Shapley values
    contributions: {order: [tobacco, health_checks, warm_homes, falls_pathway], shapley: true}

The runner then also runs the package's subsets (runner/packages.py) with the same intervention
settings and names, so the same random numbers: the difference between two subsets is the effect of
the interventions that differ, paired replicate by replicate. The arithmetic is analysis/contributions.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ..errors import ConfigError

MAX_SHAPLEY = 6  # 2^6 - 2 = 62 subset scenarios; beyond this the runs grow too fast to be worth it
FIELD = "contributions"


class ContributionsSpec(BaseModel):
    """The mapping form of `contributions` (true is the same as {} here)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]] | None = \
        Field(None, description="the waterfall's order: every intervention's name once (default: the file's order)")
    shapley: bool = Field(True, description=f"also Shapley values (every subset is run; at most {MAX_SHAPLEY} "
                                            "interventions); false: the waterfall's prefixes and single "
                                            "interventions only")


def _coerce(v: Any) -> Any:
    """true -> {} (the defaults), false -> off; anything else must be the mapping."""
    if v is None or v is False:
        return None
    if v is True:
        return {}
    if isinstance(v, dict | ContributionsSpec):
        return v
    raise ValueError(f"expected true, false or a mapping with keys order and shapley, got {v!r:.60}")


ContributionsField = Annotated[ContributionsSpec | None, BeforeValidator(
    _coerce, json_schema_input_type=bool | ContributionsSpec | None)]
CONTRIBUTIONS_FIELD_DOC = ("what each intervention contributes: true, or {order, shapley}; runs the package's "
                           "subsets with common random numbers (summary outcomes contribution_*)")


@dataclass(frozen=True)
class Contributions:
    """Resolved: the waterfall's order (intervention names) and whether Shapley values are wanted."""

    order: tuple[str, ...]
    shapley: bool = True

    def describe(self) -> dict[str, Any]:
        return {"order": list(self.order), "shapley": self.shapley}


def resolve_contributions(value: bool | ContributionsSpec | None, names: list[str], file: str,
                          fld: str = FIELD) -> Contributions | None:
    """The file's (or the --contributions flag's) request checked against the package's interventions."""
    if value is None or value is False:
        return None
    spec = value if isinstance(value, ContributionsSpec) else ContributionsSpec()
    if len(names) < 2:
        raise ConfigError(file, fld, f"needs a package of 2 or more interventions; this scenario has {len(names)} "
                                     f"({', '.join(names)})")
    order = tuple(spec.order) if spec.order is not None else tuple(names)
    if spec.order is not None:
        unknown = [n for n in order if n not in names]
        if unknown:
            raise ConfigError(file, f"{fld}.order", f"names {unknown} that are not interventions of this scenario "
                                                    f"(its interventions: {', '.join(names)})")
        twice = sorted({n for n in order if order.count(n) > 1})
        if twice:
            raise ConfigError(file, f"{fld}.order", f"names {twice} more than once; give each intervention once")
        missing = [n for n in names if n not in order]
        if missing:
            raise ConfigError(file, f"{fld}.order", f"leaves out {missing}; the order must name every intervention "
                                                    f"of the scenario ({', '.join(names)})")
    if spec.shapley and len(names) > MAX_SHAPLEY:
        raise ConfigError(file, fld, f"Shapley values need every subset of the package run (2^k - 2 scenarios); "
                                     f"at most {MAX_SHAPLEY} interventions, this scenario has {len(names)}. Split the "
                                     "package, or set {shapley: false} for the waterfall alone")
    return Contributions(order=order, shapley=spec.shapley)
