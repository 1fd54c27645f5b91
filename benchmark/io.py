"""Small shared file helpers."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def umask_mode(base: int = 0o666) -> int:
    """``base`` less the process umask: the mode ``open()`` would give a new file. ``mkstemp`` creates
    0600 whatever the umask, which would leave a shared study on a cluster unreadable to colleagues."""
    mask = os.umask(0)
    os.umask(mask)
    return base & ~mask


def mkstemp_shared(path: Path) -> tuple[int, str]:
    """A temp file beside ``path`` (same filesystem, so the rename is atomic) with the umask's mode."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem[:16]}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, umask_mode())
    return fd, tmp


def write_json_atomic(path: str | Path, obj) -> Path:
    """Write JSON via a temp file in the same directory + rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = mkstemp_shared(path)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=1)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_json(path: str | Path, error: type[Exception], message: str):
    """Parse a JSON file; a truncated or non-JSON file raises `error` with `message` ({path}, {e} filled in)."""
    try:
        with open(path) as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise error(message.format(path=path, e=e)) from None


def atomic_dir(final: Path, marker: str, build: Callable[[Path], object]) -> Path:
    """The directory `final`, built once: `build(tmp)` fills a temp sibling, which is renamed into place, so a
    half-built directory is never seen. `final / marker` existing means done (a cache hit); a concurrent writer
    that renamed first wins (its directory is identical: same inputs, same key) and ours is discarded."""
    final = Path(final)
    if (final / marker).exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name[:40]}-", dir=final.parent))
    try:
        build(tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / marker).exists():  # not a lost race: a real error
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
