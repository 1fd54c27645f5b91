"""The gallery figure: synthetic images beside their nearest test and train images (by perceptual hash).

Flagged test near-copies come first (all of them, up to `max_rows`), then the closest remaining ones to
test, then a spread of the rest, so the figure shows both what was caught and what passed near the line.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.data.base import load_rgb


def gallery_rows(rows: list[dict], max_rows: int) -> list[dict]:
    """Flagged rows first (closest first), then unflagged by closeness to test, then evenly spaced others."""
    flagged = sorted((r for r in rows if r["test_copy"]), key=lambda r: r["test_hash_dist"])
    rest = sorted((r for r in rows if not r["test_copy"]), key=lambda r: (r["test_hash_dist"], -r["test_cos"]))
    out = flagged[:max_rows]
    room = max_rows - len(out)
    if room > 0 and rest:
        close = rest[: (room + 1) // 2]
        others = rest[len(close):]
        idx = np.unique(np.linspace(0, len(others) - 1, room - len(close)).round().astype(int)) \
            if others and room > len(close) else []
        out += close + [others[i] for i in idx]
    return out


def write_gallery(rows: list[dict], out_dir: Path, thresholds: dict, max_rows: int = 12,
                  stem: str = "audit_gallery") -> dict[str, Path]:
    """Rows of (synthetic | nearest test | nearest train) with distances; PNG + SVG via the report's saver."""
    import matplotlib.pyplot as plt

    from benchmark.report.figures import save_figure

    picked = gallery_rows(rows, max_rows)
    fig, axes = plt.subplots(max(len(picked), 1), 3, figsize=(7.5, 2.4 * max(len(picked), 1)), squeeze=False)
    for ax_row, r in zip(axes, picked):
        cells = [(r["path"], f"synthetic [{r['label']}]" + ("  FLAGGED" if r["test_copy"] else "")),
                 (r["test_hash_match"], f"test: hash {r['test_hash_dist']}, cos {r['test_cos']:.3f}"),
                 (r["train_hash_match"], f"train: hash {r['train_hash_dist']}, cos {r['train_cos']:.3f}")]
        for ax, (path, title) in zip(ax_row, cells):
            ax.imshow(np.asarray(load_rgb(path)))
            ax.set_title(title, fontsize="small", color="#cf222e" if "FLAGGED" in title else "black")
            ax.set_xticks([])
            ax.set_yticks([])
    for ax in axes.flat[3 * len(picked):]:
        ax.set_visible(False)
    fig.suptitle(f"synthetic vs nearest real (near-copy: hash <= {thresholds['hash']} bits or "
                 f"cos >= {thresholds['cosine']})", fontsize="medium")
    fig.tight_layout()
    return save_figure(fig, Path(out_dir), stem)
