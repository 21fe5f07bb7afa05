"""Where bundled data and the default configuration live, for an editable install or a checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"


def project_root() -> Path:
    """The checkout root (holds configs/), found from the working directory first, then the package."""
    for base in (Path.cwd(), *Path.cwd().parents, PACKAGE_DIR.parents[1]):
        if (base / "configs" / "ics.yaml").is_file():
            return base
    return PACKAGE_DIR.parents[1]


def configs_dir() -> Path:
    return project_root() / "configs"
