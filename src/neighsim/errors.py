"""User-facing errors: the CLI prints these as one clear line, never a traceback."""

from __future__ import annotations

import warnings


class NeighsimError(Exception):
    """An error caused by the user's input (files, values, options), explained in plain words."""


class ConfigError(NeighsimError):
    """A configuration, parameter or scenario file is missing, malformed or holds a bad value."""

    def __init__(self, file: str, field: str | None, message: str):
        self.file, self.field, self.message = str(file), field, message
        where = f"{self.file}" + (f", field '{field}'" if field else "")
        super().__init__(f"{where}: {message}")


class NeighsimWarning(UserWarning):
    """Input that is legal but probably not what was meant (a value that does nothing, a ramp that
    never completes); the CLI prints it as one line."""


def warn(message: str) -> None:
    warnings.warn(message, NeighsimWarning, stacklevel=3)
