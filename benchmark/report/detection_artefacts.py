"""Writers of the detection report: tables (CSV / Markdown / LaTeX), the volume-curve figure (PNG + SVG)
and, for a detection-only study, the self-contained `index.html`. Numbers come from :mod:`.detection`."""
from __future__ import annotations

import base64
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.report.collect import StudyData
from benchmark.report.det_fidelity import FIDELITY_HEADERS, FIDELITY_NOTE, det_fidelity_table
from benchmark.report.detection import (CURVE_HEADERS, PAIRED_HEADERS, PARITY_HEADERS, curve_table,
                                        detection_rows, paired_table, parity_table, published_oem)
from benchmark.report.table_formats import html_table, write_table_formats
from benchmark.report.volume_artefacts import volume_html, write_detection_volume
from benchmark.stats import DecisionRule

__all__ = ["write_detection_report"]
ARM_COLORS = {"real": "#57606a", "synthetic": "#1a7f37", "placebo": "#9a6700", "real_plus": "#0969da"}
ID_COLS = {"dataset": "dataset", "model": "model", "hardest_class": "hardest class", "n_real": "real images",
           "arm": "arm", "comparison": "comparison"}


def _curve_axes(ax, curve: pd.DataFrame, metric: str, label: str) -> None:
    """Mean ± 95 % t CI over seeds vs added images; every arm's line starts at the real-only point."""
    real = curve[curve["arm"] == "real"]
    for arm in ("synthetic", "placebo", "real_plus", "real"):
        g = curve[curve["arm"] == arm]
        if g.empty:
            continue
        if arm != "real" and not real.empty:
            g = pd.concat([real, g]).sort_values("n_added")
        y, lo, hi = (g[f"{metric}_{s}"].to_numpy(dtype=float) for s in ("mean", "lo", "hi"))
        err = np.vstack([y - np.where(np.isnan(lo), y, lo), np.where(np.isnan(hi), y, hi) - y])
        ax.errorbar(g["n_added"], y, yerr=err, marker="o", capsize=3, color=ARM_COLORS.get(arm), label=arm,
                    linestyle="-" if arm != "real" else "none")
    ax.set_xlabel("images added to the real set (images)")
    ax.set_ylabel(label)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def write_curve_figure(curve: pd.DataFrame, oem: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    import matplotlib.pyplot as plt

    from benchmark.report.figures import save_figure

    groups = list(curve.groupby(["dataset", "model", "hardest_class", "n_real"], sort=True))
    ncols = 3 if len(oem) else 2
    fig, axes = plt.subplots(max(len(groups), 1), ncols, figsize=(5 * ncols, 4 * max(len(groups), 1)), squeeze=False)
    for row, ((ds, model, hc, n_real), g) in zip(axes, groups):
        _curve_axes(row[0], g, "map50_95", "mAP@.5:.95 (0–1)")
        row[0].set_title(f"{ds} ({model}, {n_real} real)", fontsize="medium")
        _curve_axes(row[1], g, "hardest_ap50_95", f"AP@.5:.95 of {hc} (0–1)")
        row[1].set_title(f"hardest class: {hc}", fontsize="medium")
        if len(oem):
            pts = oem.dropna(subset=["value"])
            row[2].plot(pts["ratio"], pts["value"], "s--", color="#8250df", label="OEM (published, 1 seed)")
            ours = g[g["arm"].isin(["real", "synthetic"])].sort_values("n_added")
            row[2].plot(ours["ratio"], ours["map50_95_mean"], "o-", color=ARM_COLORS["synthetic"], label=f"{ds} (mean)")
            row[2].set_xlabel("synthetic / real images (ratio)")
            row[2].set_ylabel("mAP (0–1)")
            row[2].set_title("beside the published automotive curve", fontsize="medium")
            row[2].grid(alpha=0.3)
            row[2].legend(fontsize="small")
    fig.tight_layout()
    return save_figure(fig, out_dir, "det_volume_curve")


def write_detection_report(data: StudyData, out_dir: Path, html: bool,
                           rule: DecisionRule = DecisionRule()) -> dict[str, Path]:
    """Tables + figure for the detection records of `data`; `index.html` too when `html` (detection-only).
    `rule` is the study's verdict rule (classification's), applied at the seed level (AP is not per image)."""
    frame, rule = data.frame, rule.seed_level()
    curve, parity, paired, oem = curve_table(frame), parity_table(frame), paired_table(frame, rule), published_oem(frame)
    paths: dict[str, Path] = {}
    paths |= write_table_formats(curve, out_dir, "det_curve", ID_COLS | CURVE_HEADERS, digits=4,
                                 caption="Detection metrics by arm and synthetic volume (mean, 95 % t CI over seeds)")
    note = ("\nA = N real + M synthetic, B = N + M real (parity arm `real_plus`). TOST equivalence with margin δ "
            "on paired per-seed mAP@.5:.95 differences; p(A ≠ B): two-sided superiority (each one-sided paired "
            "t-test at α/2). Both Holm-adjusted over the parity rows; the verdict reads the Holm p values. "
            "Worth: the real images M synthetic ones are worth — the real count at which the real volume curve "
            "(real N, real_plus N + M', linear between measured volumes) reaches A's mAP, minus N (per synthetic "
            "image: / M); 95 % percentile bootstrap over seeds (one draw shared by every arm; AP has no per-image "
            "decomposition, so the test images stay fixed). Past the largest real volume only a lower bound.\n")
    rule_note = (f"\nVerdict rule: {rule.describe()}. Holm once over the primary family (synthetic − "
                 "placebo on the hardest class's AP@.5:.95, per volume) and once over the secondary one. AP has no "
                 f"per-image decomposition, so the verdicts are about {rule.population()}.\n")
    paths |= write_table_formats(parity, out_dir, "det_parity", ID_COLS | PARITY_HEADERS, digits=4, md_suffix=note,
                                 caption="Parity: N real + M synthetic vs N + M real")
    paths |= write_table_formats(paired, out_dir, "det_paired", ID_COLS | PAIRED_HEADERS, digits=4, md_suffix=rule_note,
                                 caption="Paired per-seed differences (hardest-class AP and mAP), Holm p and verdicts")
    if len(oem):
        paths |= write_table_formats(oem, out_dir, "det_published_oem", digits=3,
                                     caption="Published OEM detection curve (single seed)")
    if len(curve):
        paths |= write_curve_figure(curve, oem, out_dir)
    paths |= write_detection_volume(data, out_dir, ID_COLS)  # the classification volume curve's fit (same code)
    fidelity = det_fidelity_table(data)  # positional fidelity of each synthetic set, by the real arm's detectors
    if len(fidelity):
        paths |= write_table_formats(fidelity, out_dir, "det_fidelity", FIDELITY_HEADERS, digits=4,
                                     md_suffix=FIDELITY_NOTE, caption="Positional fidelity of the synthetic sets")
    if html:
        page = render_detection_html(data, curve, parity, paired, oem, paths, fidelity)
        paths["index_html"] = out_dir / "index.html"
        paths["index_html"].write_text(page, encoding="utf-8")
    return paths


def render_detection_html(data: StudyData, curve, parity, paired, oem, paths: dict[str, Path],
                          fidelity: pd.DataFrame | None = None) -> str:
    from benchmark.report.html import CSS
    from benchmark.report.artefacts import failures_frame

    f = data.frame
    ok = detection_rows(f)
    hc = ", ".join(sorted(ok["hardest_class"].dropna().unique())) or "–"
    fig = ""
    if "det_volume_curve_png" in paths:
        b64 = base64.b64encode(Path(paths["det_volume_curve_png"]).read_bytes()).decode("ascii")
        fig = (f"<figure><img alt=\"volume curve\" src=\"data:image/png;base64,{b64}\"><figcaption>mAP@.5:.95 and "
               f"hardest-class AP vs images added (mean, bars: 95 % t CI over seeds).</figcaption></figure>")
    failed = failures_frame(f)
    body = [f"<h1>scarce-bench detection report: {escape(data.name)}</h1>",
            f"<p>{len(f)} run records, {len(ok)} ok. Hardest class (chosen on the selection split by real-only "
            f"pilot AP, never on test): <b>{escape(hc)}</b>. Arms differ only in training images: real, real + "
            f"M generated (synthetic), real + M duplicated real (placebo), N + M real (real_plus, parity).</p>",
            "<h2>Volume curve</h2>", f"<div class=\"scroll\">{html_table(curve, ID_COLS | CURVE_HEADERS, 4)}</div>", fig,
            "<h2>Volume curve fit</h2>" + (volume_html(paths, "det_volume") or "<p>Fewer than 2 volumes.</p>"),
            "<h2>Parity (N real + M synthetic vs N + M real)</h2>",
            html_table(parity, ID_COLS | PARITY_HEADERS, 4) if len(parity) else "<p>No parity arm in this study.</p>",
            "<h2>Paired statistics per seed</h2>", f"<div class=\"scroll\">{html_table(paired, ID_COLS | PAIRED_HEADERS, 4)}</div>"]
    if fidelity is not None and len(fidelity):
        body += ["<h2>Positional fidelity (real-only detectors on the synthetic boxes)</h2>",
                 f"<div class=\"scroll\">{html_table(fidelity, FIDELITY_HEADERS, 4)}</div>",
                 f"<p>{escape(FIDELITY_NOTE.strip())}</p>"]
    if len(oem):
        body += ["<h2>Published OEM curve (single seed)</h2>", html_table(oem, digits=3)]
    if len(failed):
        body += ["<h2>Failed runs</h2>", html_table(failed)]
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>scarce-bench: {escape(data.name)}</title><style>{CSS}</style></head><body>"
            + "".join(body) + "</body></html>\n")
