"""Reading a vendor delivery's manifest (:mod:`benchmark.generators.folder`), strictly.

`manifest.csv` (header `path,label[,mask][,boxes]`) or `manifest.json` (a list of objects, or
`{"items": [...]}`). Only the fields below, each a string (JSON ``null`` is no string), no key twice in one
JSON object, no column twice, no NUL byte, no field over :data:`MAX_FIELD` characters, JSON nested at most
:data:`MAX_JSON_DEPTH` deep; every error names the manifest line (CSV) or entry (JSON) and the field.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from benchmark.data.base import DatasetError

__all__ = ["read_manifest", "REQUIRED_FIELDS", "FIELDS", "MAX_FIELD", "MAX_JSON_DEPTH", "EXPECTED"]

REQUIRED_FIELDS = ("path", "label")
FIELDS = ("path", "label", "mask", "boxes")
MAX_FIELD = 4096       # characters in one manifest field (a path, a label, a boxes list)
MAX_JSON_DEPTH = 64    # a manifest entry is an object holding lists of lists: depth 4
EXPECTED = "a CSV with header path,label[,mask][,boxes] or a JSON list of {path, label[, mask][, boxes]}"


def read_manifest(manifest: Path) -> list[tuple[str, dict]]:
    """[(where, row)]: `where` names the manifest line (CSV) or entry (JSON) for error messages."""
    if not manifest.is_file():
        raise DatasetError(f"{manifest}: manifest not found; expected {EXPECTED}")
    try:
        text = manifest.read_bytes().decode("utf-8-sig")  # tolerate a BOM from spreadsheet exports
    except UnicodeDecodeError as e:
        raise DatasetError(f"{manifest}: not UTF-8 text ({e}); expected {EXPECTED}") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise DatasetError(f"{manifest}:{line}: contains a NUL byte; expected {EXPECTED} as plain text")
    if manifest.suffix.lower() == ".json":
        return _json_rows(manifest, text)
    if manifest.suffix.lower() != ".csv":
        raise DatasetError(f"{manifest}: unknown manifest type {manifest.suffix!r}; expected .csv or .json")
    reader = csv.DictReader(io.StringIO(text))
    limit = csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))  # long fields: refused by row below
    try:
        fields = [f.strip() for f in reader.fieldnames or []]
        missing = [f for f in REQUIRED_FIELDS if f not in fields]
        if missing:
            raise DatasetError(f"{manifest}: header {fields} lacks {missing}; expected path,label[,mask][,boxes]")
        unknown = [f for f in fields if f not in FIELDS]
        if unknown or len(set(fields)) != len(fields):
            what = f"unknown column(s) {unknown}" if unknown else "a column twice"
            raise DatasetError(f"{manifest}:1: header {fields} has {what}; expected only {', '.join(FIELDS)}, each once")
        reader.fieldnames = fields
        rows = []
        for row in reader:
            if None in row:
                raise DatasetError(f"{manifest}:{reader.line_num}: {len(row[None])} more field(s) than the header "
                                   f"{fields}; expected one value per column")
            rows.append((f"{manifest}:{reader.line_num}", {k: (v or "").strip() for k, v in row.items()}))
    except csv.Error as e:  # e.g. a newline inside an unquoted field
        raise DatasetError(f"{manifest}:{reader.line_num}: unreadable CSV ({e}); expected {EXPECTED}") from None
    finally:
        csv.field_size_limit(limit)
    for where, row in rows:
        _check_fields(where, row)
    return rows


def _check_fields(where: str, row: dict) -> None:
    for f, v in row.items():
        if isinstance(v, str) and len(v) > MAX_FIELD:
            raise DatasetError(f"{where}: field {f!r} is {len(v)} characters; expected at most {MAX_FIELD}")


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _ in pairs]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise _DuplicateKey(dup)
    return dict(pairs)


class _DuplicateKey(ValueError):
    pass


def _json_depth(text: str) -> int:
    """The deepest nesting of [ and { outside strings, without parsing (json.loads recurses)."""
    depth = deepest = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            esc, in_str = (not esc and ch == "\\"), in_str and (esc or ch != '"')
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _json_rows(manifest: Path, text: str) -> list[tuple[str, dict]]:
    depth = _json_depth(text) if text.count("[") + text.count("{") > MAX_JSON_DEPTH else 0
    if depth > MAX_JSON_DEPTH:
        raise DatasetError(f"{manifest}: JSON nested {depth} levels deep; expected at most "
                           f"{MAX_JSON_DEPTH} ({EXPECTED})")
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except _DuplicateKey as e:
        raise DatasetError(f"{manifest}: key(s) {e.args[0]} appear twice in one object; expected each key once "
                           f"({EXPECTED})") from None
    except (json.JSONDecodeError, RecursionError) as e:
        raise DatasetError(f"{manifest}: invalid JSON ({e}); expected {EXPECTED}") from None
    if isinstance(data, dict):
        data = data.get("items")
    if not isinstance(data, list):
        raise DatasetError(f"{manifest}: top level is not a list (nor an object with 'items'); expected {EXPECTED}")
    out = []
    for i, row in enumerate(data):
        where = f"{manifest}: items[{i}]"
        if not isinstance(row, dict):
            raise DatasetError(f"{where}: is {type(row).__name__}; expected an object with path, label")
        unknown = sorted(f for f in row if f not in FIELDS)
        if unknown:
            raise DatasetError(f"{where}: unknown field(s) {unknown}; expected only {', '.join(FIELDS)}")
        missing = [f for f in REQUIRED_FIELDS if f not in row]
        bad = [f for f in ("path", "label", "mask")
               if f in row and not isinstance(row[f], str) and not (f == "mask" and row[f] is None)]
        if missing or bad:
            got = ", ".join(f"{f!r} is {'null' if row[f] is None else type(row[f]).__name__}" for f in bad)
            raise DatasetError(f"{where}: missing {missing} / non-string {bad} fields{' (' + got + ')' if got else ''}; "
                               f"expected string path, label[, mask]")
        _check_fields(where, row)
        boxes = row.get("boxes")
        out.append((where, {"path": row["path"].strip(), "label": row["label"].strip(),
                            "mask": (row.get("mask") or "").strip(), "boxes": boxes}))
    return out
