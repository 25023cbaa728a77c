"""The marketing lead pipeline, drawn up front with numpy.

Marketing leads do not depend on anything customer success does, so the whole pipeline of a
replication (arrival, segment, ICP fit, sales cycle, conversion) is drawn at once from its own
stream. This is what keeps lead arrivals identical across strategies (common random numbers)
and keeps the leads that never buy out of the event loop. Only bad word of mouth, which does
depend on the simulated customers, is decided at close time, from a number drawn here too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from csim.records import MONTH_DAYS
from csim.scenario.model import Scenario


@dataclass(frozen=True)
class MarketingLeads:
    """Columnar marketing leads of one replication, in arrival order. Times in days."""

    arrived: np.ndarray      # float64
    segment: np.ndarray      # int8
    icp_fit: np.ndarray      # bool
    converts: np.ndarray     # bool: wins the deal unless lost to word of mouth
    closed: np.ndarray       # float64: arrival + sales cycle (may exceed the horizon)
    wom_draw: np.ndarray     # float64 uniform: compared with P(lost to word of mouth) at close

    def __len__(self) -> int:
        return len(self.arrived)


def arrival_times(rate_per_month: float, growth_annual: float, horizon_days: float, rng: np.random.Generator) -> np.ndarray:
    """Arrival days of a Poisson process with rate ``rate_per_month·(1+g)^(t/365.25)`` on [0, horizon).

    Drawn by inverting the cumulative intensity Λ(t): N ~ Poisson(Λ(H)), then N sorted uniform
    points on [0, Λ(H)) mapped back through Λ⁻¹ (order statistics of a NHPP).
    """
    r0 = rate_per_month / MONTH_DAYS
    if r0 <= 0.0:
        return np.empty(0)
    b = math.log1p(growth_annual) / 365.25
    if abs(b) < 1e-15:
        total = r0 * horizon_days
        n = rng.poisson(total)
        return np.sort(rng.random(n)) * horizon_days
    total = r0 * math.expm1(b * horizon_days) / b
    n = rng.poisson(total)
    cum = np.sort(rng.random(n)) * total
    return np.log1p(b * cum / r0) / b


#: Sales cycles longer than median·e^(this·σ) are not looked back for (P(Z > 4) ≈ 3e-5 of deals).
IN_FLIGHT_SIGMAS = 4.0


def in_flight_days(scenario: Scenario) -> float:
    """Days before day 0 from which a deal can still be in flight at day 0 (``deals_in_flight``):
    the longest segment median sales cycle times e^(:data:`IN_FLIGHT_SIGMAS`·σ); 0 without it."""
    acq = scenario.acquisition
    if not acq.deals_in_flight:
        return 0.0
    return max(s.sales_cycle_days for s in scenario.segments) * math.exp(IN_FLIGHT_SIGMAS * acq.sales_cycle_sigma)


def draw_marketing_leads(scenario: Scenario, rng: np.random.Generator) -> MarketingLeads:
    """All marketing leads of one replication (see module docstring).

    With ``acquisition.deals_in_flight`` leads also arrive on [−L, 0), L = :func:`in_flight_days`,
    at the lead rate extended back; of those, the deals won that close at or after day 0 are kept
    (the rest closed, or were lost, before the run).
    """
    acq = scenario.acquisition
    back = in_flight_days(scenario)
    start_rate = acq.leads_per_month * (1.0 + acq.lead_growth_annual) ** (-back / 365.25)
    arrived = arrival_times(start_rate, acq.lead_growth_annual, scenario.horizon_days + back, rng) - back
    n = len(arrived)
    # Fixed draw order, one vector per purpose, so changing one parameter moves no other draw.
    u_segment, u_fit, u_convert, wom_draw = rng.random(n), rng.random(n), rng.random(n), rng.random(n)
    z_cycle = rng.standard_normal(n)

    shares = np.array([s.lead_share for s in scenario.segments], dtype=float)
    cum = np.cumsum(shares / shares.sum())
    segment = np.minimum(np.searchsorted(cum, u_segment, side="right"), len(shares) - 1).astype(np.int8)

    good_share = np.array([s.good_fit_share for s in scenario.segments])[segment]
    icp_fit = u_fit < good_share
    conversion = np.array([s.conversion for s in scenario.segments])[segment]
    conversion = np.where(icp_fit, conversion, conversion * acq.poor_fit_conversion_factor)
    converts = u_convert < conversion
    cycle_median = np.array([s.sales_cycle_days for s in scenario.segments])[segment]
    closed = arrived + cycle_median * np.exp(acq.sales_cycle_sigma * z_cycle)
    if back > 0.0:
        keep = (arrived >= 0.0) | (converts & (closed >= 0.0))
        return MarketingLeads(arrived[keep], segment[keep], icp_fit[keep], converts[keep], closed[keep], wom_draw[keep])
    return MarketingLeads(arrived, segment, icp_fit, converts, closed, wom_draw)
