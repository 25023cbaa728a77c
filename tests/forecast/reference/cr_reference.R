# Reference values for csim.forecast.competing (tests/forecast/test_competing.py).
#
# Generated ONCE, then stored next to this script; the tests read the stored CSVs and never need R.
# Run from the repository root:
#     Rscript tests/forecast/reference/cr_reference.R
# Last run with R 4.2.2 Patched (2022-11-10 r83330) and survival 3.5.3 (Debian r-cran-survival);
# every output file records the versions that made it in its first line.
#
# Outputs (all in tests/forecast/reference/):
#   cr_data.csv         competing-risks data: whole-number exit times (many ties), three causes
#                       (0 = censored), 40 % of rows left-truncated at whole-number entries, some
#                       of which coincide with event times (R counts a row at risk at t only if
#                       entry < t <= exit); and a second, Cox-oriented set (see below).
#   cr_aj.csv           survfit() multi-state Aalen-Johansen: per time and state pstate, std.err
#                       and the "log" (R's default) and "log-log" intervals, for the counting-process
#                       form Surv(entry, exit, factor(cause)) with id, and the right-censored form
#                       Surv(exit, factor(cause)) that ignores entry.
#   cr_cox.csv          coxph(Surv(entry, exit, cause == k) ~ x1 + x2) (Efron ties), coefficients
#                       and standard errors per cause k; data in cr_cox_data.csv. Entries there are
#                       0 or half-integers and exits whole numbers, so no entry equals an event time.
suppressPackageStartupMessages(library(survival))

source("tests/forecast/reference/reference_io.R")
write_ref <- reference_writer("cr_reference.R")

# ---------------------------------------------------------------- Aalen-Johansen data
set.seed(20240607)
n <- 400
truncated <- runif(n) < 0.4
entry <- ifelse(truncated, floor(runif(n, 0, 12)), 0)
t1 <- rexp(n, 0.05)     # cause 1 (e.g. voluntary), per month
t2 <- rexp(n, 0.03)     # cause 2 (e.g. involuntary)
t3 <- rexp(n, 0.006)    # cause 3: rare
cens <- runif(n, 3, 50)
first <- pmin(t1, t2, t3)
cause <- ifelse(cens < first, 0L, ifelse(t1 == first, 1L, ifelse(t2 == first, 2L, 3L)))
exit <- entry + pmax(1, ceiling(pmin(first, cens)))   # whole months: ties; exit > entry
aj_data <- data.frame(id = seq_len(n), entry = entry, exit = exit, cause = cause)
write_ref(aj_data, "cr_data.csv")

states_frame <- function(fit, form) {
  rows <- list()
  for (conf in c("log", "log-log")) {
    ci <- survival:::survfit_confint(fit$pstate, fit$std.err, logse = FALSE, conf.type = conf,
                                     conf.int = 0.95)
    for (j in seq_along(fit$states)) {
      rows[[length(rows) + 1]] <- data.frame(
        form = form, conf_type = conf, state = fit$states[j], time = fit$time, n_risk = fit$n.risk[, j],
        pstate = fit$pstate[, j], std_err = fit$std.err[, j], lower = ci$lower[, j], upper = ci$upper[, j])
    }
  }
  do.call(rbind, rows)
}
fit_cp <- survfit(Surv(entry, exit, factor(cause)) ~ 1, data = aj_data, id = id)
fit_rc <- survfit(Surv(exit, factor(cause)) ~ 1, data = aj_data)
# Sanity: survfit's own intervals (conf.type "log") are the ones survfit_confint gives.
stopifnot(isTRUE(all.equal(fit_cp$lower, survival:::survfit_confint(fit_cp$pstate, fit_cp$std.err,
  logse = FALSE, conf.type = "log", conf.int = 0.95)$lower)))
write_ref(rbind(states_frame(fit_cp, "counting"), states_frame(fit_rc, "right")), "cr_aj.csv")

# ---------------------------------------------------------------- cause-specific Cox
set.seed(424242)
n <- 1500
x1 <- rbinom(n, 1, 0.5)
x2 <- rnorm(n)
entry <- ifelse(runif(n) < 0.3, floor(runif(n, 0, 10)) + 0.5, 0)
t1 <- rexp(n, 0.04 * exp(0.7 * x1 - 0.4 * x2))
t2 <- rexp(n, 0.02 * exp(-0.5 * x1 + 0.2 * x2))
cens <- runif(n, 5, 60)
first <- pmin(t1, t2)
cause <- ifelse(cens < first, 0L, ifelse(t1 < t2, 1L, 2L))
exit <- ceiling(entry + pmin(first, cens))            # whole numbers > entry: ties among exits
cox_data <- data.frame(id = seq_len(n), entry = entry, exit = exit, cause = cause, x1 = x1, x2 = x2)
write_ref(cox_data, "cr_cox_data.csv")
rows <- list()
for (k in 1:2) {
  fit <- coxph(Surv(entry, exit, cause == k) ~ x1 + x2, data = cox_data, ties = "efron")
  rows[[k]] <- data.frame(cause = k, covariate = names(coef(fit)), coef = unname(coef(fit)),
                          se = unname(sqrt(diag(vcov(fit)))), loglik = fit$loglik[2], events = fit$nevent)
}
write_ref(do.call(rbind, rows), "cr_cox.csv")
