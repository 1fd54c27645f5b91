"""The volume curve's artefacts: ``volume_curve`` and ``volume_fit`` tables (CSV / Markdown / LaTeX), the figure
(endpoint vs added images, synthetic and its reference arm, the fitted curves with their 95 % bands, V), and the
HTML section. Classification studies (``write_volume``, one of the report's artefacts) and detection studies
(``write_detection_volume``, from :mod:`benchmark.report.detection_artefacts`) share every piece."""
from __future__ import annotations

from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.report.table_formats import html_table, write_table_formats
from benchmark.stats.volume import VOLUME_N_BOOT
from benchmark.report.volume import (CURVE_HEADERS, FIT_HEADERS, declared_fit, detection_volume_curves,
                                     volume_curves, volume_tables)

__all__ = ["write_volume", "write_detection_volume", "volume_html", "volume_lines", "plot_volume"]

FIGURES = {"det_volume": "det_volume_fit"}  # det_volume_curve.png is detection's own curve figure (detection_artefacts)
COLORS = {"synthetic": "tab:orange", "placebo": "tab:blue", "real_plus": "tab:green", "real": "black"}


def _note(model: str, threshold_pp: float, endpoint: str) -> str:
    return (f"\nEndpoint: {endpoint}, in % (pp for differences). Volume v = images added (what the generator "
            f"delivered; the placebo duplicates as many real images of the same class at each volume); v = 0 is the "
            f"real arm. Fit declared before the run (config volume_curve.fit = {model}), least squares over every "
            f"(seed, volume) point on the seeds measured at every volume; CIs: 95 % percentile bootstrap over seeds "
            f"(seeds only: like every t CI here they speak for these test images, not for new ones). "
            f"V: the volume where the fitted gain per added image falls below {threshold_pp:g} pp "
            f"(volume_curve.threshold_pp); beyond the largest volume tested it is reported as not reached, never "
            f"extrapolated. Lack of fit: the classical F test of the volume means against the fitted curve (pure error "
            f"within volumes); p < 0.05 says the declared model does not describe the measured curve, and then V does "
            f"not summarise it.\n")


def plot_volume(curve: dict, fits: list[dict], ax, endpoint: str) -> None:
    """Means ± 95 % t CI per volume (synthetic, reference, real at 0), fitted curves with bands, V where reached."""
    t = pd.DataFrame(_rows(curve))
    for arm, col, off in (("synthetic", "synthetic", 0.0), (curve["reference"], "ref", 0.0)):
        x = [0] + t["volume"].tolist() if curve["real"] else t["volume"].tolist()
        m = ([t["real_mean"].iloc[0]] if curve["real"] else []) + t[f"{col}_mean"].tolist()
        lo = ([t["real_lo"].iloc[0]] if curve["real"] else []) + t[f"{col}_lo"].tolist()
        hi = ([t["real_hi"].iloc[0]] if curve["real"] else []) + t[f"{col}_hi"].tolist()
        err = [[a - b for a, b in zip(m, lo)], [b - a for a, b in zip(m, hi)]]
        ax.errorbar(x, m, yerr=err, fmt="o", capsize=3, color=COLORS.get(arm, "grey"), label=f"{arm} (mean, 95 % CI)")
    for r in fits:
        f = r.get("_fit")
        if f is None:
            continue
        color = COLORS.get(r["curve"], "grey")
        ax.plot(f["grid"], 100 * f["fit"], "-", color=color, label=f"{r['curve']} fit: {r['formula']}")
        ax.fill_between(f["grid"], 100 * f["fit_lo"], 100 * f["fit_hi"], color=color, alpha=0.15)
        if r["curve"] == "synthetic" and f["reached"] and f["diminishing_v"] > 0:
            ax.axvline(f["diminishing_v"], color=color, ls="--", lw=1,
                       label=f"V ≈ {f['diminishing_v']:.0f} images (< {r['threshold_pp']:g} pp / image)")
        if r["curve"] == "synthetic" and np.isfinite(f.get("optimum_v", np.nan)):
            ax.axvline(f["optimum_v"], color=color, ls=":", lw=1, label=f"fitted optimum ≈ {f['optimum_v']:.0f} images")
    ax.set_xlabel("added images v (images: generated, or duplicated for the placebo)")
    ax.set_ylabel(f"{endpoint} (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="x-small")


def _rows(curve: dict) -> list[dict]:
    from benchmark.report.volume import curve_rows

    return curve_rows(curve)


def _write(curves: list[dict], out_dir: Path, stem: str, model: str, threshold_pp: float, endpoint: str,
           id_headers: dict[str, str], seed: int, n_boot: int = VOLUME_N_BOOT,
           fig_stem: str | None = None) -> dict[str, Path]:
    from benchmark.report.artefacts import _subplots, drop_constant
    from benchmark.report.figures import save_figure

    if not curves:
        return {}
    table, fit, fits = volume_tables(curves, model, threshold_pp, seed, n_boot)
    table, fit = drop_constant(table), drop_constant(fit)  # engine / k / design where they vary only
    note = _note(model, threshold_pp, endpoint)
    paths = write_table_formats(table, out_dir, f"{stem}_curve", id_headers | CURVE_HEADERS, digits=2, md_suffix=note,
                                caption=f"Volume curve: {endpoint} vs added images (mean, 95 % t CI over seeds)")
    paths |= write_table_formats(fit.drop(columns=["n_boot_failed"], errors="ignore"), out_dir, f"{stem}_fit",
                                 id_headers | FIT_HEADERS, digits=3, md_suffix=note,
                                 caption="Volume curve fit, 95 % seed-bootstrap CIs, the diminishing-returns volume")
    fig, axes = _subplots(len(curves), 6.0, 4.5, ncols=2)
    for i, (ax, c) in enumerate(zip(axes, curves)):
        plot_volume(c, fits[2 * i:2 * i + 2], ax, endpoint)
        ax.set_title(f"{c['key'].get('dataset')} — {c['key'].get('hardest_class')} ({c['generator']})",
                     fontsize="medium")
    fig.tight_layout()
    return paths | save_figure(fig, out_dir, fig_stem or stem + "_curve")


def write_volume(ctx, out_dir: Path) -> dict[str, Path]:
    """The classification volume curve, only where a group holds one generator's sets at >= 2 volumes."""
    from benchmark.endpoints import ENDPOINTS

    model, thr = declared_fit(ctx.data)
    ids = {"dataset": "dataset", "hardest_class": "hardest class", "model": "model"}
    endpoint = ENDPOINTS[ctx.data.primary].title
    # the report's bootstrap budget caps the refits (each one a curve_fit): scarce report --n-boot 200 is quick
    return _write(volume_curves(ctx.data), out_dir, "volume", model, thr, endpoint, ids, ctx.seed,
                  min(ctx.n_boot, VOLUME_N_BOOT))


def write_detection_volume(data, out_dir: Path, id_headers: dict[str, str]) -> dict[str, Path]:
    """Detection's fit of the same form on the hardest class's AP@.5:.95 (``det_volume_curve`` / ``det_volume_fit``)."""
    model, thr = declared_fit(data)
    # figure det_volume_fit.png: det_volume_curve.png is detection's own curve figure (detection_artefacts)
    return _write(detection_volume_curves(data.frame), out_dir, "det_volume", model, thr, "hardest-class AP@.5:.95",
                  id_headers, 0, fig_stem=FIGURES["det_volume"])


def volume_html(ctx, stem: str = "volume") -> str:
    """The HTML section: V in words, the fit table and the curve table, read back from their CSVs (``ctx``: a
    report context, or the ``{name: path}`` a task's report wrote)."""
    written = ctx if isinstance(ctx, dict) else ctx.written
    if f"{stem}_fit_csv" not in written:
        return ""
    fit, curve = pd.read_csv(written[f"{stem}_fit_csv"]), pd.read_csv(written[f"{stem}_curve_csv"])
    said = "".join(f"<li>{escape(str(r['generator']))}, {escape(str(r['curve']))}: {escape(str(r['diminishing']))}</li>"
                   for _, r in fit.iterrows() if isinstance(r.get("diminishing"), str))
    return (f"<ul>{said}</ul><div class=\"scroll\">{html_table(fit, FIT_HEADERS, 3)}</div>"
            f"<div class=\"scroll\">{html_table(curve, CURVE_HEADERS, 2)}</div>"
            f"<p class=\"note\">Figure: <code>{FIGURES.get(stem, stem + '_curve')}.png</code> / <code>.svg</code> "
            "beside this page.</p>")


def volume_lines(paths: dict[str, Path]) -> list[str]:
    """What `scarce report` prints for a volume sweep: per volume the arm means and the gain over the reference arm
    (95 % t CIs), then per curve the declared fit with its bootstrap CIs, the lack-of-fit p and V in words."""
    out = []
    for stem in ("volume", "det_volume"):
        if f"{stem}_fit_csv" not in paths:
            continue
        curve, fit = pd.read_csv(paths[f"{stem}_curve_csv"]), pd.read_csv(paths[f"{stem}_fit_csv"])
        shares = sorted({float(v) for v in curve.get("share", pd.Series(dtype=float)).dropna()})
        dose = f"; added images at a fixed {shares[0]:g} of their class's draws" if len(shares) == 1 else ""
        out.append(f"volume curve ({stem}_curve.csv; %, 95 % t CI over seeds{dose}):")
        for r in curve.itertuples():
            out.append(f"  {r.generator} v={r.volume:>4}: real {r.real_mean:.1f}  synthetic {r.synthetic_mean:.1f} "
                       f"[{r.synthetic_lo:.1f}, {r.synthetic_hi:.1f}]  {r.reference} {r.ref_mean:.1f} [{r.ref_lo:.1f}, "
                       f"{r.ref_hi:.1f}]  gain {r.gain_pp:+.1f} pp [{r.gain_lo:+.1f}, {r.gain_hi:+.1f}]")
        for r in fit.to_dict("records"):
            if pd.isna(r.get("a")):
                out.append(f"  fit {r['generator']}/{r['curve']}: {r['diminishing']}")
                continue
            out.append(f"  fit {r['generator']}/{r['curve']} ({r['fit']}: {r['formula']}): a = {r['a']:.1f} "
                       f"[{r['a_lo']:.1f}, {r['a_hi']:.1f}], b = {r['b']:.1f} [{r['b_lo']:.1f}, {r['b_hi']:.1f}], "
                       f"c = {r['c']:.1f} [{r['c_lo']:.1f}, {r['c_hi']:.1f}]; lack-of-fit p = {r['lof_p']:.2g}; "
                       f"{r['diminishing']}")
        if set(curve.get("sets", pd.Series(["shared"]))) == {"per_seed"}:
            out.append("  each seed trained on its own generated set at every volume (synthetic.sets=per_seed): the "
                       "CIs and the lack-of-fit test include set-to-set variation")
        else:
            out.append("  each volume is one generated set: the CIs and the lack-of-fit test count seed-to-seed noise "
                       "only, not set-to-set variation (synthetic.sets=per_seed measures it: docs/volume.md)")
    return out
