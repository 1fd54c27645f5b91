"""The seal of a split manifest: digests of its content, stored in it, checked by every run.

A manifest is trusted as a whole, not just its files' hashes: a hand edit (a duplicated test entry, a flipped
label, a deleted `pilot_seeds`) must be refused, naming what changed. `write_manifest` seals every manifest it
writes; `check_seal` recomputes the digests and names the first top-level field (for `files`: the split and
the entry) that differs from the sealed content.

The seal is an integrity check against edits, not a signature: anyone can reseal. Resealing is a deliberate
step after reviewing the manifest, and it first refuses a manifest that is not coherent (see
`benchmark.split.validate.check_structure`):

    python -m benchmark.split.seal datasets/splits/*.json

`seal` itself is excluded from every digest and from `manifest_sha256`, so sealing a manifest does not change
the run IDs of its records.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import sys
from pathlib import Path

SEAL = "seal"
HOW_TO_SEAL = "python -m benchmark.split.seal"
_SHORT = 16  # hex digits per entry digest: enough to locate an edit (the full sha256 covers the whole)


def canonical_sha256(obj) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces): the form `manifest_sha256` has always hashed."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def unsealed(manifest: dict) -> dict:
    """The manifest without its seal (what every digest and `manifest_sha256` cover)."""
    return {k: v for k, v in manifest.items() if k != SEAL}


def make_seal(manifest: dict) -> dict:
    """{"sha256": digest of the whole (== manifest_sha256), "fields": {top-level field: digest},
    "files": {split: [digest of each entry, in order]}}."""
    content = unsealed(manifest)
    files = content.get("files") if isinstance(content.get("files"), dict) else {}
    return {
        "sha256": canonical_sha256(content),
        "fields": {k: canonical_sha256(v) for k, v in sorted(content.items())},
        "files": {s: [canonical_sha256(e)[:_SHORT] for e in entries] for s, entries in files.items()
                  if isinstance(entries, list)},
        "how": f"digests of the canonical JSON without 'seal'; after reviewing an edit: {HOW_TO_SEAL} <manifest>",
    }


def seal(manifest: dict) -> dict:
    """`manifest` with a fresh seal (the content itself unchanged; the seal is the last field)."""
    return {**unsealed(manifest), SEAL: make_seal(manifest)}


def check_seal(manifest: dict, where: str, error: type[Exception]) -> None:
    """Refuse an unsealed manifest, or one whose content no longer matches its seal, naming the field."""
    stored = manifest.get(SEAL)
    fix = (f"rebuild it with `scarce split`, or review the change and reseal it with "
           f"`{HOW_TO_SEAL} {where}`")
    if stored is None:
        raise error(f"{where}: field 'seal' missing: the manifest is not sealed, so a hand edit cannot be told "
                    f"apart; expected a sealed manifest: review it, then seal it with `{HOW_TO_SEAL} {where}`")
    if not isinstance(stored, dict) or not isinstance(stored.get("fields"), dict) \
            or not isinstance(stored.get("files"), dict) or not isinstance(stored.get("sha256"), str):
        raise error(f"{where}: field 'seal' is malformed; expected {{'sha256', 'fields', 'files'}} as written by "
                    f"`{HOW_TO_SEAL}`; {fix}")
    now = make_seal(manifest)
    for field in sorted(set(stored["fields"]) | set(now["fields"])):
        if field not in now["fields"]:
            raise error(f"{where}: field {field!r} was removed since the manifest was sealed; expected it "
                        f"present; {fix}")
        if field not in stored["fields"]:
            raise error(f"{where}: field {field!r} was added since the manifest was sealed; expected only the "
                        f"sealed fields; {fix}")
    changed = [f for f in sorted(now["fields"]) if stored["fields"][f] != now["fields"][f]]
    if changed:
        detail = _files_change(stored["files"], now["files"], manifest["files"]) if "files" in changed else ""
        raise error(f"{where}: field{'s' if len(changed) > 1 else ''} {', '.join(map(repr, changed))} changed "
                    f"since the manifest was sealed{detail}; expected the sealed content "
                    f"({', '.join(f'seal.fields.{f}' for f in changed)}); {fix}")
    if stored["sha256"] != now["sha256"]:
        raise error(f"{where}: seal.sha256 does not match the content; expected {now['sha256']}; {fix}")


def _files_change(old: dict, new: dict, files: dict) -> str:
    """' (files.test: entry 3 images/a.png added)': the first split whose entries differ from the seal."""
    for split in sorted(set(old) | set(new)):
        a, b = old.get(split), new.get(split)
        if a == b:
            continue
        if a is None or b is None:
            return f" (files.{split} {'added' if a is None else 'removed'})"
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            entries = files[split]
            if tag == "delete":
                return f" (files.{split}: {i2 - i1} sealed entr{'y' if i2 - i1 == 1 else 'ies'} from #{i1} removed)"
            verb = {"insert": "added", "replace": "changed"}[tag]
            paths = ", ".join(str(e.get("path")) if isinstance(e, dict) else repr(e) for e in entries[j1:j2][:3])
            more = f" and {j2 - j1 - 3} more" if j2 - j1 > 3 else ""
            return f" (files.{split}: entr{'y' if j2 - j1 == 1 else 'ies'} #{j1} {paths}{more} {verb})"
        return f" (files.{split})"
    return ""


def main(argv: list[str] | None = None) -> int:
    """Seal each manifest in place (content unchanged, seal added or refreshed) after checking it is coherent."""
    from benchmark.split.manifest import ManifestError, load_manifest, write_manifest
    from benchmark.split.validate import check_structure

    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths or any(p in ("-h", "--help") for p in paths):
        print(f"usage: {HOW_TO_SEAL} MANIFEST.json [...]\n{__doc__}")
        return 0 if paths else 2
    for p in paths:
        try:
            m = load_manifest(p)
            check_structure(m, p)
        except ManifestError as e:
            print(f"not sealed: {e}", file=sys.stderr)
            return 1
        if m.get(SEAL) == make_seal(m):
            print(f"{p}: already sealed ({m[SEAL]['sha256'][:12]})")
            continue
        write_manifest(m, Path(p))
        print(f"{p}: sealed ({make_seal(m)['sha256'][:12]}; manifest_sha256 unchanged)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
