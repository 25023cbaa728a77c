"""``csim forecast``: survival curves, models, projections and backtests from a table or cohorts.

Inputs (one of):

* ``DATA --duration COL --event COL`` — a customer table (CSV or Parquet);
* ``DATA --as-of DATE`` — a subscription table with ``customer_id, start_date, end_date``;
* ``DATA`` with the simulator's account columns (start, entry, end, churned);
* ``DATA --cohorts`` — a survivor table, one row per cohort; or ``--survivors 1000,631,…``
  (repeat the option for several cohorts).
"""

from __future__ import annotations

import argparse

from csim.errors import InputError


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
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", nargs="?", help="CSV or Parquet file (omit with --survivors)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--horizon", type=int, default=24, help="periods to project (default 24)")
    p.add_argument("--at", type=_floats, default=[3.0, 6.0, 12.0], help="tenures to report survival at (default 3,6,12)")
    g = p.add_argument_group("customer table")
    g.add_argument("--duration", help="tenure column (months unless --unit)")
    g.add_argument("--event", help="churn column: 1 churned, 0 still active")
    g.add_argument("--entry", help="optional column: tenure when observation began (left truncation)")
    g.add_argument("--covariates", type=_names, default=[], help="columns explaining churn, e.g. company_size,csat_score")
    g.add_argument("--reference", action="append", default=[], metavar="COL=LEVEL",
                   help="reference level of a categorical covariate (repeatable)")
    g.add_argument("--group", help="column whose groups to compare (KM per group, log-rank, Cox)")
    s = p.add_argument_group("subscription table")
    s.add_argument("--as-of", help="date the data was extracted (YYYY-MM-DD); derives tenure and censoring")
    s.add_argument("--id-column", default="customer_id")
    s.add_argument("--start-column", default="start_date")
    s.add_argument("--end-column", default="end_date")
    c = p.add_argument_group("cohorts")
    c.add_argument("--survivors", action="append", default=[], metavar="N0,N1,…",
                   help="customers active at periods 0,1,2,… of one cohort (repeat for several)")
    c.add_argument("--cohorts", action="store_true", help="DATA is a survivor table: one row per cohort")
    m = p.add_argument_group("models and projections")
    m.add_argument("--models", type=_names, default=None,
                   help="subset of exponential,weibull,lognormal,loglogistic,sbg,bdw (default: all that apply)")
    m.add_argument("--backtest-periods", type=int, help="fit on the first K periods, score the rest (default: half)")
    m.add_argument("--unit", choices=["months", "days", "years"], default="months", help="tenure unit of account tables")
    m.add_argument("--arpa", type=float, default=1.0, help="revenue per customer per period (default 1: LTV in ARPA)")
    m.add_argument("--expansion-rate", type=float, default=0.0, help="revenue growth of survivors per period")
    m.add_argument("--discount-rate", type=float, default=0.0, help="annual discount rate, e.g. 0.10")
    m.add_argument("--periods-per-year", type=float, default=12.0, help="to convert the annual discount rate (default 12)")
    m.add_argument("--gross-margin", type=float, default=1.0)
    m.add_argument("--cohort-size", type=float, help="customers in the projected cohort (default: the data's)")
    m.add_argument("--draws", type=int, default=2000, help="parameter draws for the bands")
    m.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=run_forecast)


def _options(args):
    from csim.forecast.analysis import ForecastOptions
    from csim.forecast.cohort import COHORT_MODELS
    from csim.forecast.parametric import PARAMETRIC_MODELS

    known = set(PARAMETRIC_MODELS) | set(COHORT_MODELS)
    for name in args.models or []:
        if name not in known:
            raise InputError("--models", name, f"unknown model; choose from {', '.join(sorted(known))}")
    if args.horizon < 1:
        raise InputError("--horizon", None, "must be at least 1 period")
    return ForecastOptions(
        horizon=args.horizon, at=args.at, models=args.models, backtest_periods=args.backtest_periods,
        arpa=args.arpa, expansion_rate=args.expansion_rate,
        discount_rate=(1.0 + args.discount_rate) ** (1.0 / args.periods_per_year) - 1.0,
        gross_margin=args.gross_margin, cohort_size=args.cohort_size, draws=args.draws, seed=args.seed)


def _load_tenure(args):
    """Customer, subscription or account table → (SurvivalData, design, encoding, groups)."""
    from csim.forecast import data as io
    from csim.forecast.accounts import is_account_table, survival_data_from_accounts
    from csim.forecast.covariates import encode_covariates, parse_reference

    extra = list(args.covariates) + ([args.group] if args.group else [])
    if args.as_of:
        loaded = io.load_subscription_table(args.data, args.as_of, args.id_column, args.start_column,
                                            args.end_column, columns=extra)
    elif args.duration or args.event:
        if not (args.duration and args.event):
            raise InputError(args.data, None, "give both --duration and --event")
        loaded = io.load_customer_table(args.data, args.duration, args.event, columns=extra, entry=args.entry)
    else:
        frame = io.read_table(args.data)
        if not is_account_table(frame):
            raise InputError(args.data, None, "say how to read it: --duration COL --event COL (customer table), "
                                              "--as-of DATE (subscription table) or --cohorts (survivor table)")
        for column in ("start", "entry", "end"):
            io.numeric_column(frame, column, args.data)
        io.event_column(frame, "churned", args.data)
        io.require_columns(frame, extra, args.data)
        numeric = frame.copy()
        for column in ("start", "entry", "end"):
            numeric[column] = io.numeric_column(frame, column, args.data)
        numeric["churned"] = io.event_column(frame, "churned", args.data)
        table = survival_data_from_accounts(numeric, unit=args.unit)
        for column in extra:
            table[column] = frame[column].to_numpy()
        loaded = io.SurvivalData(table["duration"].to_numpy(float), table["event"].to_numpy(float),
                                 table["entry"].to_numpy(float), table, unit=args.unit, source=str(args.data),
                                 notes=["simulated account table: initial-book accounts are left-truncated at day 0"])
    design = encoding = None
    if args.covariates:
        design, encoding = encode_covariates(loaded.frame, args.covariates, parse_reference(args.reference),
                                             source=str(args.data))
    groups = loaded.frame[args.group].astype(str).to_numpy() if args.group else None
    return loaded, design, encoding, groups


def run_forecast(args) -> int:
    """Handler of ``csim forecast``; returns the exit status."""
    import sys

    from csim.forecast.analysis import analyse_cohorts, analyse_tenure
    from csim.forecast.report import write_forecast

    options = _options(args)
    if args.survivors or args.cohorts:
        from csim.forecast import data as io

        if args.survivors:
            if args.data:
                raise InputError(args.data, None, "give either DATA or --survivors, not both")
            cohorts = [io.parse_survivors(text) for text in args.survivors]
            labels = [f"cohort {i + 1}" for i in range(len(cohorts))]
        else:
            if not args.data:
                raise InputError("--cohorts", None, "needs DATA, the survivor table")
            labels, cohorts = io.load_cohort_table(args.data)
        result = analyse_cohorts(labels, cohorts, options)
    else:
        if not args.data:
            raise InputError("csim forecast", None, "give DATA (a table) or --survivors")
        loaded, design, encoding, groups = _load_tenure(args)
        if groups is not None and len(set(groups)) < 2:
            raise InputError(args.data, f"column '{args.group}'", "has a single group; nothing to compare")
        result = analyse_tenure(loaded, options, covariates=design, encoding=encoding, groups=groups,
                                group_name=args.group)
    paths = write_forecast(result, args.out, command=sys.argv[1:] if sys.argv else None)
    print(f"csim forecast: wrote {', '.join(p.name for p in paths)} to {args.out}")
    return 0
