"""Results on disk: one Parquet pair per finished task, written as soon as it finishes, plus a
done-marker written last, so an interrupted run loses nothing finished and `--resume` skips it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from .tasks import Task, TaskResult


class ResultStore:
    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.tasks_dir = self.out / "tasks"
        self.tasks_dir.mkdir(parents=True, exist_ok=True)

    def _paths(self, task: Task) -> tuple[Path, Path, Path]:
        base = self.tasks_dir / task.key
        return (base.with_suffix(".counts.parquet"), base.with_suffix(".lifetable.parquet"),
                base.with_suffix(".done.json"))

    def done(self, task: Task) -> bool:
        return self._paths(task)[2].is_file()

    def write(self, result: TaskResult) -> None:
        counts, lt, done = self._paths(result.task)
        for df, path in ((result.counts, counts), (result.lifetable, lt)):
            tmp = path.with_suffix(".tmp")
            df.to_parquet(tmp, index=False)
            os.replace(tmp, path)
        marker = {"task": result.task.key, "scenario": result.task.scenario, "replicate": result.task.replicate,
                  "param_draw": result.task.param_draw, "neighbourhoods": list(result.task.neighbourhoods),
                  "seconds": round(result.seconds, 3), "residents": result.residents, "interventions": result.extra}
        done.write_text(json.dumps(marker))

    def markers(self) -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted(self.tasks_dir.glob("*.done.json"))]

    def load(self, kind: str = "counts") -> pd.DataFrame:
        frames = []
        for m in self.markers():
            path = self.tasks_dir / f"{m['task']}.{kind}.parquet"
            frames.append(pd.read_parquet(path))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
