"""Download, verify and unpack an archive, for `scarce fetch` (:mod:`benchmark.data.fetch`).

Downloads use urllib only, resume with HTTP Range from `<archive>.part`, and are deleted when their
digest does not match. Archives (zip, tar, tar.gz/bz2/xz) are checked member by member before anything
is written: absolute paths, `..` escapes, links and special files are refused.
"""
from __future__ import annotations

import hashlib
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

__all__ = ["CHUNK", "FetchError", "sha256_of", "download", "verify", "safe_unpack"]

CHUNK = 1 << 20


class FetchError(RuntimeError):
    """A download, checksum or archive problem; the message names the file."""


# ------------------------------------------------------------------------------------ download and verify
def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest: Path, timeout: float = 60.0) -> Path:
    """Download `url` to `dest`, resuming from `dest.part` with an HTTP Range request when it exists."""
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "scarce-bench-fetch"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.build_opener().open(req, timeout=timeout)  # proxies read from env now
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # the partial file is already complete
            part.replace(dest)
            return dest
        raise FetchError(f"{url}: HTTP {e.code} {e.reason}; expected the archive for {dest.name}") from None
    except (urllib.error.URLError, OSError) as e:
        raise FetchError(f"{url}: download failed ({e}); rerun to resume from {part}") from None
    with resp:
        resumed = have and resp.status == 206
        with open(part, "ab" if resumed else "wb") as f:
            for block in iter(lambda: resp.read(CHUNK), b""):
                f.write(block)
    part.replace(dest)
    return dest


def verify(path: Path, expected: str, delete: bool, algo: str = "sha256") -> None:
    """Refuse a file whose digest differs from `expected`; a download is deleted, a manual file kept."""
    actual = sha256_of(path) if algo == "sha256" else _md5_of(path)
    if actual != expected.lower():
        if delete:
            path.unlink()
        what = "deleted it" if delete else "left it in place"
        raise FetchError(f"{path}: {algo} {actual} does not match the expected {expected}; refused ({what})")


def _md5_of(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


# ------------------------------------------------------------------------------------ safe unpack
def _check_name(name: str, archive: Path) -> PurePosixPath:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or (p.parts and p.parts[0].endswith(":")):
        raise FetchError(f"{archive}: member {name!r} has an absolute path; refusing to unpack")
    if ".." in p.parts:
        raise FetchError(f"{archive}: member {name!r} escapes the target with '..'; refusing to unpack")
    return p


def _check_inside(rel: PurePosixPath, dest: Path, archive: Path) -> None:
    target = (dest / rel).resolve()  # resolves links already on disk under dest, too
    if target != dest and dest not in target.parents:
        raise FetchError(f"{archive}: member {str(rel)!r} would be written outside {dest}; refusing to unpack")


def _zip_members(zf: zipfile.ZipFile, archive: Path, dest: Path) -> None:
    for info in zf.infolist():
        rel = _check_name(info.filename, archive)
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise FetchError(f"{archive}: member {info.filename!r} is a symlink; refusing to unpack")
        _check_inside(rel, dest, archive)


def _tar_members(tf: tarfile.TarFile, archive: Path, dest: Path) -> None:
    """Every member through tarfile's own "data" filter (a path resolving outside `dest`, device files and
    pipes, unsafe modes), before anything is written; absolute names, `..` and links are refused outright."""
    for m in tf.getmembers():
        _check_name(m.name, archive)  # the data filter would strip a leading '/' and only refuse what escapes
        if m.issym() or m.islnk():
            raise FetchError(f"{archive}: member {m.name!r} is a link to {m.linkname!r}; refusing to unpack")
        try:
            tarfile.data_filter(m, str(dest))
        except tarfile.FilterError as e:  # a TarError: keep it apart from "not a tar archive" below
            raise FetchError(f"{archive}: member {m.name!r}: {e}; refusing to unpack") from None


def safe_unpack(archive: Path, dest: Path) -> None:
    """Unpack a zip or tar archive into `dest` after checking every member; nothing is written on refusal."""
    dest.mkdir(parents=True, exist_ok=True)
    dest = dest.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            _zip_members(zf, archive, dest)
            zf.extractall(dest)
        return
    try:
        with tarfile.open(archive) as tf:
            _tar_members(tf, archive, dest)
            tf.extractall(dest, filter="data")  # the same filter again, as it writes
    except tarfile.TarError as e:
        raise FetchError(f"{archive}: not a zip or tar archive ({e}); expected .zip, .tar, .tar.gz/.bz2/.xz")
