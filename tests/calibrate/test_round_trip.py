"""Round trip: a known world → one replication's ledger → csim calibrate → the known world again.

Tolerances, each from the amount of data the ledger holds (R = replications of each simulation of
the history, whose noise adds about 1/R of the data's variance; the adjustment averages several):

* term: exact;
* mrr_median: 3 standard errors of the log-mean (σ̂/√n, n customers);
* expansion_rate: 3 Poisson standard errors of the observed rate, √n/exposure (n expansions), carried
  to the calibrated rate by the simulation's factor (calibrated/observed) and widened by √(1 + 1/R);
* annual_churn: on the per-term log-odds, 3 standard errors 1/√D (D observed churns: the renewals
  observed enter through D) divided by the simulated slope of observed on nominal churn, which the
  calibration measures and records, widened by √(1 + 1/R);
* leads × conversion (the new customers they bring): the leads over the history within 3/√N of the
  truth's, N the segment's observed new customers, widened by √(1 + 1/R);
* self-check: each headline figure falls outside its 95 % simulation interval with probability
  about 0.05 under a correct calibration; with 9 headline figures, at most 1 may (two or more happen
  with probability ≈ 0.07 for independent figures, less for these positively correlated ones).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from csim.scenario.model import per_term_churn
from tests.calibrate.conftest import CHECK_REPS

WIDEN = math.sqrt(1.0 + 1.0 / CHECK_REPS)


def _segment(rt, name):
    return rt["json"]["segments"][name]["estimates"]


def _truth(rt, name):
    return next(s for s in rt["truth"].segments if s.name == name)


def test_terms_are_recovered_exactly(round_trip):
    assert _segment(round_trip, "smb")["term_months"]["value"] == 1
    assert _segment(round_trip, "mid")["term_months"]["value"] == 12
    assert _segment(round_trip, "smb")["term_months"]["fitted"] and _segment(round_trip, "mid")["term_months"]["fitted"]
    # Enterprise has too few churns to tell its term: the base's (12), said so.
    assert _segment(round_trip, "enterprise")["term_months"]["value"] == 12


def test_mrr_medians_within_three_standard_errors(round_trip):
    for name in ("smb", "mid", "enterprise"):
        e = _segment(round_trip, name)["mrr_median"]
        assert e["fitted"]
        se = e["details"]["log_mean_se"]
        assert abs(math.log(e["value"] / _truth(round_trip, name).mrr_median)) <= 3 * se, (name, e["value"], se)


def test_expansion_rates_within_poisson_error(round_trip):
    for name in ("smb", "mid"):
        e = _segment(round_trip, name)["expansion_rate"]
        n, exposure = e["details"]["events"], e["details"]["account_years"]
        factor = e["value"] / e["details"].get("direct", e["value"])
        tolerance = 3 * factor * math.sqrt(n) / exposure * WIDEN
        assert abs(e["value"] - _truth(round_trip, name).expansion_rate) <= tolerance, (name, e["value"], tolerance)


def test_annual_churn_within_the_error_of_the_churns_observed(round_trip):
    def logit(p):
        return math.log(p / (1 - p))

    for name in ("smb", "mid"):
        e = _segment(round_trip, name)["annual_churn"]
        term = _truth(round_trip, name).term_months
        assert e["fitted"] and "adjusted by simulation" in e["source"]
        recovered = logit(per_term_churn(e["value"], term))
        truth = logit(per_term_churn(_truth(round_trip, name).annual_churn, term))
        tolerance = 3 * e["details"]["se_logit"] * WIDEN
        assert abs(recovered - truth) <= tolerance, (name, e["value"], tolerance)
        assert e["details"]["slope_measured"]  # the slope came from the paired simulations, not from theory


def test_new_customers_a_month_within_poisson_error(round_trip):
    """Leads × conversion: the leads over the history, by segment, against the truth's (same conversions)."""
    estimates = round_trip["json"]["estimates"]
    months = round_trip["json"]["input"]["months"]
    leads = estimates["acquisition.leads_per_month"]
    growth = estimates["acquisition.lead_growth_annual"]["value"]
    truth = round_trip["truth"].acquisition
    grid = np.arange(months) / 12.0

    def over_history(at_month0, g):
        return at_month0 * np.sum((1.0 + g) ** grid)

    calibrated = over_history(leads["value"] / (1.0 + growth) ** (months / 12.0), growth)
    expected = over_history(truth.leads_per_month, truth.lead_growth_annual)
    for name in ("smb", "mid"):
        share = _segment(round_trip, name)["lead_share"]["value"]
        observed = leads["details"]["new_customers"][name]
        tolerance = 3 / math.sqrt(observed) * WIDEN
        ratio = calibrated * share / (expected * _truth(round_trip, name).lead_share)
        assert abs(math.log(ratio)) <= tolerance, (name, ratio, tolerance)


def test_price_uplift_recovered_from_renewal_dates(round_trip):
    e = _segment(round_trip, "mid")["price_uplift"]
    assert e["fitted"]
    assert abs(e["value"] - _truth(round_trip, "mid").price_uplift) < 0.002  # cents rounding of each renewal


def test_self_check_flags_at_most_one_headline_figure(round_trip):
    check = pd.DataFrame(round_trip["json"]["check"])
    headline = check[check["headline"]]
    assert set(headline["metric"]) >= {"logo_churn_annual", "grr_t12_window", "nrr_t12_window", "ending_mrr",
                                       "ending_customers", "retention_3m", "retention_12m", "retention_24m"}
    assert int(headline["outside"].sum()) <= 1, headline[["label", "observed", "low", "high"]]
    assert (round_trip["report"] / "check.csv").exists() and (round_trip["report"] / "report.md").exists()
    assert "observed figures outside their 95 % simulation interval" in round_trip["console"]


def test_the_written_scenario_loads_and_runs(round_trip, tmp_path):
    from csim.cli import main
    from csim.scenario import load_scenario

    scenario = load_scenario(round_trip["out"])
    assert scenario.name == "company"
    assert [s.name for s in scenario.segments] == ["enterprise", "mid", "smb"]
    # The book is the customers paying at the as-of date, with their MRR then: it adds up to the
    # ledger's ending MRR (to the cent per customer).
    book = scenario.initial_book.accounts
    assert len(book) == scenario.initial_book.customers == round_trip["json"]["estimates"]["initial_book.customers"][
        "value"]
    ending = next(r for r in round_trip["json"]["check"] if r["metric"] == "ending_mrr")["observed"]
    assert abs(sum(a.mrr for a in book) - ending) < 0.01 * len(book)
    assert main(["run", str(round_trip["out"]), "--reps", "1", "--executor", "serial", "--no-progress",
                 "--set", "horizon_months=3", "--out", str(tmp_path / "run")]) == 0


def _comments(text: str) -> dict[tuple[str, str], str]:
    """(section or segment, key) → comment of every ``key = value # comment`` line of a scenario file."""
    out, where = {}, ""
    for line in text.splitlines():
        if line.startswith("["):
            where = line.split("]")[0].strip("[]")
            out[(where, "")] = line.partition("#")[2].strip()
            continue
        key, eq, rest = line.partition(" = ")
        if not eq or line.startswith("#"):
            continue
        if where == "segments" and key == "name":
            where = f"segments.{rest.split('#')[0].strip().strip(chr(34))}"
        out[(where, key)] = rest.partition(" # ")[2]
    return out


def test_every_value_names_its_source(round_trip):
    comments = _comments(round_trip["text"])
    for name in ("smb", "mid"):
        for key, estimate in _segment(round_trip, name).items():
            comment = comments[(f"segments.{name}", key)]
            assert comment.startswith("fitted:" if estimate["fitted"] else "from base: assumption"), (name, key)
        assert comments[(f"segments.{name}", "annual_churn")].startswith("fitted:")
        assert comments[(f"segments.{name}", "conversion")].startswith("from base: assumption (leads are not")
    assert "sBG" in comments[("segments.mid", "annual_churn")] and "alpha = " in comments[("segments.mid",
                                                                                             "annual_churn")]
    assert comments[("acquisition", "leads_per_month")].startswith("fitted:")
    assert comments[("acquisition", "marketing_cost_per_lead")].startswith("from base: assumption")
    for table in ("health", "onboarding", "strategy", "cs_team"):
        assert comments[(table, "")].startswith("from base: assumption (not in a ledger)"), table
    assert round_trip["text"].startswith("# Calibrated by csim calibrate")


def test_self_check_per_segment(round_trip):
    """With several segments the self-check has each segment's logo churn and retention; the
    observed logo churn is csim.metrics.summary of the segment's own ledger records. Per-segment
    rows are not headline figures; each falls outside with probability about 0.05, so of the ~15
    rows at most 3 may (four or more: probability ≈ 0.005 for independent rows)."""
    from csim.ledger import ledger_records, read_ledger, segment_records
    from csim.metrics import summary

    check = pd.DataFrame(round_trip["json"]["check"])
    rows = check[check["segment"] != ""]
    assert not rows["headline"].any()
    ledger, _ = read_ledger(round_trip["ledger"])
    for name, part in segment_records(ledger_records(ledger)).items():
        mine = rows[rows["segment"] == name].set_index("metric")
        observed = summary(part)["metrics"]["logo_churn_annual"]["per_replication"][0]
        assert mine.loc[f"logo_churn_annual[{name}]", "observed"] == observed
        assert mine.loc[f"logo_churn_annual[{name}]", "label"] == f"{name}: logo churn, annualised"
        assert any(m.startswith("retention_12m") for m in mine.index), name
    assert int(rows["outside"].sum()) <= 3, rows[["label", "observed", "low", "high"]]


def test_a_large_history_is_simulated_at_a_fraction_of_its_size(round_trip, monkeypatch):
    """With the simulation budget cut to a quarter of the round trip's account-years × replications,
    each simulated history is 1/4 of the company: leads and CS team divided by 4, counts and money
    multiplied back. New customers are what the lead adjustment matches, so the observed count must
    lie within its interval (it would be four times the simulated one without the factor); the
    rates need no factor."""
    import csim.calibrate.calibration as C
    from csim.calibrate import calibrate, read_ledger_input
    from csim.scenario import load_scenario

    reps = 4
    observed = read_ledger_input(round_trip["ledger"], None, None, False)
    monkeypatch.setattr(C, "SIMULATED_ACCOUNT_YEARS", reps * C.history_account_years(observed) / 3.5)
    calibration = calibrate(observed, load_scenario(round_trip["base"]), str(round_trip["base"]), "quarter",
                            check_reps=reps)
    assert calibration.divisor == 4 and calibration.timings["simulation_size"]["divisor"] == 4
    check = calibration.check.set_index("metric")
    assert (check["scale"] == 0.25).all()
    for name in ("new_customers", "ending_customers", "logo_churn_annual"):
        row = check.loc[name]
        assert row["low"] <= row["observed"] <= row["high"], row
    assert any("1/4 of the company's size" in note for note in calibration.notes)


def test_a_smaller_team_and_book_keep_their_proportions():
    """The CS team of a company 1/k the size has 1/k of its hours; every k-th account of the book
    sorted by segment and MRR keeps each segment's MRR within one account of 1/k."""
    import csim.calibrate.calibration as C

    data = {"cs_team": {"headcount": 4, "hours_per_week": 30.0}}
    C._scale_team(data, 3)
    assert data["cs_team"]["headcount"] == 1 and data["cs_team"]["headcount"] * data["cs_team"]["hours_per_week"] \
        == pytest.approx(4 * 30.0 / 3)
    rng = np.random.default_rng(1)
    book = pd.DataFrame({"segment": rng.choice(["a", "b"], 1000), "mrr": np.exp(rng.normal(5, 1, 1000)),
                         "tenure_months": rng.uniform(0, 30, 1000)})
    sample = C._book_sample(book, 7)
    for name, part in book.groupby("segment"):
        mine = sample[sample["segment"] == name]
        assert abs(len(mine) * 7 - len(part)) <= 7
        assert abs(mine["mrr"].sum() * 7 - part["mrr"].sum()) <= 7 * part["mrr"].max()


def test_the_report_is_a_self_contained_page_that_answers_first(round_trip):
    """report.html of --report: parses, fetches nothing, opens with the answer, carries the scenario."""
    from html.parser import HTMLParser

    class Page(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.links, self.text = 0, [], []

        def handle_starttag(self, tag, attrs):
            self.tags += 1
            self.links += [v for k, v in attrs if k in ("src", "href") and (v or "").startswith(("http", "//"))]

        def handle_data(self, data):
            self.text.append(data)

    folder = round_trip["report"]
    page = Page()
    page.feed((folder / "report.html").read_text())
    assert page.tags > 20 and page.links == []
    text = " ".join(page.text)
    check = pd.DataFrame(round_trip["json"]["check"])
    history = check[check["check"] == "history"]
    # The first section is the answer: how many observed figures the simulated history reproduces.
    assert text.index("In short") < text.index("Calibrated values")
    outside = int(history["outside"].sum())
    assert (f"all {len(history)} observed figures lie inside" in text if outside == 0
            else f"{outside} of {len(history)} observed figures lie outside" in text)
    # The scenario as written rides along, comments and all.
    assert (folder / "scenario.toml").read_text() == round_trip["text"]
    assert "The calibrated scenario as written" in text
