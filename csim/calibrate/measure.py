"""What a history shows, measured alike on the observed ledger and on simulated ones.

A simulated history is first seen the way the company's is: exported as a ledger and read back
(:func:`ledger_view`), so renewals, expansions and churns reach the estimators in the same form
(calendar months, dates to the day, renewal repricing indistinguishable from an expansion except
by its date). :func:`measure` then gives, per segment, the raw material of every estimate in
:mod:`csim.calibrate.fit`, for one replication (the observed history) or several pooled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from csim.calibrate.fit import Movements, Tenures, movements, tenures_from_records, to_periods
from csim.records import Records

#: Customer id prefix of the zero-amount rows that pin a simulated ledger's first month and its
#: segments (a real customer id never starts with it: ids are read as text and stripped).
_ANCHOR = "\x00anchor:"


def ledger_view(records: Records, origin: pd.Timestamp, as_of: pd.Timestamp, segments: tuple[str, ...],
                channel: bool) -> Records:
    """Simulated ``records`` as a billing export shows them: exported with :func:`csim.ledger.ledger_table`
    (day 0 = ``origin``) and read back with :func:`csim.ledger.ledger_records` up to ``as_of``.

    Every replication is one company's ledger; their customers are told apart by a prefix and the
    replication numbers are restored after reading. One zero-amount row per segment at ``origin``
    fixes the first month and the segment codes even when a replication has no customer in a
    segment or none in the first month (a zero amount makes no MRR change, so it adds no customer).
    ``channel``: keep the channel column (only when the observed ledger has one).
    """
    from csim.ledger import ledger_records, ledger_table

    table = ledger_table(records, origin=str(pd.Timestamp(origin).date()))
    frame = pd.DataFrame({
        "customer_id": table["replication"].astype(str) + ":" + table["customer_id"].astype(str),
        "start": pd.to_datetime(table["start_date"]), "end": pd.to_datetime(table["end_date"]),
        "amount": table["monthly_amount"].astype(float), "segment": table["segment"].astype(str),
    })
    frame["subscription_id"] = table["replication"].astype(str) + ":" + table["subscription_id"].astype(str)
    anchors = pd.DataFrame({"customer_id": [_ANCHOR + s for s in segments], "start": pd.Timestamp(origin),
                            "end": pd.NaT, "amount": 0.0, "segment": list(segments)})
    anchors["subscription_id"] = anchors["customer_id"]
    if channel:
        frame["channel"] = table["channel"].astype(str)
        anchors["channel"] = "marketing"
    view = ledger_records(pd.concat([frame, anchors], ignore_index=True), as_of=as_of, name="simulated")
    # ledger_records numbers customers in sorted order of their ids; recover each one's replication.
    ids = np.unique(pd.concat([frame["customer_id"], anchors["customer_id"]]).to_numpy())
    rep_of = np.array([int(i.split(":", 1)[0]) if not i.startswith(_ANCHOR) else -1 for i in ids], np.int32)
    view.events["replication"] = rep_of[view.events["account"]]
    view.accounts["replication"] = rep_of[view.accounts["account"]]
    return view


@dataclass
class SegmentMeasures:
    """One segment's history (replications pooled): survival form, MRR changes, exposure, first amounts."""

    tenures: Tenures
    moves: Movements
    account_years: float
    first_amounts: np.ndarray
    replications: int


def segment_monthly(records: Records) -> dict[str, pd.DataFrame]:
    """The :func:`csim.metrics.monthly` table of each segment alone."""
    from csim.ledger import segment_records
    from csim.metrics import monthly

    return {name: monthly(part) for name, part in segment_records(records).items()}


def measure(records: Records, terms: dict[str, int], tables: dict[str, pd.DataFrame] | None = None
            ) -> tuple[dict[str, SegmentMeasures], pd.DataFrame]:
    """Per segment :class:`SegmentMeasures`, and the monthly new customers of every segment.

    ``terms``: contract term (months) per segment name, which decides what a renewal date is.
    Paying account-years are the month-end customers of :func:`csim.metrics.monthly` summed over
    months and replications, divided by 12. The second result has rows (segment, replication,
    month, new_customers) for :func:`csim.calibrate.fit.new_customer_trend`.
    """
    tables = segment_monthly(records) if tables is None else tables
    reps = max(1, len(np.unique(records.accounts["replication"])))
    out, counts = {}, []
    for code, name in enumerate(records.segments):
        table = tables[name]
        years = float(table["customers"].sum()) / 12.0
        acc = records.accounts
        mine = acc["segment"] == code
        out[name] = SegmentMeasures(tenures=tenures_from_records(records, code),
                                    moves=movements(records, code, terms.get(name, 1), years),
                                    account_years=years, first_amounts=acc["initial_mrr"][mine] / 100.0,
                                    replications=reps)
        counts.append(table[["replication", "month", "new_customers"]].assign(segment=name))
    return out, pd.concat(counts, ignore_index=True)


def expected_by_decision(risk: np.ndarray, tenures: Tenures, term: int) -> np.ndarray:
    """Churns the hazard of ``tenures`` (Kaplan–Meier by decision) expects among customers at ``risk``,
    decision by decision: R(k)·h(k), with R(k) the observed customers at risk at decision k and
    h(k) = 1 − S(k)/S(k−1) from the Kaplan–Meier curve of ``tenures`` (the simulated ones)."""
    from csim.forecast import KaplanMeier

    t, d, _ = to_periods(tenures, term)
    if not len(risk) or not len(t) or not d.any():
        return np.zeros(len(risk))
    s = KaplanMeier().fit(t, d).survival(np.arange(0, len(risk) + 1, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(s[:-1] > 0, 1.0 - s[1:] / s[:-1], 0.0)
    return risk * h

