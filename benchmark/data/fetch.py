"""Where the upstream datasets are expected on disk, and `scarce fetch`.

The sources themselves are the catalogue in :mod:`benchmark.data.catalogue`; downloading, verifying and
unpacking an archive is :mod:`benchmark.data.archive`. `fetch` refuses to download or unpack a source
without a pinned digest unless the user passes `--sha256`; for a `manual` source it prints what to
download and where to put it, then verifies and unpacks the file.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmark import PROJECT_ROOT
from benchmark.data.archive import FetchError, download, safe_unpack, sha256_of, verify
from benchmark.data.base import DatasetError
from benchmark.data.catalogue import SOURCES, Source

MANUAL_EXIT = 3  # `scarce fetch` exit status when the user has to download something by hand first


class DatasetMissing(DatasetError):
    """The dataset's folder does not exist (as opposed to existing with a wrong layout)."""


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
          sources: dict[str, Source] | None = None, out=None, force: bool = False) -> int:
    """Get dataset `name` into `to`; returns 0 when it is in place, MANUAL_EXIT when the user must act.

    Unpacking never replaces what is already in `to` unless `force` (:func:`benchmark.data.archive.safe_unpack`)."""
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
    safe_unpack(path, to, force=force)
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
    p.add_argument("--force", action="store_true",
                   help="let the unpacked archive replace files and folders of the same name already in --to")
    return p


def main(argv: list[str] | None = None) -> int:
    args = add_arguments(argparse.ArgumentParser(prog="fetch_dataset", description=__doc__.split("\n")[0])) \
        .parse_args(argv)
    try:
        return fetch(args.dataset, args.to, sha256=args.sha256, archive=args.archive, force=args.force)
    except (FetchError, OSError) as e:
        print(f"fetch {args.dataset}: error: {e}", file=sys.stderr)
        return 2
