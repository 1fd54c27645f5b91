"""Download, verify and unpack an archive, for `scarce fetch` (:mod:`benchmark.data.fetch`).

Downloads use urllib only, resume with HTTP Range from `<archive>.part` (a download cut short stays there,
for the next run to resume), and are deleted when their digest does not match. Archives (zip, tar,
tar.gz/bz2/xz) are checked member by member before anything is written: absolute paths, `..` escapes,
links, special files, encrypted members, a name used both as a file and as a folder, an unpacked size over
:data:`MAX_UNPACKED_BYTES` or a ratio over :data:`MAX_RATIO` are refused. They are unpacked into a temporary
folder inside the target and moved into place only once every member was read back intact (CRCs), so
nothing is written on refusal; a member that would replace something already in the target is refused
unless ``force``.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import zlib
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

__all__ = ["CHUNK", "MAX_UNPACKED_BYTES", "MAX_RATIO", "FetchError", "sha256_of", "download", "verify", "safe_unpack"]

CHUNK = 1 << 20
MAX_UNPACKED_BYTES = 256 << 30  # no dataset we fetch unpacks to more than a few tens of GiB
MAX_RATIO = 100                 # unpacked / archive size: images barely compress; a zip bomb is ~1000
RATIO_FLOOR = 64 << 20          # the ratio is checked only above this unpacked size (tiny archives vary)


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
        length = resp.headers.get("Content-Length")
        got = 0
        with open(part, "ab" if resumed else "wb") as f:
            try:
                for block in iter(lambda: resp.read(CHUNK), b""):
                    f.write(block)
                    got += len(block)
            except (http.client.HTTPException, OSError) as e:  # IncompleteRead, a reset connection, a timeout
                raise FetchError(f"{url}: download cut short after {got} bytes ({type(e).__name__}); kept "
                                 f"{part} ({part.stat().st_size} bytes): rerun to resume") from None
    if length is not None and length.isdigit() and got < int(length):
        raise FetchError(f"{url}: download cut short after {got} bytes (expected {length}); kept {part} "
                         f"({part.stat().st_size} bytes): rerun to resume")
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


def _check_types(kinds: dict[PurePosixPath, bool], archive: Path) -> None:
    """`kinds` maps each member to is-a-folder: a name that is a file and also a folder (or the parent of
    another member) is refused, as is a file listed twice."""
    for rel, is_dir in kinds.items():
        for parent in rel.parents:
            if parent != PurePosixPath(".") and kinds.get(parent) is False:
                raise FetchError(f"{archive}: member {str(parent)!r} is a file and also the folder of {str(rel)!r}; "
                                 "refusing to unpack")


def _check_size(total: int, archive: Path, max_bytes: int, max_ratio: float) -> None:
    size = max(archive.stat().st_size, 1)
    if total > max_bytes:
        raise FetchError(f"{archive}: members unpack to {total} bytes, over the cap of {max_bytes}; refusing to unpack")
    if total > RATIO_FLOOR and total / size > max_ratio:
        raise FetchError(f"{archive}: members unpack to {total} bytes from {size} ({total / size:.0f}:1), over the "
                         f"ratio cap of {max_ratio:g}:1 (a decompression bomb?); refusing to unpack")


def _zip_members(zf: zipfile.ZipFile, archive: Path, dest: Path) -> tuple[dict[PurePosixPath, bool], int]:
    kinds, total = {}, 0
    for info in zf.infolist():
        rel = _check_name(info.filename, archive)
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise FetchError(f"{archive}: member {info.filename!r} is a symlink; refusing to unpack")
        if info.flag_bits & 0x1:
            raise FetchError(f"{archive}: member {info.filename!r} is encrypted; expected a plain archive; "
                             "refusing to unpack")
        _check_inside(rel, dest, archive)
        if rel in kinds and not (info.is_dir() and kinds[rel]):
            raise FetchError(f"{archive}: member {info.filename!r} is listed twice; refusing to unpack")
        kinds[rel] = info.is_dir()
        total += info.file_size
    return kinds, total


def _tar_members(tf: tarfile.TarFile, archive: Path, dest: Path) -> tuple[dict[PurePosixPath, bool], int]:
    """Every member through tarfile's own "data" filter (a path resolving outside `dest`, device files and
    pipes, unsafe modes), before anything is written; absolute names, `..` and links are refused outright."""
    kinds, total = {}, 0
    for m in tf.getmembers():
        rel = _check_name(m.name, archive)  # the data filter would strip a leading '/' and only refuse what escapes
        if m.issym() or m.islnk():
            raise FetchError(f"{archive}: member {m.name!r} is a link to {m.linkname!r}; refusing to unpack")
        try:
            tarfile.data_filter(m, str(dest))
        except tarfile.FilterError as e:  # a TarError: keep it apart from "not a tar archive" below
            raise FetchError(f"{archive}: member {m.name!r}: {e}; refusing to unpack") from None
        if rel in kinds and not (m.isdir() and kinds[rel]):
            raise FetchError(f"{archive}: member {m.name!r} is listed twice; refusing to unpack")
        kinds[rel] = m.isdir()
        total += m.size if m.isfile() else 0
    return kinds, total


def _extract(archive: Path, tmp: Path, max_bytes: int, max_ratio: float) -> None:
    """Check every member, then extract into `tmp`, reading each back whole (a zip's CRCs are checked)."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            kinds, total = _zip_members(zf, archive, tmp)
            _check_types(kinds, archive)
            _check_size(total, archive, max_bytes, max_ratio)
            for info in zf.infolist():
                try:
                    zf.extract(info, tmp)
                except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError,
                        RuntimeError) as e:
                    raise FetchError(f"{archive}: member {info.filename!r} could not be read back ({e}); "
                                     "expected an intact archive; refusing to unpack (nothing written)") from None
        return
    try:
        with tarfile.open(archive) as tf:
            kinds, total = _tar_members(tf, archive, tmp)
            _check_types(kinds, archive)
            _check_size(total, archive, max_bytes, max_ratio)
            try:
                tf.extractall(tmp, filter="data")  # the same filter again, as it writes
            except (OSError, EOFError, zlib.error) as e:
                raise FetchError(f"{archive}: could not be unpacked ({e}); expected an intact archive; "
                                 "refusing to unpack (nothing written)") from None
    except tarfile.TarError as e:
        raise FetchError(f"{archive}: not a zip or tar archive ({e}); expected .zip, .tar, .tar.gz/.bz2/.xz")


def safe_unpack(archive: Path, dest: Path, force: bool = False, max_bytes: int = MAX_UNPACKED_BYTES,
                max_ratio: float = MAX_RATIO) -> None:
    """Unpack a zip or tar archive into `dest` after checking every member; nothing is written on refusal.

    The members land in a temporary folder inside `dest` and are moved into place only when all of them
    were read back; a top-level entry that already exists in `dest` is refused unless `force` (then the
    archive's version replaces it)."""
    dest.mkdir(parents=True, exist_ok=True)
    dest = dest.resolve()
    tmp = Path(tempfile.mkdtemp(prefix=".scarce-unpack-", dir=dest))
    old = None
    try:
        _extract(archive, tmp, max_bytes, max_ratio)
        tops = sorted(tmp.iterdir())
        clash = [t.name for t in tops if os.path.lexists(dest / t.name)]
        if clash and not force:
            raise FetchError(f"{dest}: already holds {', '.join(clash)}, which unpacking {archive.name} would "
                             "overwrite; refusing (nothing written). Move them away, or pass --force to replace them")
        if clash:
            old = Path(tempfile.mkdtemp(prefix=".scarce-replaced-", dir=dest))
            for name in clash:
                os.replace(dest / name, old / name)
        for t in tops:
            os.replace(t, dest / t.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
