"""Where undelivered batches wait while the collector is unreachable: a bounded directory.

Each payload is one file, written to a temporary name and renamed, so a crash never leaves half a
batch; files are named by a sequence number and replayed oldest first. Each client owns a
subdirectory, locked with ``flock`` while it lives; a new client adopts the subdirectories of
clients that are gone (a process that exited with the collector down), so their records are
delivered too, before its own.

:class:`MemorySpill` keeps payloads in memory instead, for a client with no spill directory.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections import deque
from pathlib import Path
from typing import Protocol

from sightline.sdk.transport import ARROW_STREAM, JSON, Payload

__all__ = ["DirectorySpill", "MemorySpill", "Spill"]

_EXTENSIONS = {JSON: "json", ARROW_STREAM: "arrow"}
_TYPES = {v: k for k, v in _EXTENSIONS.items()}
_LOCK = ".lock"


class Spill(Protocol):
    """A bounded FIFO of payloads waiting for delivery."""

    n_bytes: int
    n_records: int
    persistent: bool  # whether what it holds outlives the process

    def put(self, payload: Payload) -> bool:
        """Keep ``payload`` at the end; False (and nothing kept) when it would pass the bound."""
        ...

    def peek(self) -> Payload | None:
        """The oldest payload, or None when empty."""
        ...

    def pop(self) -> None:
        """Forget the oldest payload (it was delivered)."""
        ...

    def __len__(self) -> int: ...

    def close(self) -> None: ...


class MemorySpill:
    """Payloads kept in memory, up to ``max_bytes``."""

    persistent = False

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.n_bytes = 0
        self.n_records = 0
        self._items: deque[Payload] = deque()

    def put(self, payload: Payload) -> bool:
        if self.n_bytes + len(payload.body) > self.max_bytes:
            return False
        self._items.append(payload)
        self.n_bytes += len(payload.body)
        self.n_records += payload.n_records
        return True

    def peek(self) -> Payload | None:
        return self._items[0] if self._items else None

    def pop(self) -> None:
        payload = self._items.popleft()
        self.n_bytes -= len(payload.body)
        self.n_records -= payload.n_records

    def __len__(self) -> int:
        return len(self._items)

    def close(self) -> None:
        self._items.clear()


class DirectorySpill:
    """Payloads as files under ``root``, up to ``max_bytes`` on disk."""

    persistent = True

    def __init__(self, root: Path, max_bytes: int):
        self.root = root
        self.max_bytes = max_bytes
        root.mkdir(parents=True, exist_ok=True)
        self.dir = root / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.dir.mkdir()
        self._lock_fd = _lock(self.dir)
        self._files: deque[tuple[Path, int, int]] = deque()  # path, records, bytes
        self.n_bytes = 0
        self.n_records = 0
        self._seq = 0
        self._adopt()

    def _adopt(self) -> None:
        """Take over the files of clients that are gone, oldest first."""
        for other in sorted(p for p in self.root.iterdir() if p.is_dir() and p != self.dir):
            fd = _lock(other, wait=False)
            if fd is None:
                continue  # a live client owns it
            try:
                for path in sorted(other.iterdir()):
                    entry = _parse_name(path)
                    if entry is None:
                        continue
                    target = self.dir / self._name(entry[0], entry[1], path.name.endswith(".gz"))
                    os.replace(path, target)
                    self._remember(target, entry[0], target.stat().st_size)
            finally:
                os.close(fd)
            with contextlib.suppress(OSError):
                (other / _LOCK).unlink()
                other.rmdir()

    def _name(self, records: int, content_type: str, compressed: bool) -> str:
        self._seq += 1
        ext = _EXTENSIONS.get(content_type, "json")
        return f"{self._seq:016d}.{records}.{ext}" + (".gz" if compressed else "")

    def _remember(self, path: Path, records: int, size: int) -> None:
        self._files.append((path, records, size))
        self.n_bytes += size
        self.n_records += records

    def put(self, payload: Payload) -> bool:
        size = len(payload.body)
        if self.n_bytes + size > self.max_bytes:
            return False
        path = self.dir / self._name(payload.n_records, payload.content_type, payload.compressed)
        partial = path.with_name(path.name + ".partial")
        try:
            partial.write_bytes(payload.body)
            os.replace(partial, path)
        except OSError:
            with contextlib.suppress(OSError):
                partial.unlink()
            return False  # a full or read-only disk: the caller counts the records as dropped
        self._remember(path, payload.n_records, size)
        return True

    def peek(self) -> Payload | None:
        while self._files:
            path, records, _ = self._files[0]
            try:
                body = path.read_bytes()
            except OSError:
                self.pop()  # removed by hand: nothing left to deliver
                continue
            content_type = _TYPES.get(path.name.removesuffix(".gz").rsplit(".", 1)[-1], JSON)
            return Payload(body, content_type, records, path.name.endswith(".gz"))
        return None

    def pop(self) -> None:
        path, records, size = self._files.popleft()
        self.n_bytes -= size
        self.n_records -= records
        with contextlib.suppress(OSError):
            path.unlink()

    def __len__(self) -> int:
        return len(self._files)

    def close(self) -> None:
        """Release the directory; it is removed when empty, else left for the next client."""
        if not self._files:
            with contextlib.suppress(OSError):
                (self.dir / _LOCK).unlink()
                self.dir.rmdir()
        self.release()

    def release(self) -> None:
        """Close the lock without unlocking (after ``fork()`` the parent still holds it)."""
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None


def _parse_name(path: Path) -> tuple[int, str] | None:
    parts = path.name.removesuffix(".gz").split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return int(parts[1]), _TYPES.get(parts[2], JSON)


def _lock(directory: Path, wait: bool = True) -> int | None:
    """An open, exclusively locked ``.lock`` file of ``directory`` (None: held by another)."""
    try:
        import fcntl  # POSIX only; elsewhere directories are never adopted
    except ImportError:
        return None if not wait else os.open(os.devnull, os.O_RDONLY)
    fd = os.open(directory / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError:
        os.close(fd)
        return None
    return fd
