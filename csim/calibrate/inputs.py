"""The three inputs a calibration reads, each into one :class:`Observed`.

* a subscription **ledger** (billing export; :func:`read_ledger_input`), read by
  :func:`csim.ledger.read_ledger` and turned into the history's records by
  :func:`csim.ledger.ledger_records`;
* a **customer table** with a tenure and a churn column (:func:`read_customer_table`), read by the
  readers of ``csim forecast`` (:mod:`csim.forecast.data`);
* **survivor counts** of cohorts (:func:`read_cohorts`), inline or as a table, read the same way.

Every problem is one :class:`csim.errors.InputError` naming the file (or option), the column and
the row, raised by those readers or here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from csim.calibrate.fit import Tenures
from csim.errors import InputError
from csim.records import MONTH_DAYS, Records


@dataclass
class Observed:
    """What one input says, per segment.

    ``route``: "ledger", "table" or "cohorts"; ``source``: the file (or ``--survivors``);
    ``tenures``: per segment, months to the first churn or the end of observation;
    ``first_amounts``: per segment, each customer's first monthly amount (empty when unknown);
    ``records``: the ledger's history (ledger only), from ``origin`` (first day of the month of the
    first start) to ``as_of``; ``cohorts`` and ``period_months``: survivor counts and the months
    one of their periods lasts; ``base_segment``: the base segment the cohorts belong to;
    ``provenance``: rows read and skipped and the like, for the file header and the report.
    """

    route: str
    source: str
    tenures: dict[str, Tenures]
    first_amounts: dict[str, np.ndarray]
    records: Records | None = None
    origin: pd.Timestamp | None = None
    as_of: pd.Timestamp | None = None
    has_channel: bool = False
    cohorts: list[list[float]] | None = None
    period_months: int | None = None
    base_segment: str | None = None
    provenance: dict = field(default_factory=dict)
    #: With a holdout date (ledger only): the ledger's history from that date (``as_of``) to its
    #: last date ``end``, day 0 = the holdout's first day, what came before as the opening balance.
    continuation: Records | None = None
    end: pd.Timestamp | None = None

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.tenures)

    @property
    def not_in(self) -> str:
        """What the input is, for "not in …" in the sources of assumptions."""
        return {"ledger": "a ledger", "table": "a customer table", "cohorts": "survivor counts"}[self.route]


def parse_as_of(text: str | None, option: str = "--as-of") -> pd.Timestamp | None:
    """``--as-of YYYY-MM-DD`` (or another date ``option``) as a date; InputError naming the option otherwise."""
    if text is None:
        return None
    value = pd.to_datetime(text, errors="coerce", format="%Y-%m-%d")
    if pd.isna(value):
        raise InputError(option, None, f"not a date in YYYY-MM-DD form: {text!r}")
    return value


def _holdout_records(ledger: pd.DataFrame, path, origin: pd.Timestamp, last: pd.Timestamp,
                     holdout_from: pd.Timestamp) -> Records:
    """The ledger's history from ``holdout_from`` (the first day of a month) to ``last``, rebased so
    that day 0 is ``holdout_from`` (:func:`csim.calibrate.check.rebase`)."""
    from csim.calibrate.check import rebase
    from csim.ledger import ledger_records

    if holdout_from.day != 1:
        raise InputError("--holdout-from", None, f"{holdout_from.date()} is not the first day of a month (the "
                                                 "history's months are calendar months); give YYYY-MM-01")
    if holdout_from <= origin:
        raise InputError("--holdout-from", None, f"{holdout_from.date()} leaves no history before it: the ledger's "
                                                 f"first month is {origin.date()}")
    skipped = (holdout_from.year - origin.year) * 12 + holdout_from.month - origin.month
    full = ledger_records(ledger, as_of=last, name=Path(path).stem)
    if full.horizon_months - skipped < 1:
        raise InputError("--holdout-from", None, f"{holdout_from.date()} leaves no whole month after it: the "
                                                 f"ledger's last date is {last.date()}")
    return rebase(full, skipped)


def read_ledger_input(path, columns_text: str | None, as_of: pd.Timestamp | None, skip_bad_rows: bool,
                      holdout_from: pd.Timestamp | None = None) -> Observed:
    """A ledger as :class:`Observed`: one segment per value of its segment column ("all" without one).

    ``holdout_from`` (the first day of a month): the history is read up to that date, as with
    ``as_of``, and what the ledger shows from then to its last date becomes
    :attr:`Observed.continuation`, the holdout the calibration is checked on.
    """
    from csim.calibrate.fit import tenures_from_records
    from csim.ledger import ledger_records, parse_column_map, read_ledger

    if as_of is not None and holdout_from is not None:
        raise InputError("--holdout-from", None, "give either --as-of or --holdout-from (the fit ends at the holdout "
                                                 "date), not both")

    columns = parse_column_map(columns_text)
    ledger, read = read_ledger(path, columns, skip_bad_rows=skip_bad_rows)
    if "segment" in ledger:
        blank = (ledger["segment"] == "").to_numpy()
        if blank.any():
            i = int(np.flatnonzero(blank)[0])
            raise InputError(path, f"column '{columns.get('segment', 'segment')}'",
                             "empty segment (a calibration fits each segment apart; fill it, or map no segment "
                             "column to fit one segment)", row=int(ledger["row"].iloc[i]))
    first = ledger["start"].min()
    if as_of is not None and as_of < first:
        raise InputError("--as-of", None, f"{as_of.date()} is before the ledger's first start date {first.date()}")
    origin = first.to_period("M").to_timestamp()
    last = max(ledger["start"].max(), ledger["end"].max() if ledger["end"].notna().any() else first)
    continuation = None
    if holdout_from is not None:
        continuation = _holdout_records(ledger, path, origin, last, holdout_from)
        as_of = holdout_from
    as_of = last if as_of is None else as_of
    records = ledger_records(ledger, as_of=as_of, name=Path(path).stem)
    if len(records.accounts["account"]) == 0:
        raise InputError(path, None, f"no customer paid anything by {as_of.date()}: nothing to calibrate")
    tenures = {name: tenures_from_records(records, code) for code, name in enumerate(records.segments)}
    acc = records.accounts
    amounts = {name: acc["initial_mrr"][acc["segment"] == code] / 100.0 for code, name in enumerate(records.segments)}
    provenance = {"input": str(path), "kind": "ledger", "rows": read["rows"], "rows_skipped": read["skipped"],
                  "first_skipped": read["first_skipped"], "columns": columns, "first_month": str(origin.date()),
                  "as_of": str(as_of.date()), "months": records.horizon_months,
                  "customers": int(len(acc["account"]))}
    if continuation is not None:
        provenance.update(holdout_from=str(holdout_from.date()), holdout_months=continuation.horizon_months,
                          last_date=str(last.date()))
    return Observed(route="ledger", source=str(path), tenures=tenures, first_amounts=amounts, records=records,
                    origin=origin, as_of=as_of, has_channel="channel" in ledger, provenance=provenance,
                    continuation=continuation, end=last)


def read_customer_table(path, duration: str, event: str, segment: str | None, mrr: str | None,
                        unit: str = "months") -> Observed:
    """A customer table (one row per customer: tenure, churn 0/1, optional segment and MRR) as :class:`Observed`.

    Read and checked by :func:`csim.forecast.data.load_customer_table`; a table without any churn
    is refused (:func:`csim.forecast.data.prepare_tenure`). Tenure in days is converted to months
    of 365.25/12 days.
    """
    from csim.forecast.data import _blank, _first_row, load_customer_table, numeric_column, prepare_tenure

    extra = [c for c in (segment, mrr) if c]
    data = load_customer_table(path, duration, event, columns=extra, unit=unit)
    data = prepare_tenure(data, f"column '{event}'",
                          "no churn events: every customer is still active, so churn cannot be calibrated")
    frame = data.frame
    months = data.durations / MONTH_DAYS if unit == "days" else data.durations
    if segment:
        blank = _blank(frame[segment])
        if blank.any():
            raise InputError(path, f"column '{segment}', row {_first_row(blank)}", "empty segment")
        labels = frame[segment].astype(str).str.strip().to_numpy()
    else:
        labels = np.full(len(frame), "all", dtype=object)
    amounts_all = None
    if mrr:
        amounts_all = numeric_column(frame, mrr, path)
        bad = ~(amounts_all > 0)
        if bad.any():
            row = _first_row(bad)
            raise InputError(path, f"column '{mrr}', row {row}", f"MRR must be above 0, got {amounts_all[row - 1]:g}")
    tenures, amounts = {}, {}
    for name in sorted(set(labels)):
        mine = labels == name
        tenures[name] = Tenures(months=months[mine], churned=data.events[mine] > 0, inclusive=True)
        amounts[name] = amounts_all[mine] if amounts_all is not None else np.empty(0)
    provenance = {"input": str(path), "kind": "customer table", "rows": int(len(frame)), "rows_skipped": 0,
                  "columns": {"duration": duration, "event": event, "segment": segment, "mrr": mrr}, "unit": unit,
                  "customers": int(len(frame)), "churns": int(data.events.sum()), "notes": list(data.notes)}
    return Observed(route="table", source=str(path), tenures=tenures, first_amounts=amounts, provenance=provenance)


def read_cohorts(survivors: list[str], path, period_months: int, segment: str) -> Observed:
    """Survivor counts (``--survivors`` texts, or a cohort table at ``path``) as :class:`Observed`.

    Checked by the readers of ``csim forecast`` (:func:`csim.forecast.data.parse_survivors`,
    :func:`csim.forecast.data.load_cohort_table`, :func:`csim.forecast.data.check_cohorts`). The
    tenures are the counts spelt out customer by customer (period k = k·``period_months`` months).
    """
    from csim.forecast.data import check_cohorts, load_cohort_table, parse_survivors

    if survivors:
        source = "--survivors"
        cohorts = [parse_survivors(text) for text in survivors]
        check_cohorts(cohorts, source, lambda c, i: f"value {i + 1}")
    else:
        source = str(path)
        _, cohorts = load_cohort_table(path)
    months, churned = [], []
    for counts in cohorts:
        counts = np.asarray(counts, float)
        if np.any(counts != np.round(counts)):
            raise InputError(source, None, "survivor counts must be whole numbers of customers")
        lost = -np.diff(counts)
        for k, n in enumerate(lost, start=1):
            months += [k * period_months] * int(n)
            churned += [True] * int(n)
        months += [(len(counts) - 1) * period_months] * int(counts[-1])
        churned += [False] * int(counts[-1])
    tenures = {segment: Tenures(months=np.asarray(months, float), churned=np.asarray(churned, bool), inclusive=True)}
    provenance = {"input": source, "kind": "survivor counts", "cohorts": len(cohorts),
                  "customers": int(sum(c[0] for c in cohorts)), "period_months": period_months, "rows_skipped": 0}
    return Observed(route="cohorts", source=source, tenures=tenures, first_amounts={segment: np.empty(0)},
                    cohorts=[list(map(float, c)) for c in cohorts], period_months=period_months,
                    base_segment=segment, provenance=provenance)
