"""Benchmark: the proportional-hazards test and competing-risks cumulative incidence on 1,000,000 customers.

Run: ``.venv/bin/python benchmarks/bench_diagnostics.py [--rows N] [--repeat R]``. Figures are
recorded in docs/benchmarks.md (the discrete-time fits there come from
``benchmarks/bench_discrete.py``, run on its own). Everything below is measured in one process,
csim and lifelines alternating, so that each ratio is taken under the same conditions; with
``--repeat`` every step runs R times and the fastest counts.

The table is ``make_table`` of ``benchmarks/bench_forecast.py``: tenure from dates (whole days,
expressed in months, ~1,000 distinct churn times), Weibull churn with proportional effects of
three normal covariates, uniform censoring.

1. **Cox fit and PH test.** ``CoxPH().fit`` (Efron ties, 3 covariates) and
   ``csim.forecast.ph_test.ph_test`` on that fit (Grambsch–Therneau score test as R
   ``survival::cox.zph`` ≥ 3.0, transform "km", per covariate and global); lifelines
   ``CoxPHFitter().fit`` and ``lifelines.statistics.proportional_hazard_test(cph, df,
   time_transform="km")`` (its time includes the scaled Schoenfeld residuals it computes). Target:
   the PH test ≤ 2 × the Cox fit. lifelines implements the approximation R used before
   survival 3.0 (the information at each churn tenure replaced by the fit's average information,
   km transform right- rather than left-continuous) and reports per-covariate tests only; the
   global statistic printed for lifelines is that older R formula applied to lifelines' scaled
   Schoenfeld residuals (computed here, outside the timing). The two libraries' statistics are
   therefore close but not identical; the script prints both.
2. **Cumulative incidence** with two churn causes (the churns split 70/30 at random, fixed
   seed). csim: ``cumulative_incidence`` (Aalen–Johansen, all causes in one call, with
   infinitesimal-jackknife standard errors as R ``survfit``). lifelines: ``AalenJohansenFitter``,
   one fit per cause (``event_of_interest``; its output is one cause's CIF) with its default
   variance (a Greenwood-type delta-method variance and log-log intervals, not IJ standard
   errors), both fits timed. lifelines does not handle tied churn times: when churns of different
   causes share a tenure it adds uniform noise of ±``jitter_level`` (default 1e-4 of the time unit,
   here months) to every churn time, with a warning, until no ties are left (``seed=0`` here, for
   a repeatable result). The jitter changes the estimate slightly (a churn moved past a censoring
   at the same tenure sees a smaller risk set), so the CIF at 12 months is compared twice: csim on
   the tied data against lifelines, and csim on lifelines' jittered tenures against lifelines
   (ties handled alike: equal to rounding).
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np
import pandas as pd

from bench_forecast import make_table

COVARIATES = ["a", "b", "c"]
HORIZON = 12.0          # months, for the CIF comparison


def best(fn, repeat: int):
    """(fastest wall-clock seconds over ``repeat`` calls, result of the last call)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def step_at(series: pd.Series, t: float, before: float = 0.0) -> float:
    """Right-continuous step function given by ``series`` (indexed by increasing times) at ``t``."""
    i = np.searchsorted(series.index.to_numpy(float), t, side="right") - 1
    return float(series.iloc[i]) if i >= 0 else before


def old_r_global(cph, resid: pd.DataFrame) -> float:
    """Global PH statistic of R survival < 3.0 from lifelines' scaled Schoenfeld residuals.

    lifelines' per-covariate statistic is (g'r_j)² / (d · var_j · Σg²), g the centred transformed
    churn tenures, r the scaled residuals (d · Schoenfeld · V); the global one of the same
    approximation is (g'r) V⁻¹ (g'r)' / (d · Σg²).
    """
    from lifelines.statistics import TimeTransformers

    events = cph.event_observed
    g = TimeTransformers().get("km")(cph.durations, events, cph.weights)[events.values]
    g = np.asarray(g, float) - np.mean(np.asarray(g, float))
    u = g @ resid.to_numpy(float)
    V = cph.variance_matrix_.to_numpy(float)
    return float(u @ np.linalg.solve(V, u) / (events.sum() * np.sum(g * g)))


def old_r_on_csim(zph, V: np.ndarray) -> tuple[np.ndarray, float]:
    """The same pre-3.0 approximation computed from csim's residuals and km transform
    (:func:`csim.forecast.ph_test.cox_zph`): per-covariate statistics and the global one."""
    S = zph.schoenfeld.to_numpy(float)
    g = zph.x - zph.x.mean()
    u = g @ S
    d, gg = len(g), np.sum(g * g)
    return d * (u @ V) ** 2 / (np.diag(V) * gg), float(d * (u @ V @ u) / gg)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each step; the fastest counts (default 1)")
    args = parser.parse_args()

    import lifelines
    from lifelines.statistics import proportional_hazard_test

    from csim.forecast.competing import cumulative_incidence
    from csim.forecast.cox import CoxPH
    from csim.forecast.ph_test import cox_zph, ph_test

    df = make_table(args.rows)
    t, e, X = df["T"].to_numpy(), df["E"].to_numpy(), df[COVARIATES]
    print(f"{args.rows:,} rows, {int(e.sum()):,} churns, {len(np.unique(t[e > 0])):,} distinct churn times; "
          f"Python {platform.python_version()}, lifelines {lifelines.__version__}, numpy {np.__version__}")
    rows = []

    # 1. Cox fit and PH test ------------------------------------------------------------------
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s_cox, cox = best(lambda: CoxPH().fit(t, e, covariates=X), args.repeat)
        l_cox, cph = best(lambda: lifelines.CoxPHFitter().fit(df[COVARIATES + ["T", "E"]], "T", "E"), args.repeat)
        s_ph, table = best(lambda: ph_test(cox, t, e, X, transform="km"), args.repeat)

        def lifelines_ph():
            resid = cph.compute_residuals(df, kind="scaled_schoenfeld")
            return resid, proportional_hazard_test(cph, df, time_transform="km", precomputed_residuals=resid)

        l_ph, (resid, result) = best(lifelines_ph, args.repeat)
    rows += [("Cox PH, Efron, 3 covariates", s_cox, l_cox), ("PH test (km transform)", s_ph, l_ph)]
    print(f"\n{'fit':32s} {'csim s':>8s} {'lifelines s':>12s} {'csim/lifelines':>15s}")
    for name, a, b in rows:
        print(f"{name:32s} {a:8.2f} {b:12.2f} {a / b:15.2f}")
    print(f"{'PH test / Cox fit':32s} {s_ph / s_cox:8.2f} {l_ph / l_cox:12.2f}   (target for csim: <= 2)")

    print(f"\nlargest |coefficient difference| csim - lifelines: "
          f"{np.max(np.abs(cox.params_.reindex(COVARIATES).to_numpy(float) - cph.params_[COVARIATES].to_numpy())):.2e}")
    # The gap between the libraries' statistics is the approximation, not the data: the older
    # formula on csim's own residuals lands next to lifelines.
    old_terms, old_global = old_r_on_csim(cox_zph(cox, t, e, X, transform="km"),
                                          np.asarray(cox.result_.cov_params(), float))
    print(f"{'PH test chi-square':16s} {'csim':>9s} {'lifelines':>10s} {'difference':>11s} {'p csim':>8s} "
          f"{'p lifelines':>12s} {'csim, R<3.0 formula':>20s}")
    ours, theirs, p_theirs = table["chisq"], result.summary["test_statistic"], result.summary["p"]
    for j, name in enumerate(COVARIATES):
        a, b = float(ours[name]), float(theirs[name])
        print(f"{name:16s} {a:9.4f} {b:10.4f} {a - b:+11.4f} {table.loc[name, 'p']:8.3f} {p_theirs[name]:12.3f} "
              f"{old_terms[j]:20.4f}")
    a, b = float(ours["GLOBAL"]), old_r_global(cph, resid)
    print(f"{'GLOBAL (3 df)':16s} {a:9.4f} {b:10.4f} {a - b:+11.4f} {table.loc['GLOBAL', 'p']:8.3f} "
          f"{'':>12s} {old_global:20.4f}")
    print("(lifelines reports no global test: its GLOBAL is the R < 3.0 formula applied to its scaled residuals)")

    # 2. Cumulative incidence, two causes -------------------------------------------------------
    rng = np.random.default_rng(1)
    cause = np.where(e > 0, np.where(rng.uniform(size=len(e)) < 0.7, 1, 2), 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s_cif, cif = best(lambda: cumulative_incidence(t, cause), args.repeat)

        def lifelines_cif():
            return {k: lifelines.AalenJohansenFitter(seed=0).fit(t, cause, event_of_interest=k) for k in (1, 2)}

        l_cif, ajf = best(lifelines_cif, args.repeat)
    print(f"\n{int((cause == 1).sum()):,} churns of cause 1, {int((cause == 2).sum()):,} of cause 2")
    print(f"{'fit':32s} {'csim s':>8s} {'lifelines s':>12s} {'csim/lifelines':>15s}")
    print(f"{'cumulative incidence, 2 causes':32s} {s_cif:8.2f} {l_cif:12.2f} {s_cif / l_cif:15.2f}   "
          "(target for csim: <= 2 s)")

    jittered = np.asarray(ajf[1].durations, float)
    if len(jittered) != len(t) or not np.array_equal(jittered[cause == 0], t[cause == 0]) \
            or not np.array_equal(jittered, np.asarray(ajf[2].durations, float)):
        raise RuntimeError("lifelines' jittered tenures are not aligned with the input rows")
    moved = np.abs(jittered - t)[cause > 0]
    print(f"lifelines jitter: churn times moved by up to {moved.max():.1e} months "
          f"(median {np.median(moved):.1e}); {len(np.unique(jittered[cause > 0])):,} distinct churn times after it")
    cif_j = cumulative_incidence(jittered, cause)
    print(f"CIF at {HORIZON:g} months        {'csim':>9s} {'lifelines':>10s} {'difference':>11s} "
          f"{'csim on jittered':>17s} {'difference':>11s}   {'se csim (IJ)':>12s} {'se lifelines':>12s}")
    for k in (1, 2):
        ours = float(cif.cif(HORIZON, k)[0])
        theirs = step_at(ajf[k].cumulative_density_.iloc[:, 0], HORIZON)
        same = float(cif_j.cif(HORIZON, k)[0])
        se_ours = float(cif.at([HORIZON]).set_index("cause").loc[k, "se"])
        se_theirs = np.sqrt(step_at(ajf[k].variance_, HORIZON))
        print(f"cause {k}                    {ours:9.5f} {theirs:10.5f} {ours - theirs:+11.1e} "
              f"{same:17.5f} {same - theirs:+11.1e}   {se_ours:12.2e} {se_theirs:12.2e}")


if __name__ == "__main__":
    main()
