"""Registry of intervention types: the four built-in modules and plug-ins from other packages, all
found the same way, through the entry-point group `neighsim.interventions` (neighsim's own
pyproject.toml lists the built-ins there), so this module imports none of them.

A module registers itself with the decorator::

    from neighsim.interventions import Intervention, register

    @register("social_prescribing")
    class SocialPrescribing(Intervention):
        ...

Another installed package can provide modules without touching neighsim, through the entry-point
group `neighsim.interventions` in its pyproject.toml::

    [project.entry-points."neighsim.interventions"]
    social_prescribing = "my_package.social:SocialPrescribing"

The entry point may name an Intervention subclass (registered under the entry point's name unless it
registered itself) or a module whose import registers its classes. Plug-ins are discovered the first
time `get` or `available` is called (also in Ray workers, which import the same environment).

A plug-in ships its own parameters (value, uncertainty, source and confidence mark, the format of
configs/parameters/*.yaml), which `load_parameters` merges into the project's (`parameter_sources`):

- a `parameters/` folder next to the module of a registered plug-in type (inside its package), read
  whenever the type is registered, installed or in-process: `my_package/parameters/social.yaml` holds
  `social.uptake`, ... (the file's stem is the group, as in configs/parameters/);
- the entry-point group `neighsim.parameters`, for files kept elsewhere or a package of parameters
  alone: a module (its `parameters/` folder) or a module attribute holding a path to a YAML file or a
  folder of them (relative paths are relative to that module's folder)::

      [project.entry-points."neighsim.parameters"]
      social_prescribing = "my_package.social"                  # my_package/parameters/*.yaml
      social_costs = "my_package.social:COSTS_FILE"              # COSTS_FILE = "costs/social_costs.yaml"

- `register_parameters(path, plugin)` in-process (a notebook, a test).
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from ..errors import NeighsimError
from .base import Intervention

GROUP = "neighsim.interventions"
PARAMETERS_GROUP = "neighsim.parameters"
PARAMETERS_FOLDER = "parameters"  # a plug-in's parameter files, next to its module
_REGISTRY: dict[str, type[Intervention]] = {}
_PARAMETER_PATHS: dict[Path, str] = {}  # registered in-process: file or folder -> plug-in name
_PARAMETER_ENTRY_POINTS: list | None = None
_PLUGINS_LOADED = False
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def register(name: str | None = None):
    """Class decorator: make an Intervention subclass available to scenario files as `type: name`."""

    def deco(cls: type[Intervention]) -> type[Intervention]:
        if not (isinstance(cls, type) and issubclass(cls, Intervention)):
            raise TypeError(f"{cls!r} is not a subclass of neighsim.interventions.Intervention")
        key = name or cls.type_name
        if not key or not _NAME.match(key):
            raise NeighsimError(f"intervention type names are lower-case identifiers (a-z, 0-9, _), not {key!r}")
        existing = _REGISTRY.get(key)
        if existing is not None and existing is not cls:
            raise NeighsimError(f"intervention type {key!r} is already registered by "
                                f"{existing.__module__}.{existing.__qualname__}")
        if "type_name" not in cls.__dict__ or not cls.type_name:
            cls.type_name = key
        _REGISTRY[key] = cls
        return cls

    return deco


def unregister(name: str) -> None:
    """Remove a type (for tests and interactive sessions)."""
    _REGISTRY.pop(name, None)


def _entry_points():
    eps = list(entry_points(group=GROUP))
    if not any(ep.value.startswith("neighsim.") for ep in eps):
        eps += _checkout_entry_points()  # run from a source tree without installed metadata
    return eps


def _checkout_entry_points():
    """The built-ins' entry points read from the checkout's pyproject.toml (the one place they are listed)."""
    import tomllib
    from importlib.metadata import EntryPoint

    from ..paths import PACKAGE_DIR

    path = PACKAGE_DIR.parents[1] / "pyproject.toml"
    if not path.is_file():
        return []
    table = tomllib.loads(path.read_text()).get("project", {}).get("entry-points", {}).get(GROUP, {})
    return [EntryPoint(name=k, value=v, group=GROUP) for k, v in table.items()]


def load_plugins() -> list[str]:
    """Import the entry points of group `neighsim.interventions`; returns the names added. A plug-in
    that fails to import is skipped with a warning (the built-in modules stay usable)."""
    added = []
    for ep in _entry_points():
        if ep.name in _REGISTRY:
            continue
        try:
            obj = ep.load()
        except Exception as exc:  # a broken third-party package must not break the built-ins
            warnings.warn(f"neighsim: intervention plug-in {ep.name!r} ({ep.value}) failed to load: {exc}",
                          stacklevel=2)
            continue
        if isinstance(obj, type) and issubclass(obj, Intervention) and obj not in _REGISTRY.values():
            register(ep.name)(obj)
        mod = getattr(obj, "__name__", None) if not isinstance(obj, type) else None
        if ep.name in _REGISTRY or any(v is obj or v.__module__ == mod for v in _REGISTRY.values()):
            added.append(ep.name)
        else:
            warnings.warn(f"neighsim: intervention plug-in {ep.name!r} ({ep.value}) is neither an "
                          "Intervention subclass nor a module that registers one", stacklevel=2)
    return added


def _ensure_loaded() -> None:
    global _PLUGINS_LOADED
    if not _PLUGINS_LOADED:
        _PLUGINS_LOADED = True
        load_plugins()


def get(name: str) -> type[Intervention]:
    """The class registered as `name`; KeyError (listing the known names) if there is none."""
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown intervention type {name!r}; available: {', '.join(available())}") from None


def available() -> list[str]:
    _ensure_loaded()
    return sorted(_REGISTRY)


def types() -> dict[str, type[Intervention]]:
    """Every registered type by name (built-ins and plug-ins)."""
    _ensure_loaded()
    return dict(_REGISTRY)


# --- plug-ins' parameters ---------------------------------------------------------------------------------
def register_parameters(path: str | os.PathLike, plugin: str) -> Path:
    """Add a plug-in's parameter file (or folder of *.yaml files) in-process, e.g. for a module
    registered from a notebook; `load_parameters` merges it from now on. Returns the resolved path."""
    p = Path(path).resolve()
    if not p.exists():
        raise NeighsimError(f"plug-in {plugin!r}: parameter file or folder {p} not found")
    _PARAMETER_PATHS[p] = plugin
    return p


def unregister_parameters(path: str | os.PathLike) -> None:
    """Forget a path given to `register_parameters` (for tests and interactive sessions)."""
    _PARAMETER_PATHS.pop(Path(path).resolve(), None)


def _parameter_entry_points() -> list:
    """The entry points of group `neighsim.parameters` (read once per process)."""
    global _PARAMETER_ENTRY_POINTS
    if _PARAMETER_ENTRY_POINTS is None:
        _PARAMETER_ENTRY_POINTS = sorted(entry_points(group=PARAMETERS_GROUP), key=lambda ep: ep.name)
    return _PARAMETER_ENTRY_POINTS


def _module_folder(module: ModuleType) -> Path | None:
    f = getattr(module, "__file__", None)
    return Path(f).resolve().parent if f else None


def _entry_point_path(ep) -> Path | None:
    """The file or folder an entry point of `neighsim.parameters` names (None: it failed to load, warned)."""
    try:
        obj = ep.load()
    except Exception as exc:  # a broken third-party package must not break the project's parameters
        warnings.warn(f"neighsim: parameters plug-in {ep.name!r} ({ep.value}) failed to load: {exc}", stacklevel=3)
        return None
    if isinstance(obj, ModuleType):
        folder = _module_folder(obj)
        path = folder / PARAMETERS_FOLDER if folder else None
        what = f"the module's '{PARAMETERS_FOLDER}/' folder"
    elif isinstance(obj, str | os.PathLike) or hasattr(obj, "joinpath"):  # a path, or importlib.resources'
        path = Path(os.fspath(obj) if isinstance(obj, str | os.PathLike) else str(obj))
        if not path.is_absolute():
            folder = _module_folder(sys.modules[ep.module])
            path = (folder or Path.cwd()) / path
        what = "the path it names"
    else:
        raise NeighsimError(f"parameters plug-in {ep.name!r} ({ep.value}): expected a module or a path to a "
                            f"YAML file or folder, got {type(obj).__name__}")
    if path is None or not path.exists():
        raise NeighsimError(f"parameters plug-in {ep.name!r} ({ep.value}): {what} ({path}) does not exist")
    return path.resolve()


def _type_parameter_folder(cls: type[Intervention]) -> Path | None:
    """`parameters/` beside the module of a plug-in type, when that module is part of a package (a
    top-level module's folder is site-packages or the working folder: nothing there is the plug-in's)."""
    mod = sys.modules.get(cls.__module__)
    name = cls.__module__
    if mod is None or name == "neighsim" or name.startswith("neighsim."):
        return None
    if "." not in name and not hasattr(mod, "__path__"):
        return None
    folder = _module_folder(mod)
    return folder / PARAMETERS_FOLDER if folder and (folder / PARAMETERS_FOLDER).is_dir() else None


def parameter_sources() -> list[tuple[str, Path]]:
    """Where plug-ins keep their parameters: (plug-in name, a YAML file or a folder of them), each path
    once: the entry points of `neighsim.parameters` (by name), the `parameters/` folders of registered
    plug-in types (by type name), then paths given to `register_parameters`. Loads the intervention
    plug-ins first, so that an installed plug-in's folder is found whatever was imported before."""
    out: dict[Path, str] = {}
    for ep in _parameter_entry_points():
        path = _entry_point_path(ep)
        if path is not None:
            out.setdefault(path, ep.name)
    for name, cls in sorted(types().items()):
        folder = _type_parameter_folder(cls)
        if folder is not None:
            out.setdefault(folder.resolve(), name)
    for path, name in _PARAMETER_PATHS.items():
        out.setdefault(path, name)
    return [(name, path) for path, name in out.items()]
