"""The MRR bridge and the movement classes against a per-account reference, on random streams."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from csim.metrics import check_mrr_bridge, monthly
from csim.records import MONTH_DAYS

from .builders import mrr_event, records

MONTHS = 6


@st.composite
def account_streams(draw):
    """Random accounts: optional opening balance, then MRR changes (incl. to/from 0) at random
    times, a third of them exactly on a month edge."""
    events = []
    n_accounts = draw(st.integers(0, 8))
    for account in range(n_accounts):
        replication = draw(st.sampled_from([0, 3]))
        mrr = 0
        if draw(st.booleans()):
            mrr = draw(st.integers(1, 10**7))
            events.append(mrr_event(account, 0.0, 0, mrr, "opening", replication))
        times = draw(st.lists(
            st.one_of(st.floats(0.0, MONTHS * MONTH_DAYS - 1e-6),
                      st.integers(0, MONTHS - 1).map(lambda m: m * MONTH_DAYS)),
            max_size=8))
        for time in sorted(times):
            after = draw(st.one_of(st.just(0), st.integers(1, 10**7)))
            if after != mrr:
                events.append(mrr_event(account, time, mrr, after, replication=replication))
                mrr = after
            elif draw(st.booleans()):  # a lifecycle event that carries the MRR but does not move it
                events.append(mrr_event(account, time, mrr, mrr, "first_value", replication))
    # The engine logs in time order across accounts; ties keep each account's own order.
    return sorted(events, key=lambda e: 0.0 if e["kind"] == "opening" else e["time"])


def reference(events, replication):
    """Movements per month by the definitions, one account and one month at a time."""
    out = {k: np.zeros(MONTHS, dtype=np.int64) for k in ("new", "expansion", "reactivation", "contraction", "churn")}
    accounts = {e["account"] for e in events if e["replication"] == replication}
    for account in accounts:
        own = [e for e in events if e["account"] == account and e["replication"] == replication]

        def mrr_at_end(month):  # month -1 = opening balance
            value = 0
            for e in own:
                if e["kind"] == "opening" or e["time"] < (month + 1) * MONTH_DAYS:
                    value = e["mrr_after"]
            return value

        for m in range(MONTHS):
            prev, now = mrr_at_end(m - 1), mrr_at_end(m)
            paid_before = any(e["mrr_after"] > 0 and (e["kind"] == "opening" or e["time"] < m * MONTH_DAYS)
                              for e in own)
            if prev == 0 and now > 0:
                out["reactivation" if paid_before else "new"][m] += now
            elif prev > 0 and now == 0:
                out["churn"][m] += prev
            elif now > prev:
                out["expansion"][m] += now - prev
            elif now < prev:
                out["contraction"][m] += prev - now
    return out


@settings(max_examples=150, deadline=None)
@given(account_streams())
def test_bridge_holds_and_movements_match_reference(events):
    frame = monthly(records(events, months=MONTHS))
    check_mrr_bridge(frame)
    for replication, rows in frame.groupby("replication"):
        expected = reference(events, replication)
        for column, values in expected.items():
            got = np.round(rows[column].to_numpy() * 100).astype(np.int64)
            np.testing.assert_array_equal(got, values, err_msg=f"{column}, replication {replication}")
        # Logo bridge: customers = customers at start + new + reactivated - churned.
        logos = rows["customers_start"] + rows["new_customers"] + rows["reactivated_customers"] - rows["logos_churned"]
        np.testing.assert_array_equal(rows["customers"].to_numpy(), logos.to_numpy())
