"""Paired differences by segment and by acquisition channel.

A difference in the whole book can come from one segment, or from the referral accounts one
strategy brings and the other does not. Each run's records are cut into parts (every segment;
referral and non-referral accounts), the headline metrics computed on each part per replication
with :func:`csim.metrics.monthly` / :func:`csim.metrics.summary`, and the paired difference
against the reference taken part by part.

The figures are computed from each replication's account-by-month MRR matrix restricted to the
part's accounts (:func:`part_values`); :func:`subset_records` gives a part's whole records (its
accounts' events and touches, the leads of the same segment or channel) for any other metric. Referral accounts are numbered in referral order and
are not the same customers across strategies: their part compares totals, not matched accounts.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from csim.records import CHANNELS, Records

__all__ = ["BREAKDOWN_METRICS", "subset_records", "parts_of", "part_values", "breakdown"]

REFERRAL = CHANNELS.index("referral")

#: Metrics compared part by part.
BREAKDOWN_METRICS: tuple[str, ...] = ("ending_arr", "ending_customers", "logo_churn_annual", "nrr_t12_end",
                                      "grr_t12_end")


def subset_records(records: Records, accounts: np.ndarray, leads: np.ndarray) -> Records:
    """The records of the accounts where ``accounts`` (a mask over the accounts table) holds.

    Events and touches follow their account (matched on replication and account id); ``leads``
    is a mask over the leads table.
    """
    acc = records.accounts

    def key(table: dict) -> np.ndarray:
        # Account ids are unique within a replication; ids stay below 2**48 (source << 40 | index).
        return table["replication"].astype(np.int64) * (1 << 48) + table["account"]

    kept = key(acc)[accounts]

    def rows(table: dict) -> np.ndarray:
        return np.isin(key(table), kept)

    def cut(table: dict, mask: np.ndarray) -> dict:
        return {col: values[mask] for col, values in table.items()}

    return Records(events=cut(records.events, rows(records.events)), accounts=cut(acc, accounts),
                   leads=cut(records.leads, leads), touches=cut(records.touches, rows(records.touches)),
                   horizon_days=records.horizon_days, segments=records.segments, meta=dict(records.meta))


def parts_of(records: Records) -> dict[str, Records]:
    """``{"segment:<name>": ..., "channel:referral": ..., "channel:non-referral": ...}``."""
    acc, leads = records.accounts, records.leads
    parts = {}
    for code, name in enumerate(records.segments):
        parts[f"segment:{name}"] = subset_records(records, acc["segment"] == code, leads["segment"] == code)
    referral = acc["channel"] == REFERRAL
    referral_leads = leads["channel"] == REFERRAL
    parts["channel:referral"] = subset_records(records, referral, referral_leads)
    parts["channel:non-referral"] = subset_records(records, ~referral, ~referral_leads)
    return parts


def part_values(records: Records) -> dict[str, dict[str, np.ndarray]]:
    """Per part (as :func:`parts_of`) and metric of :data:`BREAKDOWN_METRICS`, the per-replication
    values — the same definitions as :func:`csim.metrics.summary` on the part's records, computed
    from each replication's account-by-month MRR matrix with the part's rows only."""
    from csim.metrics.mrr import mrr_matrix
    from csim.metrics.retention import T12_LAG, _nrr_grr, annualise, replications_of

    reps = replications_of(records)
    n = records.horizon_months
    warmup = int(records.meta.get("warmup_months", 0) or 0)
    acc = records.accounts
    names = [f"segment:{s}" for s in records.segments] + ["channel:referral", "channel:non-referral"]
    out = {part: {m: np.full(reps.size, np.nan) for m in BREAKDOWN_METRICS} for part in names}
    for k, r in enumerate(reps):
        matrix = mrr_matrix(records, int(r), n)
        mine = acc["replication"] == r
        order = np.argsort(acc["account"][mine])
        ids, segment, channel = acc["account"][mine][order], acc["segment"][mine][order], acc["channel"][mine][order]
        row = np.searchsorted(ids, matrix.accounts)
        masks = {f"segment:{s}": segment[row] == code for code, s in enumerate(records.segments)}
        masks["channel:referral"] = channel[row] == REFERRAL
        masks["channel:non-referral"] = channel[row] != REFERRAL
        for part, mask in masks.items():
            values = matrix.values[mask]
            if n < 1:
                continue
            end = values[:, -1]
            out[part]["ending_arr"][k] = 12.0 * end.sum() / 100.0
            out[part]["ending_customers"][k] = float((end > 0).sum())
            previous, current = values[:, warmup:-1], values[:, warmup + 1:]
            had = previous > 0
            at_risk = had.sum()
            if at_risk:
                out[part]["logo_churn_annual"][k] = annualise((had & (current == 0)).sum() / at_risk)
            if n > T12_LAG:
                nrr, grr = _nrr_grr(values[:, [n - T12_LAG]], values[:, [n]])
                out[part]["nrr_t12_end"][k], out[part]["grr_t12_end"][k] = nrr[0], grr[0]
    return out


def breakdown(runs: Sequence) -> dict:
    """Per part and metric: each scenario's mean and the paired difference against the first.

    Returns ``{part: {metric: {"scenarios": {label: mean}, "paired_difference": {label:
    {"mean", "ci_low", "ci_high", "n"}}}}}``; parts as in :func:`parts_of`.
    """
    from csim.metrics import t_interval

    per_run = {run.label: part_values(run.records) for run in runs}
    reference = runs[0].label
    out: dict = {}
    for part in per_run[reference]:
        out[part] = {}
        for metric in BREAKDOWN_METRICS:
            base = per_run[reference][part][metric]
            entry = {"scenarios": {label: float(np.nanmean(v[part][metric])) if np.isfinite(v[part][metric]).any()
                                   else float("nan") for label, v in per_run.items()},
                     "paired_difference": {}}
            for label, v in per_run.items():
                if label == reference:
                    continue
                d = v[part][metric] - base
                i = t_interval(d)
                entry["paired_difference"][label] = {"mean": i.mean, "ci_low": i.low, "ci_high": i.high, "n": i.n}
            out[part][metric] = entry
    return out
