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

from dataclasses import dataclass, field, replace
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
    columns : the columns tenure and churn came from ("duration", "event"), for messages.
    """

    durations: np.ndarray
    events: np.ndarray
    entry: np.ndarray | None
    frame: pd.DataFrame
    unit: str = "months"
    source: str = ""
    notes: list[str] = field(default_factory=list)
    #: Where tenure and churn came from, for messages: {"duration": column, "event": column}.
    columns: dict[str, str] = field(default_factory=dict)
    #: Customers behind the rows when a customer has several (a counting-process table), else None.
    subjects: int | None = None
    #: Churn cause code → label when the table names causes (codes ride in the frame), else None.
    cause_labels: dict[int, str] | None = None

    def __len__(self) -> int:
        return len(self.durations)

    @property
    def whole_periods(self) -> bool:
        """True when every tenure is a whole number of periods (contract-style data)."""
        return bool(np.all(self.durations == np.round(self.durations)))


#: Fewest customers a tenure table must have for a forecast (below this nothing can be estimated).
MIN_CUSTOMERS = 5

_CSV_SUFFIXES = (".csv", ".txt", ".tsv")
_PARQUET_SUFFIXES = (".parquet", ".pq")


def _csv_header(path: Path, sep: str) -> list[str]:
    """The header cells of a CSV file, read with the csv module (pandas renames duplicates)."""
    import csv

    with open(path, newline="", encoding="utf-8-sig") as handle:
        for line in handle:
            if line.strip():
                return next(csv.reader([line], delimiter=sep))
    return []


def _check_header(columns, path) -> None:
    """Refuse duplicate column names: pandas would silently rename the second ``x.1``."""
    seen: dict[str, int] = {}
    for position, name in enumerate(columns, start=1):
        key = str(name)
        if key in seen:
            raise InputError(path, f"column '{key}'", f"appears twice in the header (columns {seen[key]} and "
                                                      f"{position}); rename one of them")
        seen[key] = position


def _tokenizer_problem(exc: Exception) -> tuple[str, int | None]:
    """pandas' 'Expected 2 fields in line 3, saw 3' as (problem, 1-based data row)."""
    import re

    text = " ".join(str(exc).split())
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if match:
        expected, line, saw = (int(g) for g in match.groups())
        return f"has {saw} fields but the header has {expected}", line - 1
    return text.removeprefix("Error tokenizing data. C error: "), None


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame (all CSV columns first read as text).

    Raises :class:`InputError` when the file is missing, a folder, empty, not text (for a
    CSV), not UTF-8, has duplicate column names or a row with more fields than the header.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, None, "file not found")
    if path.is_dir():
        raise InputError(path, None, "is a folder; give a CSV or Parquet file")
    suffix = path.suffix.lower()
    if suffix not in _CSV_SUFFIXES + _PARQUET_SUFFIXES:
        raise InputError(path, None, f"unsupported file type '{suffix or '(none)'}' (use .csv or .parquet)")
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(65536)
    except OSError as exc:
        raise InputError(path, None, f"cannot be read: {exc.strerror or exc}") from None
    if size == 0:
        raise InputError(path, None, "the file is empty")
    if suffix in _PARQUET_SUFFIXES:
        try:
            frame = pd.read_parquet(path)
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a file that is not Parquet
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise InputError(path, None, f"cannot be read as Parquet: {detail}") from None
        _check_header([str(c) for c in frame.columns], path)
        frame.columns = [str(c) for c in frame.columns]
        return frame
    if b"\x00" in head:
        raise InputError(path, None, "is not a text CSV file (it contains binary data)")
    sep = "\t" if suffix == ".tsv" else ","
    try:
        header = _csv_header(path, sep)
    except UnicodeDecodeError as exc:
        raise InputError(path, None, f"is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                                     f"{exc.start}); save it as a UTF-8 CSV") from None
    except OSError as exc:
        raise InputError(path, None, f"cannot be read: {exc.strerror or exc}") from None
    if not header or not any(cell.strip() for cell in header):
        raise InputError(path, None, "has no header line (only blank lines)")
    _check_header(header, path)
    try:
        # Text first: we convert column by column so a bad cell can be reported by row.
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, sep=sep, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, None, f"is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                                     f"{exc.start}); save it as a UTF-8 CSV") from None
    except pd.errors.EmptyDataError:
        raise InputError(path, None, "has no header line (only blank lines)") from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        problem, row = _tokenizer_problem(exc)
        raise InputError(path, None, problem, row=row) from None
    return frame


def require_columns(frame: pd.DataFrame, columns, source) -> None:
    """Raise InputError naming the first requested column the table lacks (and listing those it has)."""
    for column in columns:
        if column not in frame.columns:
            names = [str(c) for c in frame.columns]
            listed = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
            hint = ""
            close = [c for c in names if c.strip().lower() == str(column).strip().lower()]
            if close:
                hint = f"; did you mean '{close[0]}'?"
            elif len(names) == 1 and any(mark in names[0] for mark in (";", "\t", "|")):
                mark = next(m for m in (";", "\t", "|") if m in names[0])
                hint = f"; the file seems to separate fields with {mark!r}, csim reads comma-separated files"
            raise InputError(source, f"column '{column}'", f"missing (the table has: {listed}){hint}")


def _blank(values: pd.Series) -> np.ndarray:
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        return values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
    return values.isna().to_numpy()


def _first_row(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0]) + 1


def numeric_column(frame: pd.DataFrame, column: str, source, allow_blank: bool = False) -> np.ndarray:
    """The column as floats; InputError at the first blank, non-numeric or infinite cell."""
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
    """Tenure column: numeric, finite and ≥ 0."""
    values = numeric_column(frame, column, source)
    negative = values < 0
    if negative.any():
        row = _first_row(negative)
        raise InputError(source, f"column '{column}', row {row}", f"negative duration ({values[row - 1]:g})")
    return values


def event_column(frame: pd.DataFrame, column: str, source) -> np.ndarray:
    """Churn flag column: 0/1 (also accepts true/false, 0.0/1.0 and boolean columns)."""
    raw = frame[column]
    if raw.dtype == bool:
        return raw.to_numpy(float)
    blank = _blank(raw)
    if blank.any():
        raise InputError(source, f"column '{column}', row {_first_row(blank)}", "empty value (use 1 = churned, "
                                                                               "0 = still active)")
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
    require_columns(frame, [duration, event] + ([entry] if entry else []) + list(columns), path)
    if len(frame) == 0:
        raise InputError(path, None, "the table has no rows (only a header)")
    durations = duration_column(frame, duration, path)
    events = event_column(frame, event, path)
    entry_values = None
    if entry:
        entry_values = duration_column(frame, entry, path)
        late = entry_values > durations
        if late.any():
            row = _first_row(late)
            raise InputError(path, f"column '{entry}', row {row}",
                             f"entry tenure {entry_values[row - 1]:g} is after the end of tenure "
                             f"({duration} = {durations[row - 1]:g})")
    return SurvivalData(durations, events, entry_values, frame.reset_index(drop=True), unit=unit, source=str(path),
                        columns={"duration": duration, "event": event, **({"entry": entry} if entry else {})})


def prepare_tenure(data: SurvivalData, event_where: str | None, no_events: str | None = None) -> SurvivalData:
    """Last checks before fitting a tenure table; returns the data to fit.

    Rows observed for no time (entry = tenure) carry no information and are dropped with a
    note; an entry column of zeros means no left truncation. Raises :class:`InputError` (naming
    ``event_where``, the churn column, and saying ``no_events`` if given) when nobody churned, and when fewer than
    :data:`MIN_CUSTOMERS` customers remain.
    """
    entry = data.entry
    if entry is not None and not np.any(entry > 0):
        entry = None
    if entry is not None:
        empty = entry >= data.durations
        if empty.all():
            where = f"column '{data.columns['entry']}'" if data.columns.get("entry") else None
            raise InputError(data.source, where, "every row has an entry tenure equal to its tenure (observed for no "
                                                 "time); nothing is left to fit")
        if empty.any():
            keep = ~empty
            data.notes.append(f"{int(empty.sum())} rows with entry tenure equal to their tenure (observed for no "
                              "time) were left out")
            data = replace(data, durations=data.durations[keep], events=data.events[keep], entry=entry[keep],
                           frame=data.frame[keep].reset_index(drop=True))
            entry = data.entry
    data.entry = entry
    if len(data) and not data.events.any():
        raise InputError(data.source, event_where, no_events or "no churn events: every row is censored; survival "
                                                                "models need at least one")
    if len(data) < MIN_CUSTOMERS:
        raise InputError(data.source, None, f"only {len(data)} customer{'s' if len(data) != 1 else ''} to fit; a "
                                            f"forecast needs at least {MIN_CUSTOMERS}")
    return data


def parse_date(text: str, source: str, where: str | None = None) -> pd.Timestamp:
    """One date (ISO ``YYYY-MM-DD`` or anything pandas reads unambiguously); time zones become UTC."""
    try:
        value = pd.Timestamp(str(text).strip())
    except (ValueError, TypeError, OverflowError):
        value = pd.NaT
    if pd.isna(value):
        raise InputError(source, where, f"not a date ({text!r}); use YYYY-MM-DD")
    if value.tzinfo is not None:
        value = value.tz_convert("UTC").tz_localize(None)
    return value


def date_cells(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The dates of a column (time zones converted to UTC, then dropped) and its blank cells.

    A cell that is neither blank nor a date is NaT; callers decide whether that is an error
    (:func:`_date_column`) or a row to skip (:func:`csim.ledger.read_ledger`).
    """
    blank = _blank(raw)
    if pd.api.types.is_datetime64_any_dtype(raw):
        if getattr(raw.dt, "tz", None) is not None:
            raw = raw.dt.tz_convert("UTC").dt.tz_localize(None)
        return raw, blank
    text = raw.where(~blank).astype(object)
    try:
        parsed = pd.to_datetime(text, errors="coerce", format="mixed", utc=True).dt.tz_localize(None)
    except (ValueError, TypeError, OverflowError):
        # One cell pandas cannot place on the time line at all: find it cell by cell.
        parsed = pd.Series([_one_date(v) for v in text], index=raw.index, dtype="datetime64[ns]")
    return parsed, blank


def _date_column(frame: pd.DataFrame, column: str, source, allow_blank: bool) -> pd.Series:
    """Dates of a column (time zones converted to UTC, then dropped); InputError at the first bad cell."""
    raw = frame[column]
    parsed, blank = date_cells(raw)
    if blank.any() and not allow_blank:
        raise InputError(source, f"column '{column}', row {_first_row(blank)}", "empty date")
    bad = parsed.isna().to_numpy() & ~blank
    if bad.any():
        row = _first_row(bad)
        raise InputError(source, f"column '{column}', row {row}", f"not a date ({raw.iloc[row - 1]!r})")
    return parsed


def _one_date(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return pd.NaT
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return pd.NaT
    if pd.isna(stamp):
        return pd.NaT
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp


def load_subscription_table(path, as_of: str, id_column: str = "customer_id", start: str = "start_date",
                            end: str = "end_date", columns: list[str] = (), unit: str = "months") -> SurvivalData:
    """Derive tenure and censoring from a table of subscription periods with dates.

    One customer may have several rows (renewals, plan changes). A customer's tenure runs
    from her first start date to her last end date; she is active (censored at ``as_of``)
    if any row has an empty end or ends after ``as_of``. Rows starting after ``as_of`` are
    dropped (they did not exist yet). Other ``columns`` are taken from each customer's first row.
    ``unit``: "months" (365.25/12 days, the default), "days" or "years".
    """
    from csim.forecast.accounts import UNIT_DAYS

    cutoff = parse_date(as_of, "--as-of")
    frame = read_table(path)
    require_columns(frame, [id_column, start, end, *columns], path)
    if len(frame) == 0:
        raise InputError(path, None, "the table has no rows (only a header)")
    no_id = _blank(frame[id_column])
    if no_id.any():
        raise InputError(path, f"column '{id_column}', row {_first_row(no_id)}", "empty customer id")
    starts = _date_column(frame, start, path, allow_blank=False)
    ends = _date_column(frame, end, path, allow_blank=True)
    backwards = (ends < starts).to_numpy()
    if backwards.any():
        row = _first_row(backwards)
        raise InputError(path, f"column '{end}', row {row}", f"end date {frame[end].iloc[row - 1]} is before start date {frame[start].iloc[row - 1]}")
    work = pd.DataFrame({"id": frame[id_column].to_numpy(), "start": starts.to_numpy(), "end": ends.to_numpy(),
                         "_row": np.arange(len(frame))})
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
    durations = days / UNIT_DAYS[unit]
    events = (~per_customer["active"]).to_numpy(float)
    attributes = frame.iloc[per_customer["first_row"].to_numpy()].reset_index(drop=True)
    size = "" if unit != "months" else f" (months of {MONTH_DAYS:.4f} days)"
    notes.append(f"tenure derived from {len(frame)} subscription rows for {len(per_customer)} customers as of "
                 f"{cutoff.date()}{size}")
    return SurvivalData(durations, events, None, attributes, unit=unit, source=str(path), notes=notes,
                        columns={"duration": f"{start}/{end}", "event": end})


def check_account_columns(frame: pd.DataFrame, source) -> dict[str, np.ndarray]:
    """The simulator's account columns, checked: start ≤ entry ≤ end (days), churned 0/1."""
    values = {column: numeric_column(frame, column, source) for column in ("start", "entry", "end")}
    values["churned"] = event_column(frame, "churned", source)
    for first, later in (("start", "entry"), ("entry", "end")):
        wrong = values[later] < values[first]
        if wrong.any():
            row = _first_row(wrong)
            raise InputError(source, f"column '{later}', row {row}",
                             f"{later} day {values[later][row - 1]:g} is before {first} day {values[first][row - 1]:g}")
    return values


def parse_survivors(text: str, source: str = "--survivors") -> list[float]:
    """Parse one cohort of survivor counts, ``"1000,631,468"`` (periods 0, 1, 2, …)."""
    parts = [p.strip() for p in str(text).split(",")]
    values = []
    for i, part in enumerate(parts):
        if not part:
            raise InputError(source, f"value {i + 1}", "empty value (give counts separated by commas)")
        try:
            value = float(part)
        except ValueError:
            raise InputError(source, f"value {i + 1}", f"not a number ({part!r})") from None
        if not np.isfinite(value) or value < 0:
            raise InputError(source, f"value {i + 1}", f"survivor counts must be finite and ≥ 0, got {part!r}")
        values.append(value)
    check_survivors(values, source, lambda i: f"value {i + 1}")
    return values


def check_survivors(values, source, where, min_counts: int = 2) -> None:
    """A cohort needs ``min_counts`` counts (≥ 2 on its own; a table's youngest cohort may have only
    its period-0 count), a positive start and no increase; ``where(i)`` names position i."""
    if len(values) < min_counts:
        raise InputError(source, where(len(values)), "need survivor counts for at least periods 0 and 1")
    if values[0] <= 0:
        raise InputError(source, where(0), "the cohort must start with a positive count")
    for i in range(1, len(values)):
        if values[i] > values[i - 1]:
            raise InputError(source, where(i), f"survivors increase from {values[i - 1]:g} to {values[i]:g}")


def check_cohorts(cohorts, source, where) -> None:
    """Refuse survivor counts no retention model can be fitted to.

    ``where(c, i)`` names position i of cohort c. Nobody lost anywhere: nothing to estimate.
    Everybody lost at period 1 in every cohort: a churn probability of 1, no retention to model
    (the models' parameters run off to infinity).
    """
    observed = [c for c in cohorts if len(c) > 1]
    if all(c[-1] == c[0] for c in observed):
        raise InputError(source, None, "no churn: the survivor counts never fall; retention models need at least "
                                       "one lost customer")
    if all(c[1] == 0 for c in observed):
        raise InputError(source, where(0, 1), f"every customer churned at period 1 ({cohorts[0][0]:g} → 0): there "
                                              "is no retention to model; give a cohort with survivors after period 1")


def _has_digit(text) -> bool:
    return any(ch.isdigit() for ch in str(text))


#: Header words that name a column of cohort labels, not counts.
_LABEL_WORDS = ("cohort", "year", "month", "quarter", "date", "label", "name", "start", "signup", "acquired")


def _looks_like_years(values: pd.Series, header) -> bool:
    """A first column of acquisition years (2019, 2020, …) or one whose header names a cohort.

    Year labels are numbers, so they would otherwise pass for period-0 counts: distinct whole
    numbers between 1900 and 2100 are taken as years (a survivor table whose period-0 counts all
    fall in that range and differ is not told apart; name the column "cohort" to be sure).
    """
    if any(word in str(header).lower() for word in _LABEL_WORDS):
        return True
    values = values.dropna().to_numpy(dtype=float)
    return bool(len(values)) and bool(np.all(values == np.round(values))) and bool(
        np.all((values >= 1900) & (values <= 2100))) and len(set(values)) == len(values)


def load_cohort_table(path) -> tuple[list[str], list[list[float]]]:
    """Read a survivor table: one row per cohort, columns = periods 0, 1, 2, … .

    A first column of labels (mostly non-numeric values, or a header without a digit before
    period headers that all have one, such as ``cohort,p0,p1``) is taken as the cohort label.
    Cells after a cohort's last observed period may be empty (younger cohorts are observed for
    fewer periods); a count after an empty cell is an error.
    """
    frame = read_table(path)
    if frame.empty:
        raise InputError(path, None, "the table has no rows (only a header)")
    first = frame.columns[0]
    numbers = pd.to_numeric(frame[first], errors="coerce")
    blank = _blank(frame[first])
    text_cells = int((numbers.isna().to_numpy() & ~blank).sum())
    label_header = not _has_digit(first) and len(frame.columns) > 1 and all(_has_digit(c) for c in frame.columns[1:])
    label_column = first if (text_cells * 2 >= (~blank).sum() and text_cells) or label_header \
        or _looks_like_years(numbers[~blank], first) else None
    count_columns = [c for c in frame.columns if c != label_column]
    if len(count_columns) < 2:
        raise InputError(path, None, "needs survivor counts for at least periods 0 and 1 (two count columns "
                                     "after the optional label column)")
    labels, cohorts = [], []
    for r in range(len(frame)):
        label = str(frame[label_column].iloc[r]).strip() if label_column else f"cohort {r + 1}"
        values = []
        ended_at = None
        for c in count_columns:
            cell = frame[c].iloc[r]
            if _blank(pd.Series([cell], dtype=object))[0]:
                ended_at = ended_at or c
                continue
            if ended_at is not None:
                raise InputError(path, f"column '{c}', row {r + 1}", f"a count after the empty cell in column "
                                                                     f"'{ended_at}'; only trailing cells may be empty")
            number = pd.to_numeric(pd.Series([cell]), errors="coerce").iloc[0]
            if pd.isna(number) or not np.isfinite(number) or number < 0:
                raise InputError(path, f"column '{c}', row {r + 1}", f"survivor count must be a number ≥ 0, got {cell!r}")
            values.append(float(number))
        # A cohort acquired in the last period has only its period-0 count: it holds no churn yet,
        # but it is data (its size), not an error.
        check_survivors(values, str(path),
                        lambda i, r=r: f"column '{count_columns[min(i, len(count_columns) - 1)]}', row {r + 1}",
                        min_counts=1)
        labels.append(label or f"cohort {r + 1}")
        cohorts.append(values)
    if all(len(c) < 2 for c in cohorts):
        raise InputError(path, f"column '{count_columns[1]}'", "no cohort has a count for period 1; retention "
                                                              "needs at least one cohort observed for a period")
    check_cohorts(cohorts, str(path), lambda c, i: f"column '{count_columns[i]}', row {c + 1}")
    return labels, cohorts
