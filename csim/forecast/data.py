"""Reading and checking the three inputs of the forecasting tools.

1. A **customer table** (CSV or Parquet): one row per customer with a tenure column and a
   churn column (1 = churned, 0 = still active), optional covariates and a group column.
2. A **subscription table** with dates (``customer_id, start_date, end_date``; an empty end
   means still active) and an as-of date: tenure and censoring are derived per customer.
3. A **cohort survivor table**: customers still active at period 0, 1, 2, … for one or more
   cohorts, given inline (``"1000,631,468"``) or as a CSV with one row per cohort.

Every problem with the user's data raises :class:`csim.errors.InputError` naming the file,
the column and the first bad row. Row numbers count data rows from 1 (the header is not a
row), so row 17 is line 18 of a CSV file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from csim.errors import InputError
from csim.records import MONTH_DAYS


@dataclass
class SurvivalData:
    """Tenure data ready for the fitters.

    Attributes
    ----------
    durations : tenure in periods (months unless ``unit`` says otherwise).
    events : 1 = churned at ``durations``, 0 = still active (right-censored).
    entry : tenure at which observation began (left truncation), or ``None``.
    frame : the source rows (same order) for covariates and groups.
    unit : name of the period ("months").
    source : where the data came from (file name), for messages.
    notes : what was derived or dropped on the way, for the report.
    """

    durations: np.ndarray
    events: np.ndarray
    entry: np.ndarray | None
    frame: pd.DataFrame
    unit: str = "months"
    source: str = ""
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.durations)

    @property
    def whole_periods(self) -> bool:
        """True when every tenure is a whole number of periods (contract-style data)."""
        return bool(np.all(self.durations == np.round(self.durations)))


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame (all CSV columns first read as text)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, None, "file not found")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".csv", ".txt", ".tsv"):
            # Text first: we convert column by column so a bad cell can be reported by row.
            return pd.read_csv(path, dtype=str, keep_default_na=False, sep="\t" if suffix == ".tsv" else ",")
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(path, None, f"cannot be read as {suffix[1:]}: {str(exc).splitlines()[0]}") from None
    raise InputError(path, None, f"unsupported file type '{suffix}' (use .csv or .parquet)")


def require_columns(frame: pd.DataFrame, columns, source) -> None:
    """Raise InputError naming the first requested column the table lacks."""
    for column in columns:
        if column not in frame.columns:
            listed = ", ".join(map(str, frame.columns[:12])) + (", …" if len(frame.columns) > 12 else "")
            raise InputError(source, f"column '{column}'", f"missing (the table has: {listed})")


def _blank(values: pd.Series) -> np.ndarray:
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        return values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
    return values.isna().to_numpy()


def _first_row(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0]) + 1


def numeric_column(frame: pd.DataFrame, column: str, source, allow_blank: bool = False) -> np.ndarray:
    """The column as floats; InputError at the first blank or non-numeric cell."""
    raw = frame[column]
    if raw.dtype == bool:
        return raw.to_numpy(float)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(float)
    blank = _blank(raw)
    if not allow_blank and blank.any():
        raise InputError(source, f"column '{column}', row {_first_row(blank)}", "empty value")
    bad = np.isnan(values) & ~blank
    if bad.any():
        row = _first_row(bad)
        raise InputError(source, f"column '{column}', row {row}", f"not a number ({raw.iloc[row - 1]!r})")
    if np.isinf(values).any():
        raise InputError(source, f"column '{column}', row {_first_row(np.isinf(values))}", "infinite value")
    return values


def duration_column(frame: pd.DataFrame, column: str, source) -> np.ndarray:
    """Tenure column: numeric and ≥ 0."""
    values = numeric_column(frame, column, source)
    negative = values < 0
    if negative.any():
        row = _first_row(negative)
        raise InputError(source, f"column '{column}', row {row}", f"negative duration ({values[row - 1]:g})")
    return values


def event_column(frame: pd.DataFrame, column: str, source) -> np.ndarray:
    """Churn flag column: 0/1 (also accepts true/false, 0.0/1.0)."""
    raw = frame[column]
    if raw.dtype == bool:
        return raw.to_numpy(float)
    text = raw.astype(str).str.strip().str.lower()
    mapped = text.map({"true": 1.0, "false": 0.0})
    numbers = pd.to_numeric(raw, errors="coerce")
    values = np.where(mapped.notna(), mapped, numbers).astype(float)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        row = _first_row(bad)
        raise InputError(source, f"column '{column}', row {row}", f"event must be 0 or 1, got {raw.iloc[row - 1]!r}")
    return values


def load_customer_table(path, duration: str, event: str, columns: list[str] = (), entry: str | None = None,
                        unit: str = "months") -> SurvivalData:
    """Read a customer table with a tenure column and a churn (0/1) column.

    ``columns``: further columns the caller will use (covariates, group), checked to exist.
    ``entry``: optional column of the tenure at which each customer came under observation.
    """
    frame = read_table(path)
    require_columns(frame, [duration, event, *columns] + ([entry] if entry else []), path)
    if len(frame) == 0:
        raise InputError(path, None, "the table has no rows")
    durations = duration_column(frame, duration, path)
    events = event_column(frame, event, path)
    entry_values = None
    if entry:
        entry_values = duration_column(frame, entry, path)
        late = entry_values > durations
        if late.any():
            raise InputError(path, f"column '{entry}', row {_first_row(late)}", "entry after the end of tenure")
    return SurvivalData(durations, events, entry_values, frame.reset_index(drop=True), unit=unit, source=str(path))


def parse_date(text: str, source: str, where: str | None = None) -> pd.Timestamp:
    """One date (ISO ``YYYY-MM-DD`` or anything pandas reads unambiguously)."""
    try:
        value = pd.Timestamp(str(text).strip())
    except (ValueError, TypeError):
        value = pd.NaT
    if pd.isna(value):
        raise InputError(source, where, f"not a date ({text!r}); use YYYY-MM-DD")
    return value


def _date_column(frame: pd.DataFrame, column: str, source, allow_blank: bool) -> pd.Series:
    raw = frame[column]
    blank = _blank(raw)
    if blank.any() and not allow_blank:
        raise InputError(source, f"column '{column}', row {_first_row(blank)}", "empty date")
    if pd.api.types.is_datetime64_any_dtype(raw):
        return raw
    parsed = pd.to_datetime(raw.where(~blank), errors="coerce", format="mixed")
    bad = parsed.isna().to_numpy() & ~blank
    if bad.any():
        row = _first_row(bad)
        raise InputError(source, f"column '{column}', row {row}", f"not a date ({raw.iloc[row - 1]!r})")
    return parsed


def load_subscription_table(path, as_of: str, id_column: str = "customer_id", start: str = "start_date",
                            end: str = "end_date", columns: list[str] = ()) -> SurvivalData:
    """Derive tenure (months) and censoring from a table of subscription periods with dates.

    One customer may have several rows (renewals, plan changes). A customer's tenure runs
    from her first start date to her last end date; she is active (censored at ``as_of``)
    if any row has an empty end or ends after ``as_of``. Rows starting after ``as_of`` are
    dropped (they did not exist yet). Other ``columns`` are taken from each customer's first row.
    """
    cutoff = parse_date(as_of, "--as-of")
    frame = read_table(path)
    require_columns(frame, [id_column, start, end, *columns], path)
    if len(frame) == 0:
        raise InputError(path, None, "the table has no rows")
    starts = _date_column(frame, start, path, allow_blank=False)
    ends = _date_column(frame, end, path, allow_blank=True)
    backwards = (ends < starts).to_numpy()
    if backwards.any():
        row = _first_row(backwards)
        raise InputError(path, f"column '{end}', row {row}", f"end date {frame[end].iloc[row - 1]} is before start date {frame[start].iloc[row - 1]}")
    work = pd.DataFrame({"id": frame[id_column].to_numpy(), "start": starts, "end": ends, "_row": np.arange(len(frame))})
    future = (work["start"] > cutoff).to_numpy()
    notes = []
    if future.any():
        notes.append(f"{int(future.sum())} subscription rows start after the as-of date {cutoff.date()} and were ignored")
        work = work[~future]
    if work.empty:
        raise InputError(path, f"column '{start}'", f"every subscription starts after the as-of date {cutoff.date()}")
    open_ended = work["end"].isna() | (work["end"] > cutoff)
    work = work.assign(active=open_ended, end=work["end"].where(~open_ended, cutoff))
    per_customer = work.groupby("id", sort=False).agg(start=("start", "min"), end=("end", "max"),
                                                      active=("active", "any"), first_row=("_row", "min"))
    days = (per_customer["end"] - per_customer["start"]).dt.total_seconds().to_numpy() / 86400.0
    durations = days / MONTH_DAYS
    events = (~per_customer["active"]).to_numpy(float)
    attributes = frame.iloc[per_customer["first_row"].to_numpy()].reset_index(drop=True)
    notes.append(f"tenure derived from {len(frame)} subscription rows for {len(per_customer)} customers as of "
                 f"{cutoff.date()} (months of {MONTH_DAYS:.4f} days)")
    return SurvivalData(durations, events, None, attributes, unit="months", source=str(path), notes=notes)


def parse_survivors(text: str, source: str = "--survivors") -> list[float]:
    """Parse one cohort of survivor counts, ``"1000,631,468"`` (periods 0, 1, 2, …)."""
    parts = [p.strip() for p in str(text).split(",")]
    values = []
    for i, part in enumerate(parts):
        try:
            value = float(part)
        except ValueError:
            raise InputError(source, f"value {i + 1}", f"not a number ({part!r})") from None
        if not np.isfinite(value) or value < 0:
            raise InputError(source, f"value {i + 1}", f"survivor counts must be ≥ 0, got {part!r}")
        values.append(value)
    check_survivors(values, source, lambda i: f"value {i + 1}")
    return values


def check_survivors(values, source, where) -> None:
    """A cohort needs ≥ 2 counts, a positive start and no increase; ``where(i)`` names position i."""
    if len(values) < 2:
        raise InputError(source, where(len(values)), "need survivor counts for at least periods 0 and 1")
    if values[0] <= 0:
        raise InputError(source, where(0), "the cohort must start with a positive count")
    for i in range(1, len(values)):
        if values[i] > values[i - 1]:
            raise InputError(source, where(i), f"survivors increase from {values[i - 1]:g} to {values[i]:g}")


def load_cohort_table(path) -> tuple[list[str], list[list[float]]]:
    """Read a survivor table: one row per cohort, columns = periods 0, 1, 2, … .

    A first non-numeric column is taken as the cohort label. Cells after a cohort's last
    observed period may be empty (younger cohorts are observed for fewer periods).
    """
    frame = read_table(path)
    if frame.empty:
        raise InputError(path, None, "the table has no rows")
    label_column = None
    first = frame.columns[0]
    if pd.to_numeric(frame[first], errors="coerce").isna().any() and not _blank(frame[first]).all():
        label_column = first
    count_columns = [c for c in frame.columns if c != label_column]
    labels, cohorts = [], []
    for r in range(len(frame)):
        label = str(frame[label_column].iloc[r]) if label_column else f"cohort {r + 1}"
        values = []
        for c in count_columns:
            cell = frame[c].iloc[r]
            if _blank(pd.Series([cell]))[0]:
                break
            number = pd.to_numeric(pd.Series([cell]), errors="coerce").iloc[0]
            if pd.isna(number) or number < 0:
                raise InputError(path, f"column '{c}', row {r + 1}", f"survivor count must be a number ≥ 0, got {cell!r}")
            values.append(float(number))
        check_survivors(values, str(path),
                        lambda i, r=r: f"column '{count_columns[min(i, len(count_columns) - 1)]}', row {r + 1}")
        labels.append(label)
        cohorts.append(values)
    return labels, cohorts
