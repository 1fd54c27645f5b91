"""Per-run metrics from stored probabilities: per-class accuracy, confusion, AP and macro mAP."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, balanced_accuracy_score, confusion_matrix


def classification_metrics(y_true: np.ndarray, probs: np.ndarray, classes: list[str],
                           hardest: str | None = None) -> dict:
    """y_true: (N,) int labels; probs: (N, C). Accuracy per class is recall of that class."""
    y_true = np.asarray(y_true)
    probs = np.asarray(probs)
    y_pred = probs.argmax(1)
    cm = confusion_matrix(y_true, y_pred, labels=list(range(len(classes))))
    support = cm.sum(1)
    per_class = {c: (float(cm[i, i] / support[i]) if support[i] else None) for i, c in enumerate(classes)}
    ap = {}
    for i, c in enumerate(classes):
        pos = y_true == i
        ap[c] = float(average_precision_score(pos, probs[:, i])) if pos.any() else None
    aps = [v for v in ap.values() if v is not None]
    return {
        "classes": list(classes),
        "accuracy": float((y_pred == y_true).mean()),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "per_class_accuracy": per_class,
        "support": {c: int(s) for c, s in zip(classes, support)},
        "confusion_matrix": cm.tolist(),  # rows = true class, columns = predicted
        "average_precision": ap,
        "macro_map": float(np.mean(aps)) if aps else None,
        "hardest_class": hardest,
        "hardest_class_accuracy": per_class.get(hardest) if hardest else None,
    }
