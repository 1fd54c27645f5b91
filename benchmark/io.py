"""Small shared file helpers."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
import time
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


STALE_TEMP_S = 6 * 3600  # a temp dir of another host (or of a writer without a pid tag) untouched this long is dead


def _temp_prefix(final: Path) -> str:
    return f".{final.name[:40]}-"


def _writer_tag() -> str:
    """`p<pid>@<host>-`: who builds a temp dir, so the next job can tell a killed writer from a live one."""
    host = socket.gethostname().replace("-", "_").replace("/", "_")[:32] or "host"
    return f"p{os.getpid()}@{host}-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def remove_stale_temp_dirs(final: Path, max_age_s: float = STALE_TEMP_S) -> list[Path]:
    """Remove temp siblings of `final` left by a killed writer: tagged with this host and a pid that is no
    longer running, or (another host's, or untagged) untouched for `max_age_s`. A live writer keeps its dir:
    its pid runs (a reused pid only keeps a dead dir longer), and it writes files, which touches the dir."""
    final, removed = Path(final), []
    prefix, host = _temp_prefix(final), _writer_tag().split("@", 1)[1]
    try:
        siblings = list(final.parent.iterdir())
    except OSError:
        return removed
    for d in siblings:
        if not d.name.startswith(prefix) or d == final:
            continue
        m = re.match(r"p(\d+)@(.+?)-", d.name[len(prefix):])
        try:
            if not d.is_dir():
                continue
            if m and m.group(2) + "-" == host:
                dead = int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1)))
            else:
                dead = time.time() - d.stat().st_mtime > max_age_s
        except OSError:
            continue
        if dead:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def atomic_dir(final: Path, marker: str, build: Callable[[Path], object]) -> Path:
    """The directory `final`, built once: `build(tmp)` fills a temp sibling, which is renamed into place, so a
    half-built directory is never seen. `final / marker` existing means done (a cache hit); a concurrent writer
    that renamed first wins (its directory is identical: same inputs, same key) and ours is discarded. Temp
    dirs of a killed writer (`.<name>-p<pid>@<host>-XXXX`) are removed by the next job that builds `final`."""
    final = Path(final)
    if (final / marker).exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_dirs(final)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(final) + _writer_tag(), dir=final.parent))
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
