"""JSON Schemas of the input files, generated from the pydantic models that validate them, for
editors (YAML language servers read them) and for docs/inputs.md. `neighsim schema KIND`."""

from __future__ import annotations

from typing import Any

KINDS = ("ics", "scenario", "experiment", "parameters")


def json_schema(kind: str) -> dict[str, Any]:
    if kind == "ics":
        from .config import ICSConfig

        schema = ICSConfig.model_json_schema()
        for internal in ("source", "base_dir"):  # set by the loader, not written in the file
            schema.get("properties", {}).pop(internal, None)
    elif kind == "scenario":
        from .interventions import registry
        from .interventions.schema import scenario_model

        schema = scenario_model(registry.types()).model_json_schema()
    elif kind == "experiment":
        from .runner.experiment_file import ExperimentSpec

        schema = ExperimentSpec.model_json_schema()
    elif kind == "parameters":
        from .parameters import ParameterFile

        schema = ParameterFile.model_json_schema()
    else:
        raise ValueError(f"unknown schema {kind!r}; expected one of {KINDS}")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": f"neighsim {kind} file"}
