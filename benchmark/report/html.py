"""``index.html``: one self-contained page (figures inlined as base64 PNG, no script, no external URL)
that says in plain words what was compared, what the verdict is and what limits it."""
from __future__ import annotations

import base64
from html import escape
from pathlib import Path

import pandas as pd

from benchmark.report.artefacts import ReportContext, failures_frame
from benchmark.report.caveats import caveats_html, num as _num
from benchmark.report.comparisons import COMPARISON_HEADERS
from benchmark.report.endpoints import endpoint_note, secondary_html
from benchmark.report.fewshot import EFFICIENCY_HEADERS
from benchmark.report.published import PUBLISHED_HEADERS
from benchmark.report.table1 import TABLE_HEADERS
from benchmark.report.notrun import NOT_RUN_HEADERS, not_run_frame, ran_datasets
from benchmark.report.table_formats import html_table
from benchmark.report.volume_artefacts import volume_html

__all__ = ["render_html", "write_html", "comparison_sentence"]

CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#1f2328;
line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.82em;margin:.6em 0}th,td{border:1px solid #d0d7de;padding:.25em .5em}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.txt{overflow-wrap:break-word}td.brk{overflow-wrap:anywhere}.scroll{overflow-x:auto}p.same{font-size:.82em;color:#57606a;margin:.6em 0 0}
.gain{color:#1a7f37;font-weight:bold}.harm{color:#cf222e;font-weight:bold}.none{color:#57606a;font-weight:bold}
figure{margin:1em 0}figure img{max-width:100%;box-sizing:border-box;border:1px solid #d0d7de}figcaption{font-size:.9em;color:#57606a}
.note{background:#fff8c5;border:1px solid #d4a72c;padding:.5em 1em;border-radius:6px}"""

FIGURE_CAPTIONS = {
    "paired_seeds": "Hardest-class accuracy per seed; a line joins one seed's arms (one marker per seed, seeds "
                    "dodged sideways so equal ones stay visible), bars mark arm means.",
    "forest": "Mean paired difference per comparison: thick bar = 95 % t CI over seeds; thin capped bar = "
              "bootstrap over seeds and test images; colour = verdict.",
    "fewshot": "Hardest-class accuracy vs k real labels per class (band: 95 % t CI over seeds; dashed: published).",
    "volume_curve": "Endpoint vs added images: synthetic and its count-matched placebo (mean, 95 % t CI), the declared "
                    "fit with its 95 % seed-bootstrap band, and V where the fitted gain per image falls below threshold.",
    "aa_hist": "A/A calibration: statistics of simulated studies whose two arms carry no true difference.",
    "leaderboard": "Generator leaderboard: gain vs real (circle), vs count-matched placebo (square) and generator "
                   "vs generator (diamond), 95 % t CI over seeds; colour = verdict (Holm over the leaderboard).",
    "audit_scatter": "Audit figures of each generator's synthetic set vs its gain over count-matched placebo (95 % CIs; "
                     "audit_scatter.csv): which cheap audit number tracks utility on this study.",
}
# written beside the page but not inlined (yet): tests/report/test_report_html.py counts the inlined figures
NOT_INLINED = {"leaderboard_png"}
VERDICT_CLASS = {"gain": "gain", "harm": "harm", "no evidence": "none", "not tested": "none"}
VERDICT_WORDS = {"gain": "evidence that A beats B on the hardest class",
                 "harm": "evidence that A is worse than B on the hardest class",
                 "no evidence": "no evidence either way",
                 "not tested": "the design is below the rule's minimum (seeds or independent test units): no verdict"}


def _key_text(r) -> str:
    k = "" if r["k"] is None or pd.isna(r["k"]) else f", k = {int(r['k'])}"
    return f"{r['dataset']} / {r['hardest_class']} ({r['model']}{k})"


def comparison_sentence(r: pd.Series) -> str:
    """One comparison in plain words (HTML-escaped), e.g. for a list of verdicts."""
    head = f"<b>{escape(_key_text(r))}</b> — {escape(str(r['comparison']))}: "
    verdict = str(r["verdict"])
    tag = f"<span class=\"{VERDICT_CLASS.get(verdict, 'none')}\">{escape(verdict)}</span>"
    if not r["n"] or r["n"] < 2:
        dropped = ", ".join(map(str, r["dropped_seeds"] or [])) or "none"
        return head + escape(f"{int(r['n'] or 0)} paired seed(s) (unpaired: {dropped}); nothing can be "
                             "concluded.") + f" Verdict: {tag}."
    units = "" if pd.isna(r.get("n_units")) else f", {int(r['n_units'])} independent test units"
    ep = r.get("endpoint") if isinstance(r.get("endpoint"), str) else "hardest_accuracy"
    text = (f"{r.get('family', 'primary')} comparison on {ep}; mean difference {_num(r['mean_pp'], sign=True)} pp over "
            f"{int(r['n'])} seeds{units} (rule interval {_num(r['rule_ci_low_pp'])} to {_num(r['rule_ci_high_pp'])} pp, "
            f"rule p = {_num(r['rule_p'], 3)}; seed-level t CI {_num(r['ci_low_pp'])} to {_num(r['ci_high_pp'])} pp), "
            f"z = {_num(r['z'], 2)}, Wilcoxon p = {_num(r['wilcoxon_p'], 3)}. The verdict is about "
            f"{r.get('population', '')}.")
    out = head + escape(text) + f" Verdict: {tag} ({escape(VERDICT_WORDS.get(verdict, ''))})."
    lo, hi = r["hier_ci_low_pp"], r["hier_ci_high_pp"]
    if verdict != "no evidence" and not (pd.isna(lo) or pd.isna(hi)) and lo <= 0 <= hi:
        out += escape(" Caution: the interval that also resamples test images includes 0, so this result may "
                      "not hold on a different draw of test images.")
    return out


def _what_was_compared(ctx: ReportContext) -> str:
    f = ctx.frame
    if f.empty:
        return "<p>No run records.</p>"
    ok = f[f["status"] == "ok"]
    items = []
    for (ds, model), g in f.groupby(["dataset", "model"], sort=True):
        arms = []
        order = {"real": 0, "placebo": 1, "synthetic": 2}
        groups = sorted(g.groupby([g["arm"], g["generator"].fillna("")], sort=True),
                        key=lambda kv: (order.get(kv[0][0], 3), kv[0]))
        for (arm, gen), a in groups:
            seeds = sorted(ok.loc[a.index.intersection(ok.index), "seed"].unique())
            added = int(a["n_added"].max()) if arm != "real" else 0
            what = {"real": "the real training split only",
                    "placebo": f"real + {added} duplicated real images (count-matched placebo)",
                    "synthetic": f"real + {added} generated images from '{gen}'"}.get(arm, arm)
            arms.append(f"<li><b>{escape(arm + (f'[{gen}]' if gen else ''))}</b>: {escape(what)}; "
                        f"{len(seeds)} of {a['seed'].nunique()} seeds ok</li>")
        hardest = ", ".join(map(str, g["hardest_class"].dropna().unique()))
        items.append(f"<li>{escape(ds)} with {escape(str(model))}: hardest class "
                     f"<b>{escape(hardest)}</b><ul>{''.join(arms)}</ul></li>")
    return ("<p>Each seed trains one model per arm on the same split and is scored on the same test images; "
            "arms differ only in their training data. Per seed, d = accuracy(A) − accuracy(B) on the hardest "
            f"class; the evidence is the spread of d over seeds.</p><ul>{''.join(items)}</ul>")


def _figures(ctx: ReportContext) -> str:
    out = []
    for name, path in ctx.written.items():
        if not name.endswith("_png") or name in NOT_INLINED or not Path(path).is_file():
            continue
        stem = name[:-4]
        cap = FIGURE_CAPTIONS.get(stem, "Confusion matrices per arm (mean over seeds, rows normalised to 1)."
                                  if stem.startswith("confusion") else
                                  f"Audit gallery {stem[len('audit_gallery_'):]}: synthetic images beside their nearest "
                                  "test and train images" if stem.startswith("audit_gallery_") else stem)
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        out.append(f"<figure><img alt=\"{escape(stem)}\" src=\"data:image/png;base64,{data}\">"
                   f"<figcaption>{escape(cap)}</figcaption></figure>")
    return "".join(out)


def _extra_tables(ctx: ReportContext, stems: tuple[str, ...]) -> str:
    """Tables another artefact wrote as CSV (leaderboard, audit), rendered from its Markdown twin's headers."""
    from benchmark.report.audit import AUDIT_HEADERS
    from benchmark.report.curation import CURATION_HEADERS
    from benchmark.report.leaderboard import LEADERBOARD_HEADERS, PAIRWISE_HEADERS

    headers = {"leaderboard": LEADERBOARD_HEADERS, "leaderboard_pairwise": PAIRWISE_HEADERS,
               "audit": AUDIT_HEADERS | {"class": "Class"}, "curation": CURATION_HEADERS}
    out = [f"<div class=\"scroll\">{html_table(pd.read_csv(ctx.written[f'{s}_csv']), headers[s], 3)}</div>"
           for s in stems if f"{s}_csv" in ctx.written]
    if out and "leaderboard" in stems and "leaderboard_png" in ctx.written:
        out.append("<p>Forest plot of these comparisons: <code>leaderboard.png</code> / <code>.svg</code> beside "
                   "this page.</p>")
    return "".join(out)


def _section(title: str, body: str) -> str:
    return f"<h2>{escape(title)}</h2>{body}" if body else ""


def render_html(ctx: ReportContext, out_dir: Path) -> str:
    c = ctx.comparisons
    verdicts = "<ul>" + "".join(f"<li>{comparison_sentence(r)}</li>" for _, r in c.iterrows()) + "</ul>"
    eff = ctx.efficiency
    pub_note = ("<p class=\"note\">Published SCARCE numbers are shown beside ours where the dataset and hardest class "
                "match; empty cells are numbers not in our sources.</p>"
                if "published_note" in ctx.table else "")
    body = [
        f"<h1>scarce-bench report: {escape(ctx.data.name)}</h1>",
        f"<p>{len(ctx.frame)} run records, {int((ctx.frame.get('status') == 'ok').sum()) if len(ctx.frame) else 0} ok. "
        f"Verdict rule: {escape(ctx.rule.describe())}. {escape(endpoint_note(ctx.data.primary))}</p>",
        _section("What was compared", _what_was_compared(ctx)),
        _section("Verdicts", verdicts if len(c) else "<p>No comparisons (no arm pairs with runs).</p>"),
        _section("Caveats", caveats_html(ctx, out_dir)),
        _section("SCARCE-style table (sorted by gain)",
                 pub_note + f"<div class=\"scroll\">{html_table(ctx.table, TABLE_HEADERS | PUBLISHED_HEADERS)}</div>"),
        _section("Published vs reproduced", _replication(ctx)),
        _section("All statistics per comparison",
                 f"<div class=\"scroll\">{html_table(c, COMPARISON_HEADERS, 3)}</div>"),
        _section("Secondary endpoints (unadjusted, no verdict)", secondary_html(ctx)),
        _section("Volume curve", volume_html(ctx)),
        _section("Label efficiency (few-shot)", html_table(eff, EFFICIENCY_HEADERS) if len(eff) else ""),
        _section("Generator leaderboard", _extra_tables(ctx, ("leaderboard", "leaderboard_pairwise"))),
        _section("Does curation help, beyond volume? (each selector vs random at equal N)",
                 _extra_tables(ctx, ("curation",))),
        _section("Synthetic-set audit", _extra_tables(ctx, ("audit",))),
        _section("Figures", _figures(ctx)),
        _section("Datasets not run", _not_run(ctx)),
        _section("Failed runs", html_table(failures_frame(ctx.frame)) if len(failures_frame(ctx.frame)) else ""),
    ]
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>scarce-bench: {escape(ctx.data.name)}</title><style>{CSS}</style></head><body>"
            + "".join(body) + "</body></html>\n")


def _replication(ctx: ReportContext) -> str:
    """Published SCARCE Table 1 figures beside ours, with the replication verdict (:mod:`.replication`)."""
    from benchmark.report.replication import NOTE, REPLICATION_HEADERS

    rep = ctx.replication
    if rep.empty:
        return ""
    return (f"<div class=\"scroll\">{html_table(rep, REPLICATION_HEADERS)}</div>"
            f"<p class=\"note\">{escape(NOTE.strip().replace('*', ''))}</p>")


def _not_run(ctx: ReportContext) -> str:
    table = not_run_frame(ctx.data.skipped, ran_datasets(ctx.frame))
    return html_table(table, NOT_RUN_HEADERS) if len(table) else ""


def write_html(ctx: ReportContext, out_dir: Path) -> dict[str, Path]:
    path = out_dir / "index.html"
    path.write_text(render_html(ctx, out_dir), encoding="utf-8")
    return {"index_html": path}
