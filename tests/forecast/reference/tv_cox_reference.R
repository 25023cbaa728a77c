# Reference values for Cox regression on counting-process (start, stop] rows with time-varying
# covariates (csim.forecast.counting, tests/forecast/test_counting.py).
#
# Generated ONCE, then stored next to this script; the tests read the stored CSVs and never need R.
# Run from the repository root:
#     Rscript tests/forecast/reference/tv_cox_reference.R
# Last run with R 4.2.2 Patched (2022-11-10 r83330) and survival 3.5.3 (Debian r-cran-survival);
# every output file records the versions that made it in its first line. The data are drawn with
# R's own generator from a fixed seed, so a rerun with the same R rewrites the same files.
#
# Outputs (all in tests/forecast/reference/):
#   tv_cox_data.csv    the counting-process table: id, start, stop, event, x1, x2. 300 customers
#                      followed month by month (whole-month churn times: many ties); 30 % are
#                      left-truncated (first row starts at a whole month > 0); x1 (continuous) is
#                      redrawn at cut points that fall on whole months (which coincide with other
#                      customers' churn months: R counts a row at risk at t only if start < t <= stop)
#                      and on half months; x2 (0/1) flips once for some customers; some customers
#                      have a gap (a middle row removed: not at risk then); rows are shuffled.
#   tv_cox_values.csv  coxph(Surv(start, stop, event) ~ x1 + x2) with ties = "efron" and "breslow":
#                      coef, model-based se (no cluster term), partial log-likelihood at the
#                      estimate, rows, events and customers.
suppressPackageStartupMessages(library(survival))

source("tests/forecast/reference/reference_io.R")
write_ref <- reference_writer("tv_cox_reference.R")

set.seed(20240611)
n <- 300
rows <- list()
for (i in seq_len(n)) {
  entry <- if (runif(1) < 0.3) sample(1:6, 1) else 0
  horizon <- entry + sample(6:30, 1)                    # censored here if still active
  # Cut points: whole months and half months inside (entry, horizon).
  grid <- seq(entry + 0.5, horizon - 0.5, by = 0.5)
  cuts <- sort(grid[runif(length(grid)) < 0.12])
  bounds <- c(entry, cuts, horizon)
  k <- length(bounds) - 1
  x1 <- round(rnorm(k), 3)
  x2 <- rep(rbinom(1, 1, 0.5), k)
  if (k > 1 && runif(1) < 0.4) {                        # x2 flips once, at a cut point
    j <- sample(2:k, 1)
    x2[j:k] <- 1 - x2[j]
  }
  # Churn month by month: a constant hazard over (m - 1, m] at the covariates holding at m.
  stop_at <- horizon
  event <- 0
  for (m in seq(entry + 1, horizon)) {
    piece <- findInterval(m, bounds, left.open = TRUE)
    hazard <- 0.05 * exp(0.6 * x1[piece] - 0.5 * x2[piece])
    if (runif(1) < 1 - exp(-hazard)) {
      stop_at <- m
      event <- 1
      break
    }
  }
  keep <- bounds[-length(bounds)] < stop_at
  start <- bounds[seq_len(k)][keep]
  stop <- pmin(bounds[-1][keep], stop_at)
  ev <- c(rep(0, sum(keep) - 1), event)
  rows_i <- data.frame(id = i, start = start, stop = stop, event = ev, x1 = x1[keep], x2 = x2[keep])
  if (nrow(rows_i) >= 3 && runif(1) < 0.25) {           # a gap: one middle row missing
    rows_i <- rows_i[-sample(2:(nrow(rows_i) - 1), 1), ]
  }
  rows[[i]] <- rows_i
}
data <- do.call(rbind, rows)
data <- data[sample(nrow(data)), ]
stopifnot(all(data$start < data$stop), all(data$start >= 0))
write_ref(data, "tv_cox_data.csv")

values <- list()
for (ties in c("efron", "breslow")) {
  fit <- coxph(Surv(start, stop, event) ~ x1 + x2, data = data, ties = ties)
  values[[ties]] <- data.frame(ties = ties, covariate = names(coef(fit)), coef = unname(coef(fit)),
                               se = unname(sqrt(diag(vcov(fit)))), loglik = fit$loglik[2], rows = fit$n,
                               events = fit$nevent, customers = length(unique(data$id)))
}
write_ref(do.call(rbind, values), "tv_cox_values.csv")
