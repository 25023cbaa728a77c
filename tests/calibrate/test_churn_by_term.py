"""A customer table whose monthly churn has a hump calibrates to ``churn_by_term``.

The table: N customers on monthly plans with churn 0.05 in month 1, 0.20 in months 2 and 3 and
0.05 after, each observed for 1–24 months. Month 1 holds about 0.05·N churns and months 2–3 about
0.2 of those at risk, so at N = 6000 every month of the hump has far more than the 30 churns the
rule needs, and the hump is rejected as constant churn by a wide margin.

Known answer: the hazard each multiplier encodes on the written model (an odds ratio to one
probability for every account; for an sBG solved over its Beta propensities) is the month's true
churn within 4 binomial standard errors √(h(1 − h)/n), n at risk. Then the written scenario's simulated history must hold the observed
retention at 3, 6 and 12 months inside the self-check's 95 % intervals; the constant law with the
churn after the hump lies more than one interval width above the interval at 3 months (the
intervals are those of a table whose customers are observed 1–24 months, as this one's are).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from csim.calibrate.fit import heterogeneous_multipliers
from csim.cli import main
from tests.calibrate.test_routes import BASE

N = 6000
HAZARD = [0.05, 0.20, 0.20]
TAIL = 0.05
Z = 4.0


def _table(tmp_path):
    rng = np.random.default_rng(2024)
    months = np.full(N, 0)
    alive = np.ones(N, bool)
    for k in range(1, 25):
        h = HAZARD[k - 1] if k <= len(HAZARD) else TAIL
        leave = alive & (rng.random(N) < h)
        months[leave] = k
        alive &= ~leave
    churn_month = np.where(alive, 10_000, months)
    observed = rng.integers(1, 25, N)
    table = pd.DataFrame({"tenure": np.minimum(churn_month, observed),
                          "churned": (churn_month <= observed).astype(int), "plan": "solo"})
    path = tmp_path / "customers.csv"
    table.to_csv(path, index=False)
    return path, table


def test_a_hump_in_monthly_churn_is_fitted_as_multipliers_and_the_history_holds(tmp_path, capsys):
    path, table = _table(tmp_path)
    out = tmp_path / "fitted.toml"
    assert main(["calibrate", str(path), "--duration", "tenure", "--event", "churned", "--segment", "plan",
                 "--out", str(out), "--base", BASE, "--check-reps", "10"]) == 0
    capsys.readouterr()
    result = json.loads((tmp_path / "fitted.calibration.json").read_text())
    e = result["segments"]["solo"]["estimates"]["churn_by_term"]
    assert len(e["value"]) >= 3
    t = table["tenure"].to_numpy()
    churn = result["segments"]["solo"]["estimates"]["annual_churn"]["details"]
    direct = e["details"]["direct"]  # before the adjustment by simulation
    if churn["model"] == "sbg":  # each account its own propensity: solved over Beta(α, β)
        rule = heterogeneous_multipliers(e["details"]["observed"], churn["params"]["alpha_"], churn["params"]["beta_"])
    else:  # one probability for every account: odds ratios
        rule = [(h / (1 - h)) / (g / (1 - g)) for h, g in zip(e["details"]["observed"], e["details"]["base"])]
    # The direct multipliers reproduce the observed hazard of each month of the hump on the written model.
    for k, (h_fit, m, m_rule) in enumerate(zip(e["details"]["observed"], direct, rule), start=1):
        if k > len(HAZARD):
            break
        h = HAZARD[k - 1]
        at_risk = int(np.sum(t >= k))
        assert abs(h_fit - h) <= Z * math.sqrt(h * (1 - h) / at_risk), (k, h_fit, h)
        assert math.isclose(m, m_rule, rel_tol=1e-3)
    assert "churn_by_term = [" in out.read_text()
    retention = [row for row in result["check"] if row["metric"].startswith("retention")]
    assert retention and all(not row["outside"] for row in retention), retention
    # The constant law with the same months is far from the observed retention at 3 months.
    row = next(r for r in retention if r["metric"] == "retention_3m")
    constant = (1 - TAIL) ** 3
    assert constant > row["high"] + (row["high"] - row["low"]), (constant, row)
