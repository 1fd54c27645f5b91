"""Volume curves: an endpoint vs the number of added images, a fit declared before the run, its seed-bootstrap
CI, and the volume where the fitted gain per added image falls below a stated threshold (diminishing returns).

Models (``volume_curve.fit`` in the config, recorded in every record; never picked after seeing the data):

- ``saturating``: f(v) = a + b (1 − e^(−v/c)); f'(v) = (b/c) e^(−v/c); f' < t from v = c ln(b / (c t));
- ``log``:        f(v) = a + b ln(1 + v/c);    f'(v) = b / (c + v);      f' < t from v = b/t − c;
- ``peak``:       f(v) = a + b (v/c) e^(1 − v/c); f'(v) = (b/c) e^(1 − v/c) (1 − v/c); f' < t from
                  v = c (1 − W₀(t c / b)) (W₀: Lambert's principal branch); for b > 0 the curve rises to its
                  optimum a + b at v = c and falls past it: too many generated images hurt (MT crack, docs/volume.md);
- ``saturating_linear``: f(v) = a + b (1 − e^(−v/c)) − d v, a saturating gain less a cost d per image (four
                  parameters); f'(v) = (b/c) e^(−v/c) − d; f' < t from v = c ln(b / (c (t + d))); for d > 0 and
                  b/c > d the curve rises to an optimum at v = c ln(b / (c d)) and falls past it, below its start if
                  the data say so (which peak cannot: it returns to a from above).

v is in added images, f in the endpoint's own units (a fraction for accuracy / AP), t in those units per image.
The fit is least squares over every (seed, volume) point (scipy.optimize.curve_fit, c bounded to
[v_min / 100, 100 v_max] so that a straight line stays a finite, "not yet saturating" c); the CI of the
parameters, of the fitted curve and of V resamples seeds (rows: a seed's whole curve stays together, the
volumes of one seed are paired) with an explicit ``np.random.Generator``. V beyond the largest volume tested is
reported as "not reached" with the largest volume as a lower bound, never extrapolated.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats as _st
from scipy.optimize import OptimizeWarning, curve_fit, minimize_scalar
from scipy.special import lambertw

__all__ = ["MODELS", "PARAMS", "VOLUME_N_BOOT", "n_params", "curve", "curve_at", "marginal_gain", "fit_curve", "diminishing_volume", "optimum_volume",
           "volume_fit", "bootstrap_fits", "describe_v", "lack_of_fit"]

VOLUME_N_BOOT = 1000  # seed-bootstrap refits per curve (each a curve_fit: 4000 would take ~10 s per curve)
MODELS = ("saturating", "log", "peak", "saturating_linear")
PARAMS = "abcd"  # parameter names in order; a model uses the first n_params(model)


def n_params(model: str) -> int:
    return 4 if model == "saturating_linear" else 3


def _check_model(model: str) -> None:
    if model not in MODELS:
        raise ValueError(f"volume_curve.fit={model!r}; expected one of {', '.join(MODELS)}")


def curve(v, a: float, b: float, c: float, model: str = "saturating", d: float = 0.0) -> np.ndarray:
    """f(v) of the model (v: array of volumes, shape (n,)); d: saturating_linear's cost per image."""
    _check_model(model)
    v = np.asarray(v, dtype=float)
    if model == "peak":
        return a + b * (v / c) * np.exp(1 - v / c)
    if model == "saturating_linear":
        return a - b * np.expm1(-v / c) - d * v
    return a + b * (-np.expm1(-v / c) if model == "saturating" else np.log1p(v / c))


def curve_at(v, params, model: str) -> np.ndarray:
    """f(v) for a parameter vector of n_params(model) values (a, b, c[, d])."""
    return curve(v, *params[:3], model, *params[3:4])


def marginal_gain(v, params, model: str = "saturating") -> np.ndarray:
    """f'(v): the fitted gain per added image at volume v (endpoint units per image)."""
    b, c = params[1], params[2]
    v = np.asarray(v, dtype=float)
    if model == "peak":
        return (b / c) * np.exp(1 - v / c) * (1 - v / c)
    if model == "saturating_linear":
        return (b / c) * np.exp(-v / c) - params[3]
    return (b / c) * np.exp(-v / c) if model == "saturating" else b / (c + v)


def diminishing_volume(params, threshold: float, model: str = "saturating") -> float:
    """The smallest v >= 0 with f'(v) < threshold (closed form; 0 when f'(0) is already below it, e.g. b <= 0)."""
    _check_model(model)
    if threshold <= 0:
        raise ValueError(f"threshold={threshold!r}; expected a gain per image > 0")
    b, c = params[1], params[2]
    if float(marginal_gain(0.0, params, model)) < threshold:
        return 0.0
    if model == "saturating_linear":  # f' decreases to -d: below t from c ln(b / (c (t + d))), never if -d >= t
        return float(c * math.log(b / (c * (threshold + params[3])))) if threshold + params[3] > 0 else math.inf
    if model == "peak":  # (1 − x) e^(−x) = t c / (b e) with x = v/c, i.e. w e^w = t c / b for w = 1 − x ∈ (0, 1)
        return float(c * (1 - lambertw(threshold * c / b, 0).real))
    return float(c * math.log(b / (c * threshold)) if model == "saturating" else b / threshold - c)


def optimum_volume(params, model: str, v_max: float) -> float:
    """The volume of the fitted optimum: c for ``peak`` with b > 0, c ln(b / (c d)) for ``saturating_linear`` with
    d > 0 and b/c > d, when within v_max; ``inf`` when the curve has no optimum within the tested range (it never
    rises, never turns, or turns beyond it: never extrapolated); NaN for the monotone models or a failed fit."""
    if model not in ("peak", "saturating_linear") or np.isnan(params).any():
        return math.nan
    b, c = params[1], params[2]
    if model == "saturating_linear":
        d = params[3]
        opt = c * math.log(b / (c * d)) if d > 0 and b / c > d else math.inf
        return float(opt) if opt <= v_max else math.inf
    return float(c) if b > 0 and c <= v_max else math.inf


def _bounds(v: np.ndarray, model: str = "saturating") -> tuple[list[float], list[float]]:
    pos = v[v > 0]
    vmax = float(v.max())
    lo_c = float(pos.min()) / 100 if pos.size else 1e-3
    extra = n_params(model) - 3  # d: unbounded
    return [-np.inf, -np.inf, lo_c] + [-np.inf] * extra, [np.inf, np.inf, 100 * vmax] + [np.inf] * extra


def _linear_part(v: np.ndarray, y: np.ndarray, model: str, c: float) -> tuple[float, list[float]]:
    """(SSE, parameters) at a fixed c: the model is linear in the others (basis 1, curve(v, 0, 1, c) and, for d,
    −v), solved exactly by least squares."""
    cols = [np.ones_like(v), curve(v, 0.0, 1.0, c, model)] + ([-v] if n_params(model) == 4 else [])
    x = np.column_stack(cols)
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    return float(((x @ coef - y) ** 2).sum()), [float(coef[0]), float(coef[1]), float(c)] + [float(k) for k in coef[2:]]


def _profile_start(v: np.ndarray, y: np.ndarray, model: str, lo_c: float, hi_c: float, n: int = 80) -> list[float]:
    """(a, b, c[, d]) at the best of ``n`` values of c on a geometric grid over its bounds, the others exact for each
    c (:func:`_linear_part`): a start near the global least-squares minimum, which a single heuristic start can miss
    on a non-convex model (peak on a rise-and-fall curve fell into a straight line)."""
    return min((_linear_part(v, y, model, c) for c in np.geomspace(lo_c, hi_c, n)), key=lambda t: t[0])[1]


def _separable_fit(v: np.ndarray, y: np.ndarray, model: str, lo_c: float, hi_c: float, n: int = 80) -> np.ndarray:
    """Variable projection (Golub & Pereyra): the least-squares SSE profiled over c alone, the other parameters exact
    for each c. The best of ``n`` grid values of log c, then Brent's bounded search between its neighbours
    (scipy.optimize.minimize_scalar). Used for the 4-parameter model, whose b, c and d trade off near a straight
    line: a joint curve_fit there took up to 20 000 evaluations per bootstrap refit."""
    logs = np.linspace(math.log(lo_c), math.log(hi_c), n)
    i = int(np.argmin([_linear_part(v, y, model, math.exp(t))[0] for t in logs]))
    lo, hi = logs[max(i - 1, 0)], logs[min(i + 1, n - 1)]
    res = minimize_scalar(lambda t: _linear_part(v, y, model, math.exp(t))[0], bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-9})
    best = min((_linear_part(v, y, model, math.exp(t)) for t in (res.x, logs[i])), key=lambda t: t[0])
    return np.asarray(best[1], dtype=float)


def fit_curve(v, y, model: str = "saturating") -> np.ndarray:
    """Least-squares (a, b, c[, d]) of the model to points (v_i, y_i) (1-D arrays of one length), or NaNs if the
    fit fails. saturating_linear: :func:`_separable_fit`. The others: refined (scipy curve_fit) from two starts, the lower residual kept: a heuristic (a = mean at the
    smallest v, b = the range of the means, c = the median volume; for peak, the volume furthest from the first)
    and the best point of a profile over c (``_profile_start``)."""
    _check_model(model)
    v, y = np.asarray(v, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    keep = ~np.isnan(y)
    v, y = v[keep], y[keep]
    k = n_params(model)
    if np.unique(v).size < k:
        return np.full(k, np.nan)  # k parameters need k distinct volumes
    lo, hi = _bounds(v, model)
    if k == 4:
        return _separable_fit(v, y, model, lo[2], hi[2])
    means = {u: y[v == u].mean() for u in np.unique(v)}
    vs = sorted(means)
    if model == "peak":  # start at the measured extreme: the volume whose mean is furthest from the first
        far = max(vs[1:], key=lambda u: abs(means[u] - means[vs[0]]))
        p0 = [means[vs[0]], means[far] - means[vs[0]], min(max(far, lo[2]), hi[2])]
    else:
        p0 = [means[vs[0]], means[vs[-1]] - means[vs[0]], min(max(float(np.median(v[v > 0])), lo[2]), hi[2])]
    p0 += [0.0] * (k - 3)  # d: no cost per image to start
    f = (lambda x, *p: curve_at(x, p, model))
    best = (math.inf, np.full(k, np.nan))
    for start in (p0, _profile_start(v, y, model, lo[2], hi[2])):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", OptimizeWarning)
                p, _ = curve_fit(f, v, y, p0=start, bounds=(lo, hi), maxfev=20000)
        except (RuntimeError, ValueError):
            continue
        sse = float(((f(v, *p) - y) ** 2).sum())
        if sse < best[0]:
            best = (sse, np.asarray(p, dtype=float))
    return best[1]


def lack_of_fit(v, y, yhat, n_params: int = 3) -> dict:
    """The classical lack-of-fit F test of a fitted curve with replicates at each volume (1-D arrays of one length):
    residual SS = pure error (within volumes, df n − m) + lack of fit (volume means vs the curve, df m − p).
    A small p says the model does not describe the measured means: its V is then not a summary of the data.
    Seeds are paired across volumes, so the pure error holds the seed-to-seed spread too (a conservative test)."""
    v, y, yhat = (np.asarray(x, dtype=float).ravel() for x in (v, y, yhat))
    levels = np.unique(v)
    m, n = levels.size, v.size
    means = np.array([y[v == u].mean() for u in levels])[np.searchsorted(levels, v)]
    ss_pe, ss_lf = float(((y - means) ** 2).sum()), float(((means - yhat) ** 2).sum())
    df1, df2 = m - n_params, n - m
    if df1 < 1 or df2 < 1 or ss_pe == 0:
        return {"F": math.nan, "df1": df1, "df2": df2, "p": math.nan}
    f = (ss_lf / df1) / (ss_pe / df2)
    return {"F": float(f), "df1": int(df1), "df2": int(df2), "p": float(_st.f.sf(f, df1, df2))}


def bootstrap_fits(volumes, values, model: str, rng: np.random.Generator, n_boot: int = VOLUME_N_BOOT) -> np.ndarray:
    """(n_boot, n_params(model)) refitted parameters, seeds (rows of ``values``, shape (S, V)) resampled with replacement;
    draw b uses rows ``idx[b]`` of ``rng.integers(0, S, (n_boot, S))``."""
    volumes, values = np.asarray(volumes, dtype=float), np.asarray(values, dtype=float)
    s = values.shape[0]
    idx = rng.integers(0, s, size=(n_boot, s))
    vv = np.broadcast_to(volumes, values.shape)
    return np.array([fit_curve(vv[i], values[i], model) for i in idx])


def _q(x: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval; inverted_cdf (no interpolation) so an infinite draw ("not reached") stays infinite."""
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan, math.nan
    lo, hi = np.quantile(x, [(1 - confidence) / 2, (1 + confidence) / 2], method="inverted_cdf")
    return float(lo), float(hi)


def volume_fit(volumes, values, model: str, threshold: float, rng: np.random.Generator,
               n_boot: int = VOLUME_N_BOOT, confidence: float = 0.95, grid_points: int = 61) -> dict:
    """The fit of one curve: ``volumes`` (V,) added images, ``values`` (S seeds, V) the endpoint per seed.

    Returns the parameters with bootstrap CIs, V (``inf`` = not reached within the tested range: its CI bounds
    too where a draw does not reach it), ``reached``, the fitted curve and its band on a grid of ``grid_points``
    volumes over [0, max volume] (``grid``, ``fit``, ``fit_lo``, ``fit_hi``), and how many refits failed."""
    volumes, values = np.asarray(volumes, dtype=float), np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[1] != volumes.size:
        raise ValueError(f"values must be (seeds, {volumes.size} volumes); got {values.shape}")
    vmax = float(volumes.max())
    params = fit_curve(np.broadcast_to(volumes, values.shape), values, model)
    k = n_params(model)
    boots = bootstrap_fits(volumes, values, model, rng, n_boot) if values.shape[0] >= 2 else np.full((0, k), np.nan)
    ok = boots[~np.isnan(boots).any(axis=1)]

    def dv(p) -> float:
        if np.isnan(p).any():
            return math.nan
        v = diminishing_volume(p, threshold, model)
        return v if v <= vmax else math.inf  # beyond the tested range: not reached, never extrapolated

    grid = np.linspace(0.0, vmax, grid_points)
    band = np.array([curve_at(grid, p, model) for p in ok]) if len(ok) else np.full((0, grid.size), np.nan)
    q = [(1 - confidence) / 2 * 100, (1 + confidence) / 2 * 100]
    out = {"model": model, "threshold": threshold, "n_seeds": int(values.shape[0]), "n_volumes": int(volumes.size),
           "v_max": vmax, "n_boot": int(n_boot), "n_boot_failed": int(len(boots) - len(ok)),
           "diminishing_v": dv(params), "grid": grid,
           "fit": curve_at(grid, params, model) if not np.isnan(params).any() else np.full(grid.size, np.nan),
           "fit_lo": np.percentile(band, q[0], axis=0) if len(ok) else np.full(grid.size, np.nan),
           "fit_hi": np.percentile(band, q[1], axis=0) if len(ok) else np.full(grid.size, np.nan)}
    for i, name in enumerate(PARAMS):  # d is NaN for the three-parameter models
        out[name] = float(params[i]) if i < k else math.nan
        out[f"{name}_lo"], out[f"{name}_hi"] = _q(ok[:, i], confidence) if len(ok) and i < k else (math.nan, math.nan)
    out["diminishing_v_lo"], out["diminishing_v_hi"] = _q(np.array([dv(p) for p in ok]), confidence)
    out["reached"] = bool(math.isfinite(out["diminishing_v"]))
    out["optimum_v"] = optimum_volume(params, model, vmax)
    out["optimum_v_lo"], out["optimum_v_hi"] = (_q(np.array([optimum_volume(p, model, vmax) for p in ok]), confidence)
                                                if model in ("peak", "saturating_linear") and len(ok)
                                                else (math.nan, math.nan))
    vv = np.broadcast_to(volumes, values.shape)
    yhat = curve_at(vv, params, model) if not np.isnan(params).any() else np.full(values.shape, np.nan)
    lof = lack_of_fit(vv, values, yhat, k)
    out |= {"lof_F": lof["F"], "lof_p": lof["p"], "lof_df1": lof["df1"], "lof_df2": lof["df2"],
            "c_at_bound": bool(not np.isnan(params[2]) and np.isclose(params[2], _bounds(volumes, model)[1][2])),
            "rises": bool(not np.isnan(params).any() and float(marginal_gain(0.0, params, model)) > 0)}
    return out


def describe_v(fit: dict, unit: str = "images", per: float = 100.0, per_unit: str = "pp") -> str:
    """The diminishing-returns volume in words, with the threshold it used (``per`` scales it: 100 = pp), and the
    lack-of-fit warning where the declared model does not describe the measured means (p < 0.05)."""
    t = f"{fit['threshold'] * per:g} {per_unit} per added image"
    v, lo, hi = fit["diminishing_v"], fit["diminishing_v_lo"], fit["diminishing_v_hi"]
    lof = fit.get("lof_p", math.nan)
    warn = (f"; the {fit['model']} model does not fit the measured means (lack-of-fit F test p = {lof:.2g}), so V "
            "does not summarise this curve" if lof < 0.05 else "")
    if math.isnan(v):
        return f"no fit (fewer than 3 volumes, or the fit failed); threshold {t}"
    if not fit["reached"]:
        return (f"not reached within the tested range (V > {fit['v_max']:g} {unit}: the fitted gain per image is "
                f"still >= {t} at the largest volume tested){warn}")
    if v == 0:
        shape = "rises by less than" if fit.get("rises", True) else "does not rise: its slope is below"
        return f"no gain to diminish: the fitted curve {shape} {t} from the first image on{warn}"
    hi_s = f"> {fit['v_max']:g}" if math.isinf(hi) else f"{hi:.0f}"
    said = f"diminishing returns after ≈ {v:.0f} {unit} (95 % CI {lo:.0f} to {hi_s}; gain per image < {t})"
    opt = fit.get("optimum_v", math.nan)
    if math.isfinite(opt):
        o_hi = fit["optimum_v_hi"]
        o_hi_s = "not within the tested range" if math.isinf(o_hi) else f"{o_hi:.0f}"
        said += (f"; the fitted optimum is at ≈ {opt:.0f} {unit} (95 % CI {fit['optimum_v_lo']:.0f} to {o_hi_s}): "
                 "past it, more generated images lower the endpoint")
    return said + warn
