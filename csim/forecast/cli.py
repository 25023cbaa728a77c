"""``csim forecast``: survival curves, models, projections and backtests from a table or cohorts.

Inputs (one of):

* ``DATA --duration COL --event COL`` — a customer table (CSV or Parquet);
* ``DATA --as-of DATE`` — a subscription table with ``customer_id, start_date, end_date``;
* ``DATA`` with the simulator's account columns (start, entry, end, churned);
* ``DATA --cohorts`` — a survivor table, one row per cohort; or ``--survivors 1000,631,…``
  (repeat the option for several cohorts).

Every input and option is checked before any model is fitted; a problem stops the command
with one line naming the file (or option), the column and the row, exit status 2, and nothing
written. The outputs are written all or nothing (:func:`csim.forecast.report.write_forecast`).
"""

from __future__ import annotations

import argparse
import math

from csim.errors import InputError

#: Fewest and most parameter draws for the projection bands (a 95 % band from fewer than 100
#: draws rests on two or three curves in each tail).
MIN_DRAWS, MAX_DRAWS = 100, 100_000
#: Longest projection, in periods (100 years of months).
MAX_HORIZON = 1200
#: Most draw-periods (draws × (horizon + 1)) of a projection: bounds memory to tens of MB per array.
MAX_DRAW_PERIODS = 5_000_000
#: Most tenures in --at (each adds a residual-lifetime projection per model).
MAX_AT = 50

DESCRIPTION = """\
Fit survival and contract-renewal models to customer data and project retention, customers,
revenue and lifetime value, with 95 % bands.

Inputs (give one):
  DATA --duration COL --event COL   customer table (CSV or Parquet): tenure and churn flag
                                    (1 = churned, 0 = still active)
  DATA --duration COL --event COL --start COL --id COL
                                    counting-process table: one row per customer and stretch
                                    (start, duration] of tenure over which its covariates held
                                    (time-varying covariates; churn only on a customer's last row)
  DATA --as-of DATE                 subscription table with customer_id, start_date, end_date
  DATA                              simulated account table (columns start, entry, end, churned)
  DATA --cohorts                    survivor table: one row per cohort, counts for periods 0, 1, 2, ...
  --survivors N0,N1,...             survivor counts of one cohort (repeat for several)

Writes forecast.json, survival.csv, report.md and figures into the --out folder, replacing it
whole only when everything is written. Bad input stops with one line naming the file (or
option), the column and the row, exit status 2, and nothing written."""

EPILOG = f"""\
Limits: a table needs at least 5 customers and one churn; --draws {MIN_DRAWS} to {MAX_DRAWS:,};
--horizon 1 to {MAX_HORIZON}; draws × (horizon + 1) at most {MAX_DRAW_PERIODS:,}; at most {MAX_AT} --at
tenures. Models the data cannot support are skipped with a note in report.md; degenerate fits are
reported without intervals or bands."""


def _models_epilog() -> str:
    """The registry's models, one line each: name and what it describes."""
    from csim.forecast.registry import MODELS

    width = max(len(name) for name in MODELS)
    return "Models:\n" + "\n".join(f"  {name:<{width}}  {entry.description}" for name, entry in MODELS.items())


def _models_help() -> str:
    """Help of --models: the names it takes, and those fitted without being asked for."""
    from csim.forecast.registry import MODELS, projection_models

    others = [name for name, entry in MODELS.items() if not entry.projects]
    return (f"subset of {', '.join(projection_models())} (default: all that apply); {', '.join(others)} are "
            "not chosen here (see Models below)")


#: Options that describe a table; they make no sense with survivor counts.
_TABLE_OPTIONS = (("duration", "--duration"), ("event", "--event"), ("entry", "--entry"), ("start", "--start"),
                  ("id", "--id"), ("cause", "--cause"), ("strata", "--strata"),
                  ("covariates", "--covariates"), ("group", "--group"), ("as_of", "--as-of"),
                  ("reference", "--reference"), ("id_column", "--id-column"), ("start_column", "--start-column"),
                  ("end_column", "--end-column"), ("unit", "--unit"))


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def _names(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def register(subparsers) -> None:
    """Add the ``forecast`` subcommand."""
    p = subparsers.add_parser("forecast", help="fit survival and contract-renewal models, project retention and revenue",
                              description=DESCRIPTION, epilog=EPILOG + "\n\n" + _models_epilog(),
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", nargs="?", metavar="DATA", help="CSV or Parquet file (omit with --survivors)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="output folder; replaced whole on success (a new folder, an empty one or a previous "
                        "csim output)")
    p.add_argument("--horizon", type=int, default=24, metavar="H",
                   help=f"periods to project, 1 to {MAX_HORIZON} (default 24)")
    p.add_argument("--at", type=_floats, default=[3.0, 6.0, 12.0], metavar="T1,T2,…",
                   help="tenures (≥ 0) to report survival and expected remaining tenure at (default 3,6,12)")
    g = p.add_argument_group("customer table")
    g.add_argument("--duration", metavar="COL", help="tenure column (months unless --unit), numbers ≥ 0")
    g.add_argument("--event", metavar="COL", help="churn column: 1 churned, 0 still active (or true/false)")
    g.add_argument("--entry", metavar="COL", help="optional column: tenure when observation began (left truncation)")
    g.add_argument("--start", metavar="COL",
                   help="counting-process table: column where each row's stretch of tenure starts (the row covers "
                        "(start, duration]); needs --id. Covariates may then change over a customer's life")
    g.add_argument("--id", metavar="COL", help="customer id column of a counting-process table (with --start)")
    g.add_argument("--cause", metavar="COL",
                   help="column naming why each churned customer left (e.g. voluntary, failed_payment): adds "
                        "cumulative incidence per cause and, with --covariates, a Cox model per cause")
    g.add_argument("--covariates", type=_names, default=[], metavar="COL,…",
                   help="columns explaining churn (Cox and Weibull AFT models), e.g. company_size,csat_score")
    g.add_argument("--reference", action="append", default=[], metavar="COL=LEVEL",
                   help="reference level of a text covariate or of the --group column (repeatable; default: the "
                        "first level in sorted order)")
    g.add_argument("--group", metavar="COL", help="column whose groups to compare (KM per group, log-rank, Cox)")
    g.add_argument("--strata", metavar="COL",
                   help="Cox model with a baseline hazard of its own per level of COL (the remedy when the "
                        "proportional-hazards test rejects a covariate such as segment); needs --covariates")
    s = p.add_argument_group("subscription table")
    s.add_argument("--as-of", metavar="DATE",
                   help="date the data was extracted (YYYY-MM-DD); derives tenure and censoring from the dates")
    s.add_argument("--id-column", metavar="COL", help="customer id column (default customer_id)")
    s.add_argument("--start-column", metavar="COL", help="subscription start date column (default start_date)")
    s.add_argument("--end-column", metavar="COL",
                   help="subscription end date column, empty while active (default end_date)")
    c = p.add_argument_group("cohorts")
    c.add_argument("--survivors", action="append", default=[], metavar="N0,N1,…",
                   help="customers active at periods 0,1,2,… of one cohort (repeat for several)")
    c.add_argument("--cohorts", action="store_true", help="DATA is a survivor table: one row per cohort")
    m = p.add_argument_group("models and projections")
    m.add_argument("--models", type=_names, default=None, metavar="NAME,…",
                   help=_models_help())
    m.add_argument("--backtest-periods", type=int, metavar="K",
                   help="fit on the first K periods (≥ 1), score the later ones (default: half the data)")
    m.add_argument("--unit", choices=["months", "days", "years"], default=None,
                   help="tenure unit of a table (default months); account and subscription tables are converted")
    m.add_argument("--arpa", type=float, default=1.0, metavar="X",
                   help="revenue per customer per period, > 0 (default 1: LTV in ARPA units)")
    m.add_argument("--expansion-rate", type=float, default=0.0, metavar="RATE",
                   help="revenue growth of survivors per period, > -1 (default 0)")
    m.add_argument("--discount-rate", type=float, default=0.0, metavar="RATE",
                   help="annual discount rate ≥ 0, e.g. 0.10 (default 0)")
    m.add_argument("--periods-per-year", type=float, default=12.0, metavar="N",
                   help="periods per year, > 0, to convert the annual discount rate (default 12)")
    m.add_argument("--gross-margin", type=float, default=1.0, metavar="SHARE",
                   help="share of revenue kept, in (0, 1] (default 1: revenue LTV)")
    m.add_argument("--cohort-size", type=float, metavar="N",
                   help="customers in the projected cohort, > 0 (default: the data's)")
    m.add_argument("--draws", type=int, default=2000, metavar="N",
                   help=f"parameter draws for the 95 %% bands, {MIN_DRAWS} to {MAX_DRAWS} (default 2000)")
    m.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the parameter draws, ≥ 0 (default 0)")
    p.set_defaults(handler=run_forecast)


# ---------------------------------------------------------------------------- checks



def _finite(option: str, value: float) -> float:
    if not math.isfinite(value):
        raise InputError(option, None, f"must be a finite number, got {value}")
    return value


def _options(args):
    """Every option value checked (before any data is read); returns ForecastOptions."""
    from csim.forecast.analysis import ForecastOptions
    from csim.forecast.registry import MODELS, projection_models

    known = projection_models()
    models = None
    if args.models is not None:
        if not args.models:
            raise InputError("--models", None, f"give at least one model: {', '.join(known)}")
        for name in args.models:
            if name in MODELS and name not in known:
                raise InputError("--models", name, f"not chosen with --models ({MODELS[name].description}); "
                                                   f"choose from {', '.join(known)}")
            if name not in known:
                raise InputError("--models", name, f"unknown model; choose from {', '.join(known)}")
        models = list(dict.fromkeys(args.models))
    if not 1 <= args.horizon <= MAX_HORIZON:
        raise InputError("--horizon", None, f"must be 1 to {MAX_HORIZON} periods, got {args.horizon}")
    if not args.at:
        raise InputError("--at", None, "give at least one tenure, e.g. 3,6,12")
    if len(args.at) > MAX_AT:
        raise InputError("--at", None, f"give at most {MAX_AT} tenures, got {len(args.at)}")
    for value in args.at:
        if not math.isfinite(value) or value < 0:
            raise InputError("--at", None, f"tenures must be finite and ≥ 0, got {value:g}")
    if not MIN_DRAWS <= args.draws <= MAX_DRAWS:
        raise InputError("--draws", None, f"must be {MIN_DRAWS} to {MAX_DRAWS} (a 95 % band needs enough draws in "
                                          f"each tail), got {args.draws}")
    if args.draws * (args.horizon + 1) > MAX_DRAW_PERIODS:
        raise InputError("--draws", None, f"{args.draws} draws over {args.horizon + 1} periods (--horizon "
                                          f"{args.horizon}) exceed {MAX_DRAW_PERIODS:,} draw-periods; lower --draws "
                                          "or --horizon")
    if args.seed < 0:
        raise InputError("--seed", None, f"must be ≥ 0, got {args.seed}")
    if _finite("--arpa", args.arpa) <= 0:
        raise InputError("--arpa", None, f"must be > 0 (revenue per customer per period), got {args.arpa:g}")
    if _finite("--expansion-rate", args.expansion_rate) <= -1:
        raise InputError("--expansion-rate", None, f"must be > -1 (a rate per period), got {args.expansion_rate:g}")
    if _finite("--discount-rate", args.discount_rate) < 0:
        raise InputError("--discount-rate", None, f"must be ≥ 0 (an annual rate), got {args.discount_rate:g}")
    if _finite("--periods-per-year", args.periods_per_year) <= 0:
        raise InputError("--periods-per-year", None, f"must be > 0, got {args.periods_per_year:g}")
    if not 0 < _finite("--gross-margin", args.gross_margin) <= 1:
        raise InputError("--gross-margin", None, f"must be in (0, 1] (a share of revenue), got {args.gross_margin:g}")
    if args.cohort_size is not None and _finite("--cohort-size", args.cohort_size) <= 0:
        raise InputError("--cohort-size", None, f"must be > 0, got {args.cohort_size:g}")
    if args.backtest_periods is not None and args.backtest_periods < 1:
        raise InputError("--backtest-periods", None, f"must be at least 1, got {args.backtest_periods}")
    return ForecastOptions(
        horizon=args.horizon, at=args.at, models=models, backtest_periods=args.backtest_periods,
        arpa=args.arpa, expansion_rate=args.expansion_rate,
        discount_rate=(1.0 + args.discount_rate) ** (1.0 / args.periods_per_year) - 1.0,
        gross_margin=args.gross_margin, cohort_size=args.cohort_size, draws=args.draws, seed=args.seed)


def _check_combination(args) -> None:
    """Refuse options that contradict each other or the kind of input."""
    given = [flag for attr, flag in _TABLE_OPTIONS if getattr(args, attr)]
    if args.survivors:
        if args.data:
            raise InputError(args.data, None, "give either DATA or --survivors, not both")
        if args.cohorts:
            raise InputError("--cohorts", None, "give either --survivors (counts on the command line) or DATA "
                                                "--cohorts (a survivor table), not both")
    if args.survivors or args.cohorts:
        if given:
            kind = "--survivors" if args.survivors else "--cohorts"
            raise InputError(given[0], None, f"applies to a customer or subscription table, not to {kind}")
        if args.cohorts and not args.data:
            raise InputError("--cohorts", None, "needs DATA, the survivor table")
        return
    if not args.data:
        raise InputError("csim forecast", None, "give DATA (a table) or --survivors")
    if args.as_of and (args.duration or args.event or args.entry):
        first = "--duration" if args.duration else "--event" if args.event else "--entry"
        raise InputError(first, None, "a subscription table (--as-of) derives tenure and churn from its dates; "
                                      f"give --as-of or {first}, not both")
    if bool(args.duration) != bool(args.event):
        missing = "--event" if args.duration else "--duration"
        raise InputError(args.data, missing, "missing: give both --duration and --event")
    if args.entry and not args.duration:
        raise InputError("--entry", None, "needs --duration and --event (a customer table)")
    if args.start and not args.duration:
        raise InputError("--start", None, "needs --duration (the stop of each row) and --event")
    if args.start and args.entry:
        raise InputError("--entry", None, "a counting-process table (--start) starts each row at --start; give one")
    if bool(args.start) != bool(args.id):
        raise InputError("--id" if args.start else "--start", None,
                         "a counting-process table needs both --start and --id")
    if args.strata and not args.covariates:
        raise InputError("--strata", None, "needs --covariates (the hazard ratios estimated within each level)")
    if args.strata and args.strata in args.covariates:
        raise InputError("--strata", args.strata, "is also in --covariates; a column is either a stratum or a "
                                                  "covariate")
    if args.cause and not args.duration:
        raise InputError("--cause", None, "needs a customer table (--duration and --event)")
    if not args.as_of:
        for attr, flag in (("id_column", "--id-column"), ("start_column", "--start-column"),
                           ("end_column", "--end-column")):
            if getattr(args, attr):
                raise InputError(flag, None, "applies to a subscription table: give --as-of DATE too")
    if args.reference and not (args.covariates or args.group):
        raise InputError("--reference", None, "needs --covariates or --group (the column whose level it names)")


# ---------------------------------------------------------------------------- loading


def _load_tenure(args):
    """Customer, subscription or account table → (SurvivalData, design, encoding, groups, group reference)."""
    from csim.forecast import data as io
    from csim.forecast.accounts import is_account_table, survival_data_from_accounts
    from csim.forecast.covariates import encode_covariates, parse_reference

    unit = args.unit or "months"
    no_events = None
    extra = list(dict.fromkeys(list(args.covariates) + [c for c in (args.group, args.cause, args.strata) if c]))
    if args.as_of:
        end_column = args.end_column or "end_date"
        loaded = io.load_subscription_table(args.data, args.as_of, args.id_column or "customer_id",
                                            args.start_column or "start_date", end_column, columns=extra, unit=unit)
        event_where = f"column '{end_column}'"
        no_events = (f"no churn events: every customer is still active on {args.as_of} (no end date on or before "
                     "it); survival models need at least one")
    elif args.start:
        loaded = _load_counting_process(args, extra, unit)
        event_where = f"column '{args.event}'"
    elif args.duration:
        loaded = io.load_customer_table(args.data, args.duration, args.event, columns=extra, entry=args.entry,
                                        unit=unit)
        event_where = f"column '{args.event}'"
    else:
        frame = io.read_table(args.data)
        if not is_account_table(frame):
            raise InputError(args.data, None, "say how to read it: --duration COL --event COL (customer table), "
                                              "--as-of DATE (subscription table) or --cohorts (survivor table)")
        io.require_columns(frame, extra, args.data)
        if len(frame) == 0:
            raise InputError(args.data, None, "the table has no rows (only a header)")
        numeric = frame.copy()
        for column, values in io.check_account_columns(frame, args.data).items():
            numeric[column] = values
        table = survival_data_from_accounts(numeric, unit=unit)
        for column in extra:
            table[column] = frame[column].to_numpy()
        loaded = io.SurvivalData(table["duration"].to_numpy(float), table["event"].to_numpy(float),
                                 table["entry"].to_numpy(float), table, unit=unit, source=str(args.data),
                                 notes=["simulated account table: initial-book accounts are left-truncated at day 0"],
                                 columns={"duration": "start/end", "event": "churned"})
        event_where = "column 'churned'"
    if args.cause:
        # Coded before prepare_tenure drops rows, so that a message names the file's own row.
        from csim.forecast.competing import cause_codes

        codes, labels = cause_codes(loaded.events, loaded.frame[args.cause], source=str(args.data), column=args.cause,
                                    notes=loaded.notes)
        loaded.frame = loaded.frame.assign(**{CAUSE_CODE: codes})
        loaded.cause_labels = labels
    loaded = io.prepare_tenure(loaded, event_where, no_events)
    references = parse_reference(args.reference)
    group_reference = None
    if args.group:
        groups = _group_labels(loaded.frame, args.group, args.data)
        if args.group in references and args.group not in args.covariates:
            group_reference = references.pop(args.group)
            if group_reference not in set(groups):
                raise InputError("--reference", f"{args.group}={group_reference}",
                                 f"no such level; levels are {', '.join(sorted(set(groups)))}")
    else:
        groups = None
    design = encoding = None
    if args.covariates:
        design, encoding = encode_covariates(loaded.frame, args.covariates, references, source=str(args.data))
    elif references:
        raise InputError("--reference", None, f"{sorted(references)[0]!r} is not one of the covariates or the group")
    return loaded, design, encoding, groups, group_reference


#: Column of the coded churn cause carried along the rows (csim.forecast.competing.cause_codes).
CAUSE_CODE = "_cause_code"


def _load_counting_process(args, extra: list[str], unit: str):
    """A counting-process table as left-truncated rows (entry = start), checked by
    :func:`csim.forecast.counting.counting_process` and in its order (customer, then start)."""
    from csim.forecast import data as io
    from csim.forecast.counting import counting_process

    frame = io.read_table(args.data)
    io.require_columns(frame, extra, args.data)  # the row columns are counting_process's to check
    table = counting_process(frame, id=args.id, start=args.start, stop=args.duration, event=args.event,
                             source=str(args.data))
    rows = frame.iloc[table.row - 1].reset_index(drop=True)
    note = (f"counting-process table: {len(table):,} rows of {table.n_subjects:,} customers, each row a stretch "
            f"({args.start}, {args.duration}] of tenure; every model reads a row as observed from its start (left "
            "truncation), which for the Cox model makes covariates time-varying")
    return io.SurvivalData(table.stop, table.event, table.start, rows, unit=unit, source=str(args.data), notes=[note],
                           columns={"duration": args.duration, "event": args.event, "entry": args.start},
                           subjects=table.n_subjects)


def _group_labels(frame, column: str, source, at_least: int = 2):
    """The column's labels as text; blank ones refused (and a single group, where groups are compared)."""
    from csim.forecast.data import _blank, _first_row

    values = frame[column]
    blank = _blank(values)
    if blank.any():
        raise InputError(source, f"column '{column}', row {_first_row(blank)}",
                         "empty group (fill or drop rows without a group first)")
    labels = values.astype(str).str.strip().to_numpy()
    if len(set(labels)) < at_least:
        raise InputError(source, f"column '{column}'", f"has a single group ({labels[0]!r}); nothing to compare")
    return labels


def _load_cohorts(args):
    from csim.forecast import data as io

    if args.survivors:
        cohorts = [io.parse_survivors(text) for text in args.survivors]
        labels = [f"cohort {i + 1}" for i in range(len(cohorts))]
        io.check_cohorts(cohorts, "--survivors", lambda c, i: f"value {i + 1}")
        return "--survivors", labels, cohorts
    labels, cohorts = io.load_cohort_table(args.data)
    return str(args.data), labels, cohorts


def _check_backtest_periods(k: int | None, last: float, what: str) -> None:
    if k is not None and k >= last:
        raise InputError("--backtest-periods", None, f"must be below {last:g}, {what}, so that later periods are "
                                                     f"left to score; got {k}")


# ---------------------------------------------------------------------------- command


def run_forecast(args) -> int:
    """Handler of ``csim forecast``; returns the exit status."""
    import sys

    import numpy as np

    from csim.forecast.analysis import Diagnostics, analyse_cohorts, analyse_tenure
    from csim.forecast.report import write_forecast
    from csim.io import check_output_dir

    # --out is replaced whole on success: refuse a file, an unwritable place, the folder holding
    # DATA, or a folder of other files, before any work.
    check_output_dir(args.out, inputs=[args.data])
    options = _options(args)
    _check_combination(args)
    # Warnings outside the fits (reading the table, say) are kept as notes too, never printed.
    stray = Diagnostics()
    with stray.watch("input", "read"):
        if args.survivors or args.cohorts:
            source, labels, cohorts = _load_cohorts(args)
            _check_backtest_periods(args.backtest_periods, max(len(c) for c in cohorts) - 1,
                                    "the last period of the longest cohort")
            result = analyse_cohorts(labels, cohorts, options, source=source)
        else:
            loaded, design, encoding, groups, group_reference = _load_tenure(args)
            last = float(np.floor(np.max(loaded.durations[loaded.events > 0])))
            _check_backtest_periods(args.backtest_periods, last, "the tenure of the last churn")
            causes = None
            if args.cause:
                causes = (loaded.frame[CAUSE_CODE].to_numpy(), loaded.cause_labels)
            strata = None
            if args.strata:
                strata = (args.strata, _group_labels(loaded.frame, args.strata, args.data, at_least=1))
            result = analyse_tenure(loaded, options, covariates=design, encoding=encoding, groups=groups,
                                    group_name=args.group, group_reference=group_reference, causes=causes,
                                    strata=strata)
    result["numerical_warnings"] += stray.records()
    result["notes"] += stray.notes()
    paths = write_forecast(result, args.out, command=sys.argv[1:] if sys.argv else None)
    print(f"csim forecast: wrote {', '.join(p.name for p in paths)} to {args.out}")
    return 0
