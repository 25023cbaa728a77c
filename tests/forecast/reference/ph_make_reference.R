# Reference values of R's cox.zph (Grambsch-Therneau score test of proportional hazards and
# scaled Schoenfeld residuals) for tests/forecast/test_ph_test.py.
#
# How it was run (once; the test suite reads the CSV files and never needs R):
#
#     cd tests/forecast/reference && Rscript ph_make_reference.R
#
# with R 4.2.2 Patched (2022-11-10 r83330) and survival 3.5.3 (Debian r-cran-survival); the
# versions are also written to ph_reference_versions.txt. Rerunning rewrites the same files with
# the same numbers (fixed seed; the data are written to CSV and read back before fitting, so R
# and Python fit exactly the numbers in the CSV).
#
# Files written next to this script:
#   ph_data_sim.csv        300 simulated customers: whole-month tenures (many ties, churn and
#                          censoring at the same tenures), left-truncation entry tenures that tie
#                          with churn tenures, a numeric x, a 0/1 b (its effect fades with tenure:
#                          not proportional), a 3-level size, a 2-level stratum and bn = b in the
#                          north stratum, 0 in the south (constant within a stratum: R leaves its
#                          scaled residuals there NA).
#   ph_data_veteran.csv    survival::veteran (lung cancer trial, 137 patients), as shipped with R.
#   ph_reference_cases.csv one row per fitted model: data, Surv form (entry or not), strata, ties,
#                          covariates (a text covariate is a factor: one term with one column per
#                          non-reference level, R's treatment contrasts).
#   ph_reference_coef.csv  coxph coefficients (iterated to eps = 1e-14) with the column names of
#                          the design: term, level (empty for numeric covariates), coef.
#   ph_reference_table.csv cox.zph(fit, transform)$table for transforms km, rank, identity:
#                          case, transform, term (covariate or GLOBAL), chisq, df, p.
#   ph_reference_resid.csv cox.zph(fit, transform): for each churn, its 0-based row in the data
#                          file (recovered from the sort order cox.zph uses, checked against
#                          zph$time), the tenure, the transformed tenure zph$x under each
#                          transform (x_km, x_rank, x_identity) and the scaled Schoenfeld
#                          residual zph$y of each term (the same under every transform).
suppressMessages(library(survival))
options(digits = 17)

wr <- function(x, name) write.csv(x, name, row.names = FALSE)
versions <- c(R.version.string, paste("survival", as.character(packageVersion("survival"))))
writeLines(versions, "ph_reference_versions.txt")

# ---- data ------------------------------------------------------------------------------------
set.seed(20240607)
n <- 300
x <- round(rnorm(n), 4)
b <- rbinom(n, 1, 0.5)
size <- sample(c("1-10", "10-50", "50-100"), n, replace = TRUE)
stratum <- sample(c("north", "south"), n, replace = TRUE)
# b = 1: decreasing hazard (shape 0.7), b = 0: increasing (shape 1.6): crossing hazards.
latent <- ceiling(rweibull(n, shape = ifelse(b == 1, 0.7, 1.6),
                           scale = 8 * exp(-0.3 * x + 0.2 * (size == "50-100"))))
censor <- ceiling(runif(n, 0, 20))
time <- pmin(latent, censor)
event <- as.integer(latent <= censor)
# About 40 % enter late, at a whole month before their exit (ties with other customers' churns).
entry <- ifelse(runif(n) < 0.4, floor(runif(n) * time), 0)
# b in the north only: constant (0) in the south stratum, where R leaves its scaled residuals NA.
bn <- b * (stratum == "north")
wr(data.frame(time, event, entry, x, b, size, stratum, bn), "ph_data_sim.csv")
wr(veteran, "ph_data_veteran.csv")

data <- list(sim = read.csv("ph_data_sim.csv", colClasses = c(size = "character", stratum = "character")),
             veteran = read.csv("ph_data_veteran.csv", colClasses = c(celltype = "character")))
# Factor levels: sorted for the simulated data, R's own order for veteran's celltype.
data$veteran$celltype <- factor(data$veteran$celltype, levels = levels(veteran$celltype))
data$sim$size <- factor(data$sim$size)

cases <- data.frame(
  case =       c("rc_efron",  "rc_breslow", "trunc_strata_efron", "trunc_breslow", "rc_strata_breslow", "strata_constant",
                 "veteran"),
  data =       c("sim",       "sim",        "sim",                "sim",           "sim",               "sim",
                 "veteran"),
  duration =   c("time",      "time",       "time",               "time",          "time",              "time",
                 "time"),
  event =      c("event",     "event",      "event",              "event",         "event",             "event",
                 "status"),
  entry =      c("",          "",           "entry",              "entry",         "",                  "entry",
                 ""),
  strata =     c("",          "",           "stratum",            "",              "stratum",           "stratum",
                 ""),
  ties =       c("efron",     "breslow",    "efron",              "breslow",       "breslow",           "efron",
                 "efron"),
  covariates = c("x+b+size",  "x+b+size",   "x+b+size",           "x+b",           "x+size",            "x+bn+size",
                 "trt+celltype+karno+age"),
  stringsAsFactors = FALSE)
wr(cases, "ph_reference_cases.csv")

# ---- fits and tests ----------------------------------------------------------------------------
coef_rows <- list(); table_rows <- list(); resid_rows <- list()
for (i in seq_len(nrow(cases))) {
  cs <- cases[i, ]
  df <- data[[cs$data]]
  lhs <- if (nzchar(cs$entry)) sprintf("Surv(%s, %s, %s)", cs$entry, cs$duration, cs$event)
         else sprintf("Surv(%s, %s)", cs$duration, cs$event)
  rhs <- cs$covariates
  if (nzchar(cs$strata)) rhs <- paste0(rhs, " + strata(", cs$strata, ")")
  fit <- coxph(as.formula(paste(lhs, "~", rhs)), data = df, ties = cs$ties,
               control = coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100))
  # Which term and level each coefficient belongs to.
  terms <- strsplit(cs$covariates, "+", fixed = TRUE)[[1]]
  asgn <- fit$assign
  for (term in terms) {
    cols <- asgn[[term]]
    level <- if (is.factor(df[[term]])) levels(df[[term]])[-1] else ""
    coef_rows[[length(coef_rows) + 1]] <- data.frame(case = cs$case, term = term, level = level,
                                                     name = names(coef(fit))[cols], coef = unname(coef(fit)[cols]))
  }
  # The 0-based data row of each churn in cox.zph's order (see survival:::cox.zph).
  istrat <- if (nzchar(cs$strata)) as.integer(factor(df[[cs$strata]])) - 1L else rep(0L, nrow(df))
  ev <- df[[cs$event]] == 1
  stop_time <- df[[cs$duration]]
  if (nzchar(cs$entry)) idx <- rev(order(-istrat, -stop_time)) else idx <- order(istrat, stop_time)
  idx <- idx[ev[idx]]
  xs <- list(); y_first <- NULL
  for (transform in c("km", "rank", "identity")) {
    z <- cox.zph(fit, transform = transform)
    stopifnot(isTRUE(all.equal(unname(z$time), stop_time[idx])))
    table_rows[[length(table_rows) + 1]] <- data.frame(case = cs$case, transform = transform,
                                                       term = rownames(z$table), chisq = z$table[, "chisq"],
                                                       df = z$table[, "df"], p = z$table[, "p"])
    xs[[transform]] <- unname(z$x)
    # The scaled residuals do not depend on the transform (only their x axis does).
    if (is.null(y_first)) y_first <- unclass(z$y) else stopifnot(identical(y_first, unclass(z$y)))
  }
  for (term in colnames(y_first)) {
    resid_rows[[length(resid_rows) + 1]] <- data.frame(case = cs$case, row = idx - 1L, time = stop_time[idx],
                                                       x_km = xs$km, x_rank = xs$rank, x_identity = xs$identity,
                                                       term = term, y = unname(y_first[, term]))
  }
}
fmt <- function(frame) {  # 17 significant digits, so the CSV holds R's doubles exactly
  for (col in names(frame)) if (is.double(frame[[col]])) frame[[col]] <- sprintf("%.17g", frame[[col]])
  frame
}
wr(fmt(do.call(rbind, coef_rows)), "ph_reference_coef.csv")
wr(fmt(do.call(rbind, table_rows)), "ph_reference_table.csv")
wr(fmt(do.call(rbind, resid_rows)), "ph_reference_resid.csv")
