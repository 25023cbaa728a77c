"""The metric registry: one declared place per metric.

Every headline figure csim reports — in ``summary.json``, the run report, ``comparison.json``
and the comparison report — is declared here once: its name, unit, form (which variant of NRR,
GRR or logo churn it is), definition in words, a label in plain words for a reader who is not a
data scientist, which direction is better, and whether it is a headline. Summary, reports and
the comparison read this table; nothing else lists metric names.

Metrics computed on one run are filled per replication by :func:`csim.metrics.summary`;
*relative* metrics (CS ROI, value per CSM-hour) need a reference run and are filled by
:func:`csim.metrics.relative.relative_values`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Metric", "METRICS", "RELATIVE", "GLOSSARY_GROUPS"]


@dataclass(frozen=True)
class Metric:
    """A metric's declaration.

    Attributes
    ----------
    name: key in ``summary.json`` / ``comparison.json``.
    unit: e.g. ``currency/year``, ``fraction``, ``months`` (fractions print as %, differences as pp).
    form: the variant of the metric ("" if it has one form), e.g. ``trailing-12-month cohort``.
    definition: exact definition in words.
    label: plain-words name for a report.
    better: +1 more is better, −1 less is better, 0 not a goal.
    headline: shown in the run report's headline table.
    compare: compared between scenarios by ``csim compare``.
    group: revenue, retention, acquisition, economics or cs_effort.
    relative: needs a reference run (filled by :mod:`csim.metrics.relative`).
    """

    name: str
    unit: str
    form: str
    definition: str
    label: str
    better: int
    headline: bool = True
    compare: bool = True
    group: str = "revenue"
    relative: bool = False


_WINDOW = "mean over the last 12 months"

_ALL = (
    # revenue
    Metric("ending_mrr", "currency/month", "", "MRR at the end of the last month", "Ending MRR", 1, compare=False),
    Metric("ending_arr", "currency/year", "", "12 x ending MRR", "Ending ARR", 1),
    Metric("ending_customers", "accounts", "", "accounts with MRR > 0 at the end of the last month",
           "Paying customers at the end", 1),
    Metric("cumulative_revenue", "currency", "", "sum over months of month-end MRR (revenue collected in the run)",
           "Revenue collected over the run", 1),
    # retention
    Metric("nrr_t12_end", "fraction", "trailing-12-month cohort, last month",
           "MRR now of customers paying 12 months before the last month end / their MRR then",
           "Net revenue retention (last 12 months, at the end)", 1, group="retention"),
    Metric("grr_t12_end", "fraction", "trailing-12-month cohort, last month",
           "as nrr_t12_end with each customer capped at its MRR then",
           "Gross revenue retention (last 12 months, at the end)", 1, group="retention"),
    Metric("nrr_t12_window", "fraction", f"trailing-12-month cohort, {_WINDOW}",
           "mean of the monthly trailing-12-month NRR over the last 12 months of the run (months with a value)",
           "Net revenue retention (trailing 12 months, averaged over the last year)", 1, group="retention"),
    Metric("grr_t12_window", "fraction", f"trailing-12-month cohort, {_WINDOW}",
           "mean of the monthly trailing-12-month GRR over the last 12 months of the run (months with a value)",
           "Gross revenue retention (trailing 12 months, averaged over the last year)", 1, group="retention"),
    Metric("nrr_period_mean", "fraction/month", "monthly period (mean over months)",
           "mean over months of MRR now / MRR at the previous month end, customers paying then",
           "Net revenue retention per month", 1, group="retention"),
    Metric("grr_period_mean", "fraction/month", "monthly period (mean over months)",
           "as nrr_period_mean with each customer capped at its previous MRR", "Gross revenue retention per month", 1,
           group="retention"),
    Metric("logo_churn_monthly", "fraction/month", "pooled over the run",
           "customers lost / customers at month start, pooled over months", "Customers lost per month", -1,
           headline=False, compare=False, group="retention"),
    Metric("logo_churn_annual", "fraction/year", "pooled over the run", "1 - (1 - monthly logo churn)^12",
           "Customers lost per year", -1, group="retention"),
    Metric("logo_churn_annual_window", "fraction/year", _WINDOW,
           "1 - (1 - m)^12, m = customers lost / customers at month start pooled over the last 12 months",
           "Customers lost per year (last year of the run)", -1, group="retention"),
    # acquisition and unit economics
    Metric("new_customers", "accounts", "", "accounts acquired during the run (accounts table, start >= day 0)",
           "New customers", 1, compare=False, group="acquisition"),
    Metric("acquisition_spend", "currency", "", "sum of lead costs (marketing + sales) arriving in the run",
           "Acquisition spend", -1, headline=False, compare=False, group="acquisition"),
    Metric("cac", "currency/account", "", "acquisition spend / new customers", "Cost to acquire a customer", -1,
           compare=False, group="acquisition"),
    Metric("new_customer_arpa", "currency/account/month", "",
           "mean first-month MRR of the accounts acquired in the run", "Revenue per new customer per month", 1,
           headline=False, compare=False, group="acquisition"),
    Metric("cac_per_new_arr", "ratio", "", "acquisition spend / (12 x first-month MRR of the accounts acquired in the "
           "run); benchmark KBCM about 1.1-1.2 per 1 of new ACV", "Acquisition cost per unit of new ARR", -1,
           compare=False, group="acquisition"),
    Metric("arpa", "currency/account/month", "", "sum of month-end MRR / sum of month-end paying customers",
           "Revenue per customer per month", 1, compare=False, group="economics"),
    Metric("ltv", "currency/account", "", "ARPA x gross margin / monthly logo churn (Skok)", "Customer lifetime value",
           1, group="economics"),
    Metric("ltv_revenue", "currency/account", "", "ARPA / monthly logo churn (no margin)",
           "Customer lifetime revenue", 1, compare=False, group="economics"),
    Metric("ltv_discounted", "currency/account", "",
           "ARPA x gross margin / (monthly discount rate + monthly logo churn - monthly net expansion rate of existing "
           "MRR); NaN where expansion outpaces churn plus discounting (diverges)",
           "Customer lifetime value, discounted", 1, headline=False, compare=False, group="economics"),
    Metric("ltv_cac", "ratio", "", "LTV / CAC (rule of thumb: > 3)", "Lifetime value per acquisition cost", 1,
           compare=False, group="economics"),
    Metric("cac_payback_months", "months", "",
           "CAC / (new-customer ARPA x gross margin): months of a new customer's gross profit to recover its "
           "acquisition cost (rule of thumb: <= 12)", "Months to pay back acquisition cost", -1, group="economics"),
    Metric("quick_ratio", "ratio", "",
           "(new + expansion MRR) / (churn + contraction MRR) over the run; reactivation left out", "Quick ratio", 1,
           compare=False, group="economics"),
    Metric("referral_share", "fraction", "", "new customers from the referral channel / new customers",
           "Share of new customers from referrals", 1, group="acquisition"),
    Metric("expansion_share", "fraction", "", "expansion MRR / (new + expansion MRR) over the run",
           "Share of new revenue from expansion", 1),
    Metric("gross_profit_after_cs", "currency", "",
           "gross margin x revenue collected over the run - CS team cost over the run (acquisition spend not deducted)",
           "Gross profit after CS cost", 1, compare=False, group="economics"),
    # the CS team's effort
    Metric("cs_cost", "currency", "", "CSM-days paid over the run / 365.25 x csm_cost_per_year (the team month by month; a fixed team: headcount x cost per year x years)", "CS team cost", -1,
           group="cs_effort"),
    Metric("csm_hours_used", "hours", "", "CSM hours worked on touches within the run", "CSM-hours used", 0,
           group="cs_effort"),
    Metric("cs_utilisation", "fraction", "mean over the run",
           "CSM hours of touches finished in the run / CSM hours available", "How busy the CS team was", 0,
           group="cs_effort"),
    Metric("cs_months_saturated", "months", "",
           "months in which CSM hours of touches finished exceeded 85 % of the hours available",
           "Months the CS team was saturated (over 85 % busy)", -1, group="cs_effort"),
    Metric("mean_touch_wait_days", "days", "", "mean of started - requested over touches that started",
           "Days a served touch waited", -1, group="cs_effort"),
    Metric("touches_expired_share", "fraction", "", "touch requests that reached their deadline unserved / requests",
           "Share of touch requests dropped at their deadline", -1, headline=False, group="cs_effort"),
    Metric("cs_unserved_share", "fraction", "",
           "(requests expired at their deadline + requests still waiting at the horizon) / requests made",
           "Share of touch requests never served", -1, group="cs_effort"),
    Metric("cs_backlog_at_horizon", "requests", "", "touch requests still waiting at the end of the run",
           "Touch requests waiting at the end", -1, headline=False, group="cs_effort"),
    # relative to a reference run
    Metric("cs_roi", "ratio", "incremental, against the reference",
           "(delta gross profit - delta CS cost - delta acquisition spend) / delta CS cost against the reference "
           "scenario, per replication; gross profit = gross margin x revenue collected; NaN where the CS costs are "
           "equal (no incremental spend to return on)", "Return on the extra CS spend", 1, headline=False,
           group="economics", relative=True),
    Metric("value_per_csm_hour", "currency/hour", "incremental, against the reference",
           "delta gross profit / delta CSM-hours used against the reference scenario, per replication; NaN where "
           "the CSM-hours are within 1 % of the reference's", "Gross profit per extra CSM-hour", 1, headline=False,
           group="cs_effort", relative=True),
)

#: name -> Metric, in report order.
METRICS: dict[str, Metric] = {m.name: m for m in _ALL}

#: Names of the metrics that need a reference run.
RELATIVE: tuple[str, ...] = tuple(m.name for m in _ALL if m.relative)

#: Glossary sections, in order.
GLOSSARY_GROUPS: dict[str, str] = {
    "revenue": "Revenue", "retention": "Retention", "acquisition": "Acquisition", "economics": "Unit economics",
    "cs_effort": "CS effort",
}
