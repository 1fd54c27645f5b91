"""The manifest checked as a whole, before any run (cheap: no file is read or hashed here).

`verify` re-hashes the files a manifest lists; these checks are about the list itself: every entry once, the
splits disjoint, the counts those of the entries, every label in the taxonomy and equal to the dataset's own
label for that file, the hardest class in the taxonomy and present in every split it is scored on (train:
generators learn it; selection: pilots chose it; test: runs report it), and its evidence complete. Each
refusal names the manifest, the field and what was expected.
"""
from __future__ import annotations

from benchmark.split.manifest import SPLITS, ManifestError

REQUIRED = ("manifest_version", "dataset", "classes", "nominal", "config", "counts", "files", "hardest")
RULES = ("selection", "fixed")
# per rule, the evidence fields that make the choice auditable (pilot_seeds keep pilot seeds out of reports)
EVIDENCE = {"selection": ("rule", "description", "pilot_seeds", "ranking"), "fixed": ("rule", "description")}
SCORES = ("selection_accuracy", "selection_ap50_95")  # classification / detection per-seed pilot scores


def _fail(where: str, field: str, msg: str) -> None:
    raise ManifestError(f"{where}: field {field}: {msg}; refusing to run")


def check_structure(m: dict, where: str) -> None:
    """Everything that can be checked without the dataset (also run before sealing)."""
    for f in REQUIRED:
        if f not in m:
            _fail(where, repr(f), "missing; expected a scarce-bench split manifest (made by `scarce split`)")
    classes = m["classes"]
    if not isinstance(classes, list) or not classes or len(set(classes)) != len(classes) \
            or not all(isinstance(c, str) for c in classes):
        _fail(where, "'classes'", f"{classes!r}; expected a non-empty list of distinct class names")
    if m["nominal"] is not None and m["nominal"] not in classes:
        _fail(where, "'nominal'", f"{m['nominal']!r} is not in the taxonomy {classes}; expected one of them or null")
    files = m["files"]
    if not isinstance(files, dict) or sorted(files) != sorted(SPLITS):
        _fail(where, "'files'", f"splits {sorted(files) if isinstance(files, dict) else files!r}; "
                                f"expected exactly {list(SPLITS)}")
    seen_path: dict[str, tuple[str, int]] = {}
    seen_sha: dict[str, tuple[str, int]] = {}
    for s in SPLITS:
        if not isinstance(files[s], list):
            _fail(where, f"files.{s}", f"is a {type(files[s]).__name__}; expected a list of entries")
        for i, e in enumerate(files[s]):
            at = f"files.{s}[{i}]"
            if not isinstance(e, dict) or not isinstance(e.get("path"), str) or not isinstance(e.get("sha256"), str):
                _fail(where, at, f"{e!r}; expected an entry with 'path', 'label' and 'sha256'")
            if e.get("label") not in classes:
                _fail(where, f"{at}.label", f"{e.get('label')!r} ({e['path']}) is not in the taxonomy {classes}; "
                                            f"expected one of them")
            if e["path"] in seen_path:
                s0, i0 = seen_path[e["path"]]
                _fail(where, at, f"{e['path']} is listed again (first at files.{s0}[{i0}]); expected every file "
                                 f"once, in one split")
            seen_path[e["path"]] = (s, i)
            s0, i0 = seen_sha.setdefault(e["sha256"], (s, i))
            if s0 != s:
                _fail(where, at, f"{e['path']} is byte-identical to files.{s0}[{i0}] "
                                 f"{files[s0][i0]['path']} (sha256 {e['sha256'][:12]}...); expected disjoint splits")
    counts = m["counts"]
    for s in SPLITS:
        got = {c: sum(e["label"] == c for e in files[s]) for c in classes}
        want = counts.get(s) if isinstance(counts, dict) else None
        if want != got:
            diff = {c: (want or {}).get(c) for c in classes if (want or {}).get(c) != got[c]} if isinstance(want, dict) \
                else want
            _fail(where, f"counts.{s}", f"{diff} does not match the entries of files.{s} "
                                        f"({ {c: got[c] for c in (diff if isinstance(diff, dict) else got)} }); "
                                        f"expected the per-class counts of the listed files")
    if "dedupe" in m:
        check_dedupe(m, where, {e["path"]: e["sha256"] for s in SPLITS for e in files[s]})
    if m["hardest"] is not None:
        check_hardest(m, where)


def check_dedupe(m: dict, where: str, listed: dict[str, str]) -> None:
    """`split.dedupe=true` (benchmark/split/dedupe.py): every dropped file is out of the splits, and the copy
    kept in its place is listed with the same bytes (sha256)."""
    dropped = (m["dedupe"] or {}).get("dropped") if isinstance(m["dedupe"], dict) else None
    if not isinstance(dropped, list):
        _fail(where, "'dedupe'", f"{m['dedupe']!r}; expected {{'rule', 'n_dropped', 'dropped': [...]}}")
    for i, d in enumerate(dropped):
        at = f"dedupe.dropped[{i}]"
        if not isinstance(d, dict) or not all(isinstance(d.get(k), str) for k in ("path", "sha256", "kept")):
            _fail(where, at, f"{d!r}; expected {{'path', 'label', 'sha256', 'kept'}}")
        if d["path"] in listed:
            _fail(where, at, f"{d['path']} is dropped as a duplicate but listed in a split; expected it in neither")
        if listed.get(d["kept"]) != d["sha256"]:
            _fail(where, f"{at}.kept", f"{d['kept']} (kept for {d['path']}) is not listed with sha256 "
                                       f"{d['sha256'][:12]}...; expected the kept copy in a split, same bytes")


def check_hardest(m: dict, where: str) -> None:
    h, classes = m["hardest"], m["classes"]
    if not isinstance(h, dict):
        _fail(where, "'hardest'", f"{h!r}; expected {{'class', 'rule', 'evidence'}} as written by `scarce split`")
    for f in ("class", "rule", "evidence"):
        if f not in h:
            _fail(where, f"hardest.{f}", "missing; expected the hardest class, its rule and its evidence")
    cls = h["class"]
    if cls not in classes:
        _fail(where, "hardest.class", f"{cls!r} is not in the taxonomy {classes}; expected one of them")
    if h["rule"] not in RULES:
        _fail(where, "hardest.rule", f"{h['rule']!r}; expected one of {list(RULES)}")
    ev = h["evidence"]
    if not isinstance(ev, dict):
        _fail(where, "hardest.evidence", f"{ev!r}; expected the evidence dict written by `scarce split`")
    for f in EVIDENCE[h["rule"]]:
        if f not in ev:
            _fail(where, f"hardest.evidence.{f}", f"missing; expected it for rule {h['rule']!r} (the evidence "
                                                  f"that makes the choice auditable)")
    if ev["rule"] != h["rule"]:
        _fail(where, "hardest.evidence.rule", f"{ev['rule']!r}; expected hardest.rule {h['rule']!r}")
    if h["rule"] == "selection":
        seeds = ev["pilot_seeds"]
        if not isinstance(seeds, list) or not seeds or not all(isinstance(x, int) for x in seeds):
            _fail(where, "hardest.evidence.pilot_seeds", f"{seeds!r}; expected the non-empty list of pilot seeds "
                                                         f"that chose the hardest class")
        if not isinstance(ev["ranking"], list) or not ev["ranking"] or ev["ranking"][0] != cls:
            _fail(where, "hardest.evidence.ranking", f"{ev['ranking']!r}; expected a ranking that starts with "
                                                     f"hardest.class {cls!r}")
        score = next((k for k in SCORES if k in ev), None)
        if score is None:
            _fail(where, f"hardest.evidence.{SCORES[0]}", f"missing; expected the per-seed pilot scores "
                                                          f"({' or '.join(SCORES)})")
        if not isinstance(ev[score], dict) or sorted(ev[score]) != sorted(str(x) for x in seeds):
            _fail(where, f"hardest.evidence.{score}", f"seeds {sorted(ev[score]) if isinstance(ev[score], dict) else ev[score]!r}; "
                                                      f"expected one entry per pilot seed {sorted(seeds)}")
    if not any("boxes" in e for s in SPLITS for e in m["files"][s]):  # detection: objects, see check_against_dataset
        for s in SPLITS:
            if not m["counts"][s].get(cls):
                _fail(where, f"counts.{s}.{cls}", f"0: the hardest class {cls!r} has no {s} image; expected at "
                                                  f"least one in every split (train, selection, test)")


def check_against_dataset(m: dict, dataset, where: str, boxed: bool = False) -> None:
    """Labels equal to the dataset's own labels for those files (from `dataset.items`; reads no file, stats
    only a path the dataset does not list). A detection label is derived from the box file (its rarest class),
    so entries with `boxes` are checked only with `boxed=True`, after `verify` (a changed box file is then
    named as changed, not as a label mismatch)."""
    own = {it.path: it.label for it in dataset.items}
    for s in SPLITS:
        for i, e in enumerate(m["files"][s]):
            if ("boxes" in e) != boxed:
                continue
            if e["path"] not in own:
                if not dataset.abspath(e["path"]).exists():
                    continue  # a deleted file: `verify` names it as missing (in the splits a run reads)
                _fail(where, f"files.{s}[{i}].path", f"{e['path']} is not an item of dataset {dataset.name} "
                                                     f"(root {dataset.root}); expected only the dataset's own files")
            if own[e["path"]] != e["label"]:
                _fail(where, f"files.{s}[{i}].label", f"{e['label']!r} for {e['path']}; expected the dataset's own "
                                                      f"label {own[e['path']]!r}")


def check_hardest_objects(m: dict, dataset, where: str) -> None:
    """Detection, after `verify`: labels equal to the dataset's, and the hardest class has objects in every
    split (reads the box files the run reads anyway, through the dataset's cache). Classification is checked
    by `check_structure` and `check_against_dataset`."""
    check_against_dataset(m, dataset, where, boxed=True)
    h = m["hardest"]
    if h is None or not hasattr(dataset, "object_counts"):
        return
    from benchmark.detect.data import det_split_items

    for s in SPLITS:
        if not dataset.object_counts(det_split_items(m, s)).get(h["class"]):
            _fail(where, f"files.{s}", f"no object of the hardest class {h['class']!r}; expected at least one in "
                                       f"every split (train, selection, test)")
