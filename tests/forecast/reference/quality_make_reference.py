"""Reference values for tests/forecast/test_quality.py (Brier score, IBS, cumulative/dynamic AUC).

Run once, outside the project's venv (the test suite needs neither scikit-survival nor R):

    python3 -m venv /tmp/sksurv && /tmp/sksurv/bin/pip install scikit-survival pandas
    /tmp/sksurv/bin/python tests/forecast/reference/quality_make_reference.py

Last run with scikit-survival 0.28.0, numpy 2.4.6, pandas 3.1.1, R 4.2.2 Patched (2022-11-10
r83330) with survival 3.5.3 (the versions are also written to quality_reference.json). The
script calls ``Rscript quality_make_reference.R`` for the model predictions and for the
survival::rttright values. Rerunning rewrites the same files with the same numbers.

Data sets (written as CSV next to this script; deterministic seeds):

A  61 customers, whole-month tenures with many ties, churn and censoring at the same tenures,
   one covariate rounded to 0.1 (tied risk scores); predictions from a Cox model (R coxph,
   Breslow). Grids: every whole month (tenures where customers churn and are censored) and
   half months (no censoring there, for the R comparison).
B  50 customers, continuous tenures (3 decimals), uniform censoring; predictions from the true
   exponential model S_i(t) = exp(−t·exp(0.8 x_i)/10) and, for the AUC, the linear predictor.
C  51 training and 35 test customers, whole months, two groups; predictions for the test
   customers from Kaplan–Meier per group fitted to the training customers; the censoring
   distribution G is estimated from the training customers (scikit-survival's survival_train).

Values (quality_reference.json), per data set and grid:

* ``sksurv``: ``sksurv.metrics.brier_score``, ``integrated_brier_score``,
  ``cumulative_dynamic_auc`` (scores and mean), and the Brier score of the marginal
  Kaplan–Meier prediction (``kaplan_meier_estimator`` on the training customers) — to be matched
  by csim with ``convention="sksurv"``.
* ``graf``: the same formulas with the churners' weight 1/G(T_i−) (scikit-survival's censoring
  estimator evaluated just before T_i) and a plain double loop for the AUC — csim's default.
* ``R`` (CSV files quality_*_R*.csv): Brier and AUC from survival::rttright weights on grids
  without censoring times, where they coincide with the "graf" convention.
"""

from __future__ import annotations

import json
import subprocess
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from sksurv.metrics import brier_score, cumulative_dynamic_auc, integrated_brier_score
from sksurv.nonparametric import CensoringDistributionEstimator, kaplan_meier_estimator
from sksurv.util import Surv

HERE = Path(__file__).resolve().parent


def write(frame: pd.DataFrame, name: str) -> None:
    frame.to_csv(HERE / name, index=False)


def make_data() -> None:
    rng = np.random.default_rng(20240601)
    n = 60
    x = np.round(rng.normal(size=n), 1)
    tenure = np.ceil(8 * rng.weibull(1.3, n) * np.exp(-0.6 * x / 1.3))
    censor = np.ceil(rng.uniform(0, 14, n))
    a = pd.DataFrame({"duration": np.minimum(tenure, censor), "event": (tenure <= censor).astype(int), "x": x})
    # One customer followed longest, so that G stays above 0 at the last churn (scikit-survival's
    # convention weights a churn by 1/G(T_i) and refuses G(T_i) = 0).
    a.loc[n] = {"duration": a.duration.max() + 2, "event": 0, "x": 0.0}
    write(a, "quality_A_data.csv")
    a = pd.read_csv(HERE / "quality_A_data.csv")
    last = a.duration.max()
    grids = [("int", t) for t in np.arange(1, last)] + [("half", t + 0.5) for t in np.arange(1, last - 1)]
    write(pd.DataFrame(grids, columns=["grid", "t"]), "quality_A_grids.csv")

    rng = np.random.default_rng(20240602)
    n = 50
    x = np.round(rng.normal(size=n), 2)
    tenure = rng.exponential(10 * np.exp(-0.8 * x))
    censor = rng.uniform(0, 25, n)
    b = pd.DataFrame({"duration": np.round(np.minimum(tenure, censor), 3), "event": (tenure <= censor).astype(int),
                      "x": x})
    write(b, "quality_B_data.csv")
    times = np.array([2.0, 4, 6, 8, 10, 12, 14])
    write(pd.DataFrame({"t": times}), "quality_B_grids.csv")
    surv = np.exp(-np.outer(np.exp(0.8 * b.x.to_numpy()) / 10, times))
    write(pd.DataFrame(surv, columns=[f"t{t:g}" for t in times]), "quality_B_survival.csv")

    for name, seed, n in (("train", 20240603, 50), ("test", 20240604, 35)):
        rng = np.random.default_rng(seed)
        group = rng.integers(0, 2, n)
        tenure = np.ceil(rng.exponential(np.where(group == 0, 6.0, 3.0)))
        censor = np.minimum(np.ceil(rng.uniform(0, 12, n)), 10)
        c = pd.DataFrame({"duration": np.minimum(tenure, censor), "event": (tenure <= censor).astype(int),
                          "group": group})
        if name == "train":  # followed longest: G from the training customers covers every test tenure
            c.loc[n] = {"duration": 12, "event": 0, "group": 0}
        write(c, f"quality_C_{name}.csv")
    write(pd.DataFrame([("int", t) for t in range(1, 9)] + [("one", 4)], columns=["grid", "t"]),
          "quality_C_grids.csv")


def structured(frame: pd.DataFrame):
    return Surv.from_arrays(frame.event.to_numpy(bool), frame.duration.to_numpy(float))


def graf_values(train, test, surv, risk, times) -> dict:
    """Graf's left-limit case weights 1/G(T_i−), by direct formulas (no csim code)."""
    cens = CensoringDistributionEstimator().fit(structured(train))
    y = test.duration.to_numpy(float)
    d = test.event.to_numpy(bool)
    # Just below T_i; the tenures are on a 0.001 grid, so 1e-9 below is strictly before any earlier one.
    g_case = cens.predict_proba(y - 1e-9)
    g_t = cens.predict_proba(times)
    brier, auc = [], []
    for k, t in enumerate(times):
        case = (y <= t) & d
        ctrl = y > t
        brier.append(float(np.mean(np.where(case, surv[:, k] ** 2 / g_case, 0.0)
                                   + np.where(ctrl, (1 - surv[:, k]) ** 2 / g_t[k], 0.0))))
        if case.any() and ctrl.any():
            num = 0.0
            for i in np.flatnonzero(case):
                for j in np.flatnonzero(ctrl):
                    num += (1.0 if risk[i, k] > risk[j, k] else 0.5 if risk[i, k] == risk[j, k] else 0.0) / g_case[i]
            auc.append(num / (np.sum(1.0 / g_case[case]) * ctrl.sum()))
        else:
            auc.append(None)
    return {"brier": brier, "auc": auc}


def sksurv_values(train, test, surv, risk, times) -> dict:
    tr, te = structured(train), structured(test)
    _, bs = brier_score(tr, te, surv, times)
    out = {"brier": bs.tolist()}
    if len(times) > 1:
        out["ibs"] = float(integrated_brier_score(tr, te, surv, times))
    auc, mean_auc = cumulative_dynamic_auc(tr, te, risk, times)
    out["auc"], out["mean_auc"] = auc.tolist(), float(mean_auc)
    km_t, km_s = kaplan_meier_estimator(train.event.to_numpy(bool), train.duration.to_numpy(float))
    km = km_s[np.searchsorted(km_t, times, side="right") - 1]
    _, out["brier_km"] = brier_score(tr, te, np.repeat(km[None, :], len(test), axis=0), times)
    out["brier_km"] = out["brier_km"].tolist()
    return out


def main() -> None:
    make_data()
    subprocess.run(["Rscript", str(HERE / "quality_make_reference.R"), str(HERE)], check=True)
    cases = {}
    a = pd.read_csv(HERE / "quality_A_data.csv")
    grids = pd.read_csv(HERE / "quality_A_grids.csv")
    for grid in ("int", "half"):
        times = grids.t[grids.grid == grid].to_numpy(float)
        surv = pd.read_csv(HERE / f"quality_A_survival_{grid}.csv").to_numpy(float)
        cases[f"A_{grid}"] = {"data": "quality_A_data.csv", "censoring": "quality_A_data.csv",
                              "survival": f"quality_A_survival_{grid}.csv", "risk": "1 - survival",
                              "times": times.tolist(),
                              "sksurv": sksurv_values(a, a, surv, 1 - surv, times),
                              "graf": graf_values(a, a, surv, 1 - surv, times)}
    b = pd.read_csv(HERE / "quality_B_data.csv")
    times = pd.read_csv(HERE / "quality_B_grids.csv").t.to_numpy(float)
    surv = pd.read_csv(HERE / "quality_B_survival.csv").to_numpy(float)
    lp = np.repeat((0.8 * b.x.to_numpy())[:, None], len(times), axis=1)
    cases["B"] = {"data": "quality_B_data.csv", "censoring": "quality_B_data.csv", "survival": "quality_B_survival.csv",
                  "risk": "0.8 * x", "times": times.tolist(),
                  "sksurv": sksurv_values(b, b, surv, lp, times), "graf": graf_values(b, b, surv, lp, times)}
    train, test = pd.read_csv(HERE / "quality_C_train.csv"), pd.read_csv(HERE / "quality_C_test.csv")
    grids = pd.read_csv(HERE / "quality_C_grids.csv")
    for grid in ("int", "one"):
        times = grids.t[grids.grid == grid].to_numpy(float)
        surv = pd.read_csv(HERE / f"quality_C_survival_{grid}.csv").to_numpy(float)
        cases[f"C_{grid}"] = {"data": "quality_C_test.csv", "censoring": "quality_C_train.csv",
                              "survival": f"quality_C_survival_{grid}.csv", "risk": "1 - survival",
                              "times": times.tolist(),
                              "sksurv": sksurv_values(train, test, surv, 1 - surv, times),
                              "graf": graf_values(train, test, surv, 1 - surv, times)}
    r_versions = (HERE / "quality_R_versions.txt").read_text().splitlines()
    meta = {"generator": "tests/forecast/reference/quality_make_reference.py",
            "versions": {"scikit-survival": version("scikit-survival"), "numpy": np.__version__,
                         "pandas": pd.__version__, "R": r_versions}}
    (HERE / "quality_reference.json").write_text(json.dumps({"meta": meta, "cases": cases}, indent=1) + "\n")
    print(f"wrote {HERE / 'quality_reference.json'}")


if __name__ == "__main__":
    main()
