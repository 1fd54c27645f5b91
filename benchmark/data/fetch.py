"""Where the upstream datasets come from, where they are expected on disk, and `scarce fetch`.

`SOURCES` is the table of upstream sources. A direct download is only made against a sha256: an entry
whose `sha256` is None has no digest we could verify, so `fetch` refuses to download or unpack it
unless the user passes `--sha256`. Sources behind a licence click-through, an account or a RAR archive
are `manual`: fetch prints what to download and where to put it, then verifies and unpacks the file.

Downloads use urllib only, resume with HTTP Range from `<archive>.part`, and are deleted when their
digest does not match. Archives (zip, tar, tar.gz/bz2/xz) are checked member by member before anything
is written: absolute paths, `..` escapes, links and special files are refused.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import tarfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from benchmark import PROJECT_ROOT
from benchmark.data.base import DatasetError

CHUNK = 1 << 20
MANUAL_EXIT = 3  # `scarce fetch` exit status when the user has to download something by hand first


class FetchError(RuntimeError):
    """A download, checksum or archive problem; the message names the file."""


class DatasetMissing(DatasetError):
    """The dataset's folder does not exist (as opposed to existing with a wrong layout)."""


@dataclass(frozen=True)
class Source:
    name: str  # what `scarce fetch <name>` takes
    title: str
    dirname: str  # default folder beside the project: ../shared/data/<dirname>
    page: str  # where a person reads the terms and downloads by hand
    licence: str
    markers: tuple[str, ...]  # globs, relative to the dataset root, that identify it after unpacking
    url: str | None = None  # direct download; None = manual
    filename: str | None = None  # the archive's name under --to
    sha256: str | None = None  # None = no digest we could verify: --sha256 required
    md5: str | None = None  # a published MD5 where no sha256 is published (weaker; sha256 preferred when both)
    manual: str = ""  # what to do by hand ({page}, {to}, {archive} are filled in)
    note: str = ""


SOURCES: dict[str, Source] = {s.name: s for s in (
    Source("mvtec_ad", "MVTec AD", "mvtec_ad", "https://www.mvtec.com/company/research/datasets/mvtec-ad",
           "CC BY-NC-SA 4.0", ("*/train/good",), filename="mvtec_anomaly_detection.tar.xz",
           # the digest anomalib pins for this archive (MVTecAD DownloadInfo), 5,264,982,680 bytes
           sha256="cf4313b13603bec67abb49ca959488f7eedce2a9f7795ec54446c649ac98cd3d",
           manual="MVTec AD is downloaded after accepting its licence on {page} (a click-through form). "
                  "Download the whole-dataset archive and save it as\n  {archive}\n"
                  "(or pass --archive <file> for a file saved elsewhere), then run this command again: it "
                  "verifies the file and unpacks it into {to}."),
    Source("magnetic_tile", "Magnetic Tile Defect", "magnetic_tile",
           "https://github.com/abin24/Magnetic-tile-defect-datasets.", "none stated upstream; cite the paper",
           ("MT_Free/Imgs",),
           manual="Clone the upstream repository (the images are files in it):\n"
                  "  git clone https://github.com/abin24/Magnetic-tile-defect-datasets. {to}/magnetic_tile\n"
                  "  git -C {to}/magnetic_tile checkout cc4eb530   # the commit of our shared copy"),
    Source("neu_cls", "NEU surface defects (from NEU-DET)", "neu_det",
           "https://github.com/siddhartamukherjee/NEU-DET-Steel-Surface-Defect-Detection",
           "free for research (NEU); cite the papers", ("IMAGES",),
           manual="Clone the repository holding the NEU-DET copy we use:\n"
                  "  git clone https://github.com/siddhartamukherjee/NEU-DET-Steel-Surface-Defect-Detection "
                  "{to}/neu_det\n  git -C {to}/neu_det checkout 351bee21   # the commit of our shared copy"),
    Source("riawelc", "RIAWELC", "riawelc", "https://github.com/stefyste/RIAWELC",
           "free with a citation requirement (see upstream)", ("training", "CR", "NoDifetto"),
           manual="The upstream repository ships the images in RAR archives, which Python's standard library "
                  "cannot unpack. Clone {page}, unpack the archives with unrar or 7z, and move the "
                  "training/ validation/ testing/ folders into {to}/riawelc (see datasets/riawelc/README.md "
                  "for the class folders expected)."),
    Source("plantvillage", "PlantVillage", "plantvillage", "https://github.com/spMohanty/PlantVillage-Dataset",
           "CC BY-SA 3.0 (per the upstream dataset card)", ("Tomato___healthy",),
           manual="Clone the upstream repository (several GB of images):\n"
                  "  git clone https://github.com/spMohanty/PlantVillage-Dataset {to}/PlantVillage-Dataset\n"
                  "The dataset root is {to}/PlantVillage-Dataset/raw/color."),
    Source("marble", "Marble Surface Anomaly Detection 2", "marble",
           "https://www.kaggle.com/datasets/wardaddy24/marble-surface-anomaly-detection-2",
           "see the Kaggle page", ("train/good",), filename="marble-surface-anomaly-detection-2.zip",
           manual="Kaggle needs an account: download the dataset archive from {page}, save it as\n"
                  "  {archive}\n(or pass --archive <file>), then run this command again."),
    Source("kolektorsdd", "KolektorSDD", "kolektorsdd", "https://www.vicos.si/Downloads/KolektorSDD",
           "see the upstream page (not verified here)", ("kos01",), url="http://go.vicos.si/kolektorsddboxes",
           filename="KolektorSDD-boxes.zip", md5="4e559e7c4be5ab5001db8243c1b125df",  # as pinned by a public
           # KolektorSDD loader (no sha256 is published); verified with MD5, and the sha256 is printed
           note="the release with box annotations, from the link the upstream authors' own download script "
                "uses (vicoslab/mixed-segdec-net-comind2021); the finely annotated release is on the page"),
)}


# ------------------------------------------------------------------------------------ where datasets live
def source_name(dataset: str) -> str | None:
    """The source of a registered dataset name (`mvtec_ad_pill` -> `mvtec_ad`); None for local ones."""
    if dataset in SOURCES:
        return dataset
    return "mvtec_ad" if dataset.startswith("mvtec_ad") else None


def default_root(name: str) -> Path:
    return PROJECT_ROOT.parent / "shared" / "data" / SOURCES[name].dirname


def describe_dir(path: Path, limit: int = 8) -> str:
    """'found: a/, b.png, ... (+3 more)' for error messages."""
    if not path.is_dir():
        return "found: no such directory"
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in path.iterdir() if not p.name.startswith("."))
    if not names:
        return "found: an empty directory"
    more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
    return "found: " + ", ".join(names[:limit]) + more


def locate_root(name: str, root: str | Path | None, expected: str) -> Path:
    """The dataset root: `root` (relative to the working directory) or ../shared/data/<dirname>."""
    src = SOURCES[name]
    if root is None:
        root = default_root(name)
        if not root.is_dir():
            raise DatasetMissing(f"{root}: {src.title} not found at the default location; pass "
                                 f"dataset.root=<dir> ({expected}), or get it with `scarce fetch {name} --to <dir>`")
    root = Path(root).expanduser().resolve()
    if not root.exists():
        raise DatasetMissing(f"{root}: dataset root does not exist; expected {expected}")
    if not root.is_dir():
        raise DatasetError(f"{root}: not a directory; expected {expected}")
    return root


def find_root(base: Path, src: Source, depth: int = 4) -> Path | None:
    """The first folder at or under `base` (breadth first) where one of the source's markers exists."""
    level = [base]
    for _ in range(depth + 1):
        for d in level:
            if any(any(d.glob(m)) for m in src.markers):
                return d
        level = sorted(c for d in level for c in d.iterdir() if c.is_dir() and not c.name.startswith("."))
    return None


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
    for m in tf.getmembers():
        rel = _check_name(m.name, archive)
        if m.issym() or m.islnk():
            raise FetchError(f"{archive}: member {m.name!r} is a link to {m.linkname!r}; refusing to unpack")
        if not (m.isfile() or m.isdir()):
            raise FetchError(f"{archive}: member {m.name!r} is not a regular file or folder; refusing to unpack")
        _check_inside(rel, dest, archive)


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
            tf.extractall(dest, filter="data")
    except tarfile.TarError as e:
        raise FetchError(f"{archive}: not a zip or tar archive ({e}); expected .zip, .tar, .tar.gz/.bz2/.xz")


# ------------------------------------------------------------------------------------ the command
def next_commands(name: str, root: Path) -> list[str]:
    """What to run once the data is in place: the plain split, plus the SCARCE Table 1 splits it feeds."""
    from benchmark.experiments import TABLE1, split_command

    first = "mvtec_ad dataset.category=<category>" if name == "mvtec_ad" else name
    return [f"scarce split {first} dataset.root={root}"] + \
        [split_command(n, root) for n in TABLE1 if source_name(n) == name]


def _expected_digest(src: Source, given: str | None) -> tuple[str, str] | None:
    """(algorithm, hex digest) to verify against: --sha256, else the pinned sha256, else the pinned MD5."""
    if src.sha256 and given and given.lower() != src.sha256:
        raise FetchError(f"--sha256 {given} differs from the pinned sha256 {src.sha256} of {src.name}; refusing")
    if given or src.sha256:
        return "sha256", (given or src.sha256).lower()
    return ("md5", src.md5.lower()) if src.md5 else None


def _archive_for(src: Source, to: Path, archive: str | Path | None) -> Path:
    return Path(archive).expanduser().resolve() if archive else to / (src.filename or f"{src.name}.archive")


def fetch(name: str, to: str | Path, sha256: str | None = None, archive: str | Path | None = None,
          sources: dict[str, Source] | None = None, out=None) -> int:
    """Get dataset `name` into `to`; returns 0 when it is in place, MANUAL_EXIT when the user must act."""
    table, out = (SOURCES if sources is None else sources), (out or sys.stdout)
    if name not in table:
        raise FetchError(f"unknown dataset {name!r} to fetch; known: {', '.join(sorted(table))}")
    src, to = table[name], Path(to).expanduser().resolve()
    to.mkdir(parents=True, exist_ok=True)
    found = find_root(to, src)
    if found is not None and archive is None:
        return _done(name, found, out, already=True)
    path = _archive_for(src, to, archive)
    if src.url is None and not path.is_file():
        text = src.manual.format(page=src.page, to=to, archive=path)
        print(f"{src.title}: manual step needed (licence: {src.licence}).\n{text}", file=out)
        return MANUAL_EXIT
    digest = _expected_digest(src, sha256)
    if digest is None:
        have = f" The file at {path} has sha256 {sha256_of(path)}." if path.is_file() else ""
        raise FetchError(f"{name}: no pinned sha256 for {src.url or path.name} (none we could verify), so it "
                         f"will not be fetched unverified.{have} Pass --sha256 <hex> from a source you trust.")
    if src.url is not None and not path.is_file():
        print(f"downloading {src.url} -> {path}" + (f"\n  ({src.note})" if src.note else ""), file=out)
        download(src.url, path)
    verify(path, digest[1], delete=src.url is not None and archive is None, algo=digest[0])
    shown = digest[1] if digest[0] == "sha256" else f"{sha256_of(path)}; md5 {digest[1]}"
    print(f"verified {path} (sha256 {shown}); unpacking into {to}", file=out)
    safe_unpack(path, to)
    found = find_root(to, src)
    if found is None:
        raise FetchError(f"{to}: unpacked {path.name}, but found none of {list(src.markers)}; {describe_dir(to)}")
    return _done(name, found, out, already=False)


def _done(name: str, root: Path, out, already: bool) -> int:
    print(f"{name}: {'already present' if already else 'ready'} at {root}\nnext:", file=out)
    for cmd in next_commands(name, root):
        print(f"  {cmd}", file=out)
    return 0


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("dataset", help=f"one of: {', '.join(sorted(SOURCES))}")
    p.add_argument("--to", required=True, help="directory to download and unpack into")
    p.add_argument("--sha256", help="expected sha256 of the archive (required where none is pinned)")
    p.add_argument("--archive", help="an archive you already downloaded (manual sources), instead of <to>/<name>")
    return p


def main(argv: list[str] | None = None) -> int:
    args = add_arguments(argparse.ArgumentParser(prog="fetch_dataset", description=__doc__.split("\n")[0])) \
        .parse_args(argv)
    try:
        return fetch(args.dataset, args.to, sha256=args.sha256, archive=args.archive)
    except (FetchError, OSError) as e:
        print(f"fetch {args.dataset}: error: {e}", file=sys.stderr)
        return 2
