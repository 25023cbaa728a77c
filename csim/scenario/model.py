"""The scenario: a frozen, validated description of one world and one strategy.

Every field carries its unit and the source of its default in ``description``; ``csim schema``
prints the JSON Schema built from them, and ``docs/model.md`` lists the same table. Defaults are
wide, documented assumptions where the public evidence is weak (marked "assumption").

Conventions: probabilities and fractions in [0, 1]; rates are **per account-year** unless named
otherwise; durations in **days**; money in **currency units per month (MRR)** unless named
otherwise; health is a score in [0, 1] with reference level ``health.reference``.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from csim.scenario.uncertain import bounded
from csim.strategy import TOUCH_KINDS, TRIGGERS

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
#: Events per account-year. At most one a day: beyond that a rate means nothing here and only
#: makes a replication run for hours.
Rate = Annotated[float, Field(ge=0.0, le=365.0)]
#: A log-scale effect of health or of a touch (log-odds or log-rate per unit of health). At most 50
#: in size, a guard against typos rather than a belief: the scenarios' priors sit within ±10, and
#: 50 already means a rate e^25 times the base half a unit of health away. A prior must keep the
#: central 1 − 2·10⁻⁹ of its draws inside (a lognormal of median 2 and sigma 0.5 reaches 40).
Elasticity = bounded(-50.0, 50.0)
#: A change of health, target health or a probability: health and probabilities live in [0, 1].
Shift = bounded(-1.0, 1.0)

#: A multiplier of the odds of not renewing at one renewal decision (segments[].churn_by_term):
#: positive, and at most 1000, a guard against typos (1000 turns a 1 % churn into 91 %).
ChurnMultiplier = Annotated[float, Field(gt=0.0, le=1e3)]
#: At most this many multipliers: ten years of monthly decisions is more than any table supports.
CHURN_BY_TERM_MAX = 120

#: Expected marketing leads over the horizon may be at most this multiple of ``max_accounts``:
#: every lead is simulated, so a runaway lead rate would otherwise run for hours with no output.
LEADS_PER_ACCOUNT_LIMIT = 20


class _Frozen(BaseModel):
    # NaN and infinity are refused in every number (the loader says so in plain words first).
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)


class Segment(_Frozen):
    """A customer segment (e.g. SMB, mid-market, enterprise) and its base rates."""

    name: str = Field(description="Segment name, used in --set paths and outputs.")
    lead_share: Probability = Field(description="Share of marketing leads in this segment; the shares of all segments sum to 1 (see normalize_lead_shares).")
    mrr_median: Positive = Field(description="Median contract MRR of a new account, currency/month. Source: ACV bands of SaaS Capital 2023 (<$12k … >$250k).")
    mrr_sigma: NonNegative = Field(0.6, description="Log-normal sigma of contract MRR (dimensionless). Assumption.")
    term_months: int = Field(12, ge=1, le=60, description="Contract term, months (1 = monthly plan).")
    price_uplift: NonNegative = Field(0.0, description="Price increase applied at each renewal of a term of 12+ months, fraction. Source: Salesforce +7 %/year (domain notes §1).")
    annual_churn: Probability = Field(description="Probability of not renewing within a year at reference health, converted per term as 1-(1-p)^(term/12). Source: KBCM median logo churn ~10 %/year; Bessemer SMB GRR 70-80 %.")
    expansion_rate: Rate = Field(0.4, description="Mid-term expansion events (upsell, cross-sell, usage growth) per account-year at reference health. Assumption calibrated to KBCM 16-37 % of new ARR from expansion.")
    expansion_size: NonNegative = Field(0.2, description="Mean fractional MRR increase of one expansion event (log-normal). Assumption.")
    contraction_rate: Rate = Field(0.1, description="Downgrade decisions per account-year at reference health; monthly plans contract at once, longer terms at the next renewal. Assumption.")
    contraction_size: Probability = Field(0.2, description="Fraction of MRR lost by a downgrade. Assumption.")
    payment_failure_rate: Rate = Field(0.05, description="Failed payments per account-year (involuntary churn risk). Source: failed payments cause 20-40 % of churn (ProfitWell, weak).")
    good_fit_share: Probability = Field(0.6, description="Share of this segment's marketing leads that fit the ideal customer profile (ICP). Assumption.")
    conversion: Probability = Field(0.15, description="Probability a marketing lead becomes a paying account. Assumption.")
    sales_cycle_days: Positive = Field(30.0, description="Median sales cycle, days (log-normal, sigma = acquisition.sales_cycle_sigma).")
    sales_cost_per_deal: NonNegative = Field(0.0, description="Sales cost per won deal, currency. Source: KBCM CAC ≈ $1.1-1.2 per $1 of new ACV (marketing + sales).")
    referral_rate: Rate = Field(0.1, description="Referral leads per account-year at reference health. Source: 20-50 % of new customers from referrals at scale (weak).")
    churn_by_term: tuple[ChurnMultiplier, ...] | None = Field(None, max_length=CHURN_BY_TERM_MAX, description="Churn that changes with the renewal number (a hazard shaped by tenure, e.g. a hump in the first months): multipliers of the odds of not renewing at the account's 1st, 2nd, ... renewal decision (monthly plans: month 1, 2, ...), each > 0 and at most 1000; decisions beyond the list use 1. They multiply the odds at reference health, before the health and touch shifts (add log m_k to the per-decision log-odds). Decisions count from the account's first payment (an initial-book account has made those of its tenure already) and start again at a reactivation; a save does not restart them. None: the same odds at every decision. Fitted by csim calibrate (per segment where its months hold 30+ churns, else the shape of all segments pooled, re-fitted by simulation; docs/calibration.md); otherwise assumption.")
    churn_concentration: Positive | None = Field(None, description="Differences in churn propensity between accounts (shifted-beta-geometric heterogeneity): each account's per-term probability of not renewing at reference health is drawn from a Beta law with the segment's mean (from annual_churn) and this concentration alpha + beta; an account that has already renewed k terms draws from Beta(alpha, beta + k), the law of the survivors of k terms. Small values (about 1-5): accounts differ widely and retention rises with tenure; none: every account has the segment's probability (apart from health). Fitted by csim calibrate (sBG alpha + beta); otherwise assumption.")


class Acquisition(_Frozen):
    """Marketing lead flow and the sales pipeline."""

    leads_per_month: NonNegative = Field(300.0, description="Marketing lead arrival rate at month 0, leads/month (Poisson).")
    lead_growth_annual: float = Field(0.2, ge=-0.99, le=10.0, description="Yearly growth of the lead rate, fraction: rate(t) = leads_per_month·(1+g)^(t/365.25 d).")
    marketing_cost_per_lead: NonNegative = Field(150.0, description="Marketing cost per lead, currency. Assumption sized with KBCM CAC ratio.")
    sales_cycle_sigma: NonNegative = Field(0.5, description="Log-normal sigma of the sales cycle (dimensionless). Assumption.")
    poor_fit_conversion_factor: NonNegative = Field(0.8, description="Multiplier on conversion for leads outside the ICP. Assumption.")
    deals_in_flight: bool = Field(False, description="Start with the deals a running lead flow has in flight at day 0: marketing leads also arrive before day 0 (the lead rate and its growth extended back, as far as the longest sales cycle reaches: median × e^(4σ)), and those whose deal closes after day 0 close in the run (their lead cost, spent before it, is not the run's; the leads table shows them with negative arrival days). False: the pipeline starts empty, as for a new company, and the first months have fewer new customers than the lead rate gives. csim calibrate sets true (its scenario starts from a company's as-of date); referrals still start empty.")


class BookAccount(_Frozen):
    """One account on the books at day 0, as a row of ``initial_book.file``."""

    segment: str = Field(description="Segment name (one of segments[].name).")
    mrr: Positive = Field(description="MRR at day 0, currency/month.")
    tenure_months: NonNegative = Field(description="Months since the account's first payment, at day 0.")
    terms_survived: int | None = Field(None, ge=0, description="Renewals the account has made (default: whole terms in its tenure).")


class InitialBook(_Frozen):
    """Customers already on the books at day 0."""

    customers: int = Field(600, ge=0, description="Number of existing accounts at day 0 (with file: the number of its rows).")
    max_tenure_months: NonNegative = Field(36.0, description="Tenure of existing accounts at day 0 is uniform on [0, max), months (not used with file).")
    file: str | None = Field(None, description="CSV of the actual accounts on the books at day 0 (columns segment, mrr, tenure_months, optional terms_survived), relative to the scenario file that names it; read when the scenario is loaded. Its accounts replace the random book: segment, MRR and tenure as given, the rest drawn as for any account. csim calibrate writes one from a ledger's active book.")
    accounts: tuple[BookAccount, ...] | None = Field(None, description="The accounts of file as read (filled in when the scenario is loaded; a scenario.json of a run carries them, so it reproduces the run without the file).")

    @model_validator(mode="before")
    @classmethod
    def _customers_from_accounts(cls, data):
        # With a list of accounts the book is that list: its length is the number of customers.
        if isinstance(data, dict) and data.get("accounts") is not None:
            data = {**data, "customers": len(data["accounts"])}
        return data


class Health(_Frozen):
    """The account health (value realised / stickiness) score and how it moves."""

    reference: Probability = Field(0.5, description="Health at which segment base rates apply.")
    initial_good_fit: Probability = Field(0.55, description="Mean health at start for ICP-fit accounts. Assumption.")
    initial_poor_fit: Probability = Field(0.4, description="Mean health at start for poor-fit accounts. Assumption.")
    initial_sd: NonNegative = Field(0.1, description="Standard deviation of health at start. Assumption.")
    reviews_per_year: Rate = Field(4.0, description="Random health moves per account-year (Poisson): h ← h + reversion·(target−h) + N(0, shock_sd). Assumption.")
    reversion: Probability = Field(0.3, description="Fraction of the gap to the account's target health closed at each move.")
    shock_sd: NonNegative = Field(0.08, description="Standard deviation of a health move.")
    churn_effect: Elasticity = Field(4.0, description="Log-odds of non-renewal per unit of health below reference (β_churn). Assumption; set 0 for health-independent churn.")
    expansion_effect: Elasticity = Field(2.0, description="Log expansion rate per unit of health above reference. Assumption.")
    contraction_effect: Elasticity = Field(2.0, description="Log contraction rate per unit of health below reference. Assumption.")
    referral_effect: Elasticity = Field(4.0, description="Log referral rate per unit of health above reference. Assumption.")
    target_ceiling: Probability = Field(0.85, description="Target health that lasting touch effects approach but never pass: a target_health effect acts in full at the reference health and not at all at the ceiling. Assumption (value delivered has diminishing returns).")
    detractor_below: Probability = Field(0.3, description="An account that churns with health below this is a detractor (bad word of mouth).")

    @model_validator(mode="after")
    def _ceiling_above_reference(self) -> "Health":
        if not self.target_ceiling > self.reference:
            raise ValueError(f"target_ceiling ({self.target_ceiling:g}) must be above reference ({self.reference:g})")
        return self


class Onboarding(_Frozen):
    """The first ~90 days: the first-value milestone."""

    window_days: Positive = Field(90.0, description="Onboarding window after the first payment, days. Source: domain notes §1 (~90 days).")
    first_value_prob: bounded(0.0, 1.0) = Field(0.65, description="Probability an ICP-fit account reaches first value within the window without CS help. Assumption.")
    poor_fit_factor: Probability = Field(0.6, description="Multiplier on first_value_prob for poor-fit accounts. Assumption.")
    first_value_days: Positive = Field(45.0, description="Median time to first value when reached, days (log-normal). Source: 'within a month of go-live' (domain notes §1).")
    first_value_sigma: NonNegative = Field(0.5, description="Log-normal sigma of time to first value.")
    value_gain: Shift = Field(0.2, description="Rise of health and of target health at first value. Assumption (onboarding effects are vendor claims, weak).")
    miss_penalty: Shift = Field(0.15, description="Fall of health and of target health when the window closes without first value. Assumption.")


class Renewal(_Frozen):
    """The renewal window and decision."""

    window_days: Positive = Field(90.0, description="Renewal window before term end, days. Source: domain notes §1 (last ~90 days).")
    notice_days: NonNegative = Field(30.0, description="Non-renewal notice before term end, days (capped at a quarter of the term): churn intent is known this early.")


class Payments(_Frozen):
    """Failed payments and dunning."""

    dunning_days: NonNegative = Field(14.0, description="Days from a failed payment to recovery or involuntary churn.")
    recovery_prob: Probability = Field(0.3, description="Probability dunning recovers a failed payment. Source: ~30 % recovered (ProfitWell, weak).")


class Reactivation(_Frozen):
    """Churned accounts that pay again."""

    prob_voluntary: Probability = Field(0.05, description="Probability a voluntarily churned account comes back. Assumption.")
    prob_involuntary: Probability = Field(0.2, description="Probability an involuntarily churned account comes back. Assumption.")
    mean_days: Positive = Field(120.0, description="Mean days from churn to reactivation (exponential).")


class Referral(_Frozen):
    """Referral leads and bad word of mouth."""

    conversion: Probability = Field(0.35, description="Probability a referral lead converts. Source: referred customers convert and retain better (Schmitt, Skiera & Van den Bulte 2011).")
    good_fit_share: Probability = Field(0.8, description="Share of referral leads that fit the ICP. Assumption.")
    sales_cycle_factor: Positive = Field(0.7, description="Referral sales cycle as a multiple of the segment's. Assumption.")
    sales_cost_factor: NonNegative = Field(0.5, description="Referral sales cost as a multiple of the segment's; referral leads carry no marketing cost. Assumption.")
    detractor_loss: NonNegative = Field(0.002, description="Each recent detractor loses this fraction (log scale) of marketing deals at close: P(lost) = 1-exp(-k·D). Assumption (weak).")
    detractor_memory_days: Positive = Field(180.0, description="Detractor influence decays exponentially with this time constant, days.")


class CSTeam(_Frozen):
    """The customer-success team: a pool of CSMs that touches queue for."""

    headcount: int = Field(4, ge=0, description="Number of CSMs (servers); with a coverage rule, the team at day 0, which then grows with the book.")
    hours_per_week: Positive = Field(30.0, description="Hours per CSM per week available for touches; a touch of h hours occupies a CSM for h·7/hours_per_week calendar days.")
    cost_per_csm_year: NonNegative = Field(110000.0, description="Fully loaded cost of one CSM, currency/year. Assumption.")
    accounts_per_csm: dict[str, Positive] | None = Field(None, description="Coverage rule: paying accounts one CSM covers, per segment name (e.g. { smb = 150, mid = 40, enterprise = 12 }); a monthly staffing review hires up to the CSMs the book requires. Practitioner coverage ratios (weak): about 1:8-15 accounts enterprise, 1:30-50 mid-market, 1:100-200 SMB. Segments not listed need no CSM by count.")
    arr_per_csm: Positive | None = Field(None, description="Coverage rule: ARR one CSM covers, currency/year (practitioner benchmark ~1-2 M, weak); with accounts_per_csm too, the larger requirement counts.")
    hiring_delay_days: NonNegative = Field(60.0, description="Days from the staffing review that opens a position to the hire joining. Assumption.")
    ramp_months: NonNegative = Field(3.0, description="Months a new CSM works at half productivity before full productivity. Assumption.")


class Effect(_Frozen):
    """What a completed touch does. Any effect may be zero or negative (domain notes §4), and any
    may be a distribution (:mod:`csim.scenario.uncertain`): one draw per replication."""

    health: Shift = Field(0.0, description="Immediate change of health.")
    target_health: Shift = Field(0.0, description="Lasting change of the account's target health (value delivered), at full size at the reference health and shrinking linearly to nothing at health.target_ceiling (diminishing returns); a negative change acts in full.")
    first_value_prob: Shift = Field(0.0, description="Added to the probability of reaching first value (onboarding only).")
    first_value_speedup: bounded(0.0, 1.0, high_open=True) = Field(0.0, description="Fraction cut from the remaining time to first value.")
    renewal_logodds: Elasticity = Field(0.0, description="Added to the log-odds of renewing at the next renewal decision.")
    expansion_prob: bounded(0.0, 1.0) = Field(0.0, description="Probability the touch closes an expansion at once (segment expansion size).")
    save_prob: bounded(0.0, 1.0) = Field(0.0, description="Probability the touch reverses a churn intent.")


class Play(_Frozen):
    """One customer-success play: which touch, when, for whom, at what cost, with what effect."""

    touch: Literal[TOUCH_KINDS] = Field(description="Touch kind.")  # type: ignore[valid-type]
    trigger: Literal[TRIGGERS] = Field(description="When the play fires.")  # type: ignore[valid-type]
    segments: tuple[str, ...] = Field((), description="Segments the play applies to (empty = all).")
    delay_days: NonNegative = Field(0.0, description="Days after the trigger.")
    every_days: Positive | None = Field(None, description="Cadence period, days (trigger = cadence).")
    threshold: Probability | None = Field(None, description="Health threshold (trigger = health_below / health_above).")
    cooldown_days: NonNegative = Field(90.0, description="Minimum days between two firings of a health trigger for one account.")
    rate_per_year: Rate | None = Field(None, description="Requests per account-year (trigger = request).")
    priority: int = Field(5, ge=0, description="Queue priority for a CSM, lower is served first.")
    csm_hours: NonNegative = Field(1.0, description="CSM hours the touch takes (0 = tech-touch, no CSM).")
    duration: Literal["fixed", "exponential"] = Field("fixed", description="Distribution of CSM time: fixed at csm_hours, or exponential with that mean.")
    deadline_days: Positive = Field(30.0, description="A touch still waiting this many days after its request is dropped (expired).")
    effect: Effect = Field(default_factory=Effect)

    @model_validator(mode="after")
    def _trigger_parameters(self) -> "Play":
        needs = {"cadence": "every_days", "health_below": "threshold", "health_above": "threshold", "request": "rate_per_year"}
        field = needs.get(self.trigger)
        if field and getattr(self, field) is None:
            raise ValueError(f"trigger '{self.trigger}' needs {field}")
        return self


class Strategy(_Frozen):
    """A customer-success strategy: a name and its plays."""

    name: str = Field("no_cs", description="Strategy name for outputs.")
    plays: tuple[Play, ...] = Field((), description="The plays, in priority order for ties.")


class Economics(_Frozen):
    """Margins and discounting for LTV."""

    gross_margin: Probability = Field(0.78, description="Subscription gross margin, fraction. Source: KBCM SaaS survey medians ~75-80 %.")
    discount_rate_annual: NonNegative = Field(0.10, description="Discount rate for LTV, per year. Assumption.")


def _default_segments() -> tuple[Segment, ...]:
    return (
        Segment(name="smb", lead_share=0.6, mrr_median=250.0, mrr_sigma=0.7, term_months=1, annual_churn=0.30,
                expansion_rate=0.3, expansion_size=0.25, contraction_rate=0.1, contraction_size=0.3,
                payment_failure_rate=0.12, good_fit_share=0.55, conversion=0.15, sales_cycle_days=21.0,
                sales_cost_per_deal=2400.0, referral_rate=0.1),
        Segment(name="mid", lead_share=0.3, mrr_median=2000.0, mrr_sigma=0.6, term_months=12, price_uplift=0.03,
                annual_churn=0.14, expansion_rate=0.6, expansion_size=0.2, contraction_rate=0.15,
                contraction_size=0.2, payment_failure_rate=0.03, good_fit_share=0.6, conversion=0.12,
                sales_cycle_days=60.0, sales_cost_per_deal=26000.0, referral_rate=0.15),
        Segment(name="enterprise", lead_share=0.1, mrr_median=10000.0, mrr_sigma=0.6, term_months=12,
                price_uplift=0.07, annual_churn=0.07, expansion_rate=0.8, expansion_size=0.15,
                contraction_rate=0.15, contraction_size=0.15, payment_failure_rate=0.01, good_fit_share=0.7,
                conversion=0.10, sales_cycle_days=120.0, sales_cost_per_deal=135000.0, referral_rate=0.2),
    )


class Scenario(_Frozen):
    """One world and one strategy. Load with :func:`csim.scenario.load_scenario`."""

    name: str = Field("scenario", description="Scenario name for outputs.")
    description: str = Field("", description="Free text.")
    horizon_months: int = Field(60, ge=1, le=600, description="Simulated months.")
    seed: int = Field(20261124, ge=0, description="Root seed; every random stream is spawned from it.")
    replications: int = Field(10, ge=1, description="Independent replications.")
    warmup_months: int = Field(0, ge=0, description="Months at the start left out of every run-level rate (period NRR/GRR means, logo churn, ARPA, LTV, CAC and payback, quick ratio, expansion and referral shares, new customers, acquisition spend, CS utilisation and saturated months): the fresh-start transient of a book that begins all at once. Ending values, revenue collected and the last-12-month window metrics are not affected. Must be below horizon_months.")
    max_accounts: int = Field(1_000_000, ge=1, description="Stop with an error when one replication has more accounts than this: referral growth can be supercritical (each account bringing more than one new account over its life), which grows without bound. Checked before the run too: the expected accounts from marketing and the initial book must stay below it, and the expected marketing leads below 20 times it.")
    normalize_lead_shares: bool = Field(False, description="Segment lead_share values must sum to 1; with true, shares that do not are divided by their sum (and the run says so).")
    segments: tuple[Segment, ...] = Field(default_factory=_default_segments, min_length=1)
    acquisition: Acquisition = Field(default_factory=Acquisition)
    initial_book: InitialBook = Field(default_factory=InitialBook)
    health: Health = Field(default_factory=Health)
    onboarding: Onboarding = Field(default_factory=Onboarding)
    renewal: Renewal = Field(default_factory=Renewal)
    payments: Payments = Field(default_factory=Payments)
    reactivation: Reactivation = Field(default_factory=Reactivation)
    referral: Referral = Field(default_factory=Referral)
    cs_team: CSTeam = Field(default_factory=CSTeam)
    strategy: Strategy = Field(default_factory=Strategy)
    economics: Economics = Field(default_factory=Economics)

    @model_validator(mode="after")
    def _consistent(self) -> "Scenario":
        # Messages start with the key at fault: the loader prints them after the file name.
        if self.warmup_months >= self.horizon_months:
            raise ValueError(f"warmup_months: must be below horizon_months ({self.horizon_months}), got {self.warmup_months}")
        names = [s.name for s in self.segments]
        if len(set(names)) != len(names):
            raise ValueError(f"segments: names must be unique, got {names}")
        total = sum(s.lead_share for s in self.segments)
        if total <= 0:
            raise ValueError("segments.lead_share: the shares sum to 0")
        if abs(total - 1.0) > 1e-6 and not self.normalize_lead_shares:
            raise ValueError(f"segments.lead_share: the shares sum to {total:g}, not 1; correct them, or set "
                             "normalize_lead_shares = true to divide them by their sum")
        book = self.initial_book.accounts or ()
        strays = [a.segment for a in book if a.segment not in names]
        if strays:
            raise ValueError(f"initial_book.file: unknown segment {strays[0]!r} (known: {names})")
        unknown = [s for s in (self.cs_team.accounts_per_csm or {}) if s not in names]
        if unknown:
            raise ValueError(f"cs_team.accounts_per_csm: unknown segment {unknown[0]!r} (known: {names})")
        for i, play in enumerate(self.strategy.plays):
            unknown = [s for s in play.segments if s not in names]
            if unknown:
                raise ValueError(f"strategy.plays[{i}].segments: unknown segment {unknown[0]!r} (known: {names})")
        leads, accounts = self.expected_intake()
        if accounts > self.max_accounts:
            raise ValueError(f"acquisition.leads_per_month: about {accounts:,.0f} accounts are expected over the "
                             f"horizon, more than max_accounts ({self.max_accounts:,}); lower the lead rate or "
                             "raise max_accounts if you mean it")
        if leads > LEADS_PER_ACCOUNT_LIMIT * self.max_accounts:
            raise ValueError(f"acquisition.leads_per_month: about {leads:,.0f} marketing leads are expected over "
                             f"the horizon, more than {LEADS_PER_ACCOUNT_LIMIT} × max_accounts "
                             f"({self.max_accounts:,}); every lead is simulated, so lower the lead rate or raise "
                             "max_accounts if you mean it")
        return self

    def expected_intake(self) -> tuple[float, float]:
        """Expected marketing leads over the horizon and the accounts they and the initial book make.

        Leads: ∫ leads_per_month·(1+g)^(t/12) dt over the horizon in months. Accounts: the initial
        book plus leads times the share-weighted conversion (poor-fit leads at the reduced
        conversion). Referrals come on top and are bounded while running by ``max_accounts``.
        """
        a = self.acquisition
        months = float(self.horizon_months)
        growth = math.log1p(a.lead_growth_annual) / 12.0
        leads = a.leads_per_month * (months if abs(growth) < 1e-12 else math.expm1(growth * months) / growth)
        total = sum(s.lead_share for s in self.segments) or 1.0
        conversion = sum(s.lead_share / total * s.conversion
                         * (s.good_fit_share + (1.0 - s.good_fit_share) * a.poor_fit_conversion_factor)
                         for s in self.segments)
        return leads, self.initial_book.customers + leads * min(1.0, conversion)

    @property
    def horizon_days(self) -> float:
        """Length of the run, days."""
        return self.horizon_months * 365.25 / 12.0

    def segment_index(self, name: str) -> int:
        """Position of a segment by name."""
        for i, s in enumerate(self.segments):
            if s.name == name:
                return i
        raise KeyError(name)

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of the validated scenario (provenance of every result)."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def per_term_churn(annual_churn: float, term_months: int) -> float:
    """Probability of not renewing one term of ``term_months`` at reference health."""
    if annual_churn >= 1.0:
        return 1.0
    return 1.0 - math.exp(math.log1p(-annual_churn) * term_months / 12.0)
