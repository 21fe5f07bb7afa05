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
"""

from __future__ import annotations

import re
import warnings
from importlib.metadata import entry_points

from ..errors import NeighsimError
from .base import Intervention

GROUP = "neighsim.interventions"
_REGISTRY: dict[str, type[Intervention]] = {}
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
