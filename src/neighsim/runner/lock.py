"""One writer per output folder: an exclusive lock held for the whole run.

The lock is an flock on DIR/.neighsim.lock, so the operating system releases it when the process
ends in any way (even kill -9): a lock left by a dead process is stale by construction and simply
taken over. The file records who holds it, for the message a second run prints.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
from pathlib import Path

from ..errors import NeighsimError

LOCK_NAME = ".neighsim.lock"
_HELD: set[int] = set()  # descriptors of the locks this process holds


def _drop_in_child() -> None:
    """A forked worker must not keep its parent's lock alive (a flock lives while any copy of the
    descriptor is open): point the copies at /dev/null. Not LOCK_UN, which would release the parent's."""
    if not _HELD:
        return
    null = os.open(os.devnull, os.O_RDONLY)
    for fd in list(_HELD):
        os.dup2(null, fd)
    os.close(null)
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_in_child)


class FolderLock:
    def __init__(self, folder: Path):
        self.path = Path(folder) / LOCK_NAME
        self.fh = None
        self.stale: dict | None = None

    def acquire(self) -> FolderLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = _read(fh.read())
            fh.close()
            who = (f"pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started')}"
                   if holder else "another process")
            raise NeighsimError(f"{self.path.parent} is being written by another neighsim run ({who}); wait for "
                                "it to finish or choose another --out") from None
        fh.seek(0)
        self.stale = _read(fh.read()) or None  # a previous holder that ended without releasing
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                             "started": dt.datetime.now().isoformat(timespec="seconds")}))
        fh.flush()
        self.fh = fh
        _HELD.add(fh.fileno())
        return self

    def release(self) -> None:
        if self.fh is not None:
            _HELD.discard(self.fh.fileno())
            self.fh.seek(0)
            self.fh.truncate()
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_UN)
            self.fh.close()
            self.fh = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read(text: str) -> dict:
    try:
        d = json.loads(text)
    except ValueError:
        return {}
    return d if isinstance(d, dict) else {}
