# Reference values for stratified Cox predictions: per-stratum baseline survival
# (csim.forecast.cox.CoxPH with strata, tests/forecast/test_stratified.py).
#
# Generated ONCE, then stored next to this script; the tests read the stored CSVs and never need R.
# Run from the repository root:
#     Rscript tests/forecast/reference/strata_reference.R
# Last run with R 4.2.2 Patched (2022-11-10 r83330) and survival 3.5.3 (Debian r-cran-survival);
# every output file records the versions that made it in its first line. The data are drawn with
# R's own generator from a fixed seed and written to CSV and read back before fitting, so a rerun
# with the same R rewrites the same files and R and Python fit exactly the numbers in the CSV.
#
# Model: coxph(Surv(entry, time, event) ~ x1 + x2 + strata(plan), ties = "efron"), iterated to
# eps = 1e-14 (toler.chol = 1e-15, below eps as R asks). Predictions:
# survfit(fit, newdata, stype = 2, ctype = 1), i.e.
# S_k(t | x) = exp(-H0_k(t) * exp(x'beta)) with H0_k the Breslow (Nelson-Aalen type) cumulative
# baseline hazard of stratum k: sum over churn times s <= t in k of churns(s) / sum of
# exp(x'beta) over the customers of k at risk at s (entry < s <= time). That is the estimator csim
# computes. R's default for an Efron fit (ctype = 2) spreads the tied churns of a time over the
# risk set as the Efron partial likelihood does; it is stored too (survival_ctype2), so the test can
# show the two differ by more than its tolerance on these data.
#
# Outputs (all in tests/forecast/reference/):
#   strata_data.csv      400 customers: whole-month tenures (many ties), 0/1 churn, entry tenure
#                        (35 % enter late, at a whole month before their exit: entries coincide
#                        with other customers' churn months, where the (entry, exit] convention
#                        decides who is at risk), x1 (continuous), x2 (0/1) and plan (3 strata
#                        with different baseline hazards: falling, flat and rising with tenure).
#   strata_coef.csv      coef, model-based se, partial log-likelihood at the estimate.
#   strata_survival.csv  per profile (label, plan, x1, x2) and tenure t: survival (stype = 2,
#                        ctype = 1) and survival_ctype2 (stype = 2, ctype = 2, R's default here).
suppressPackageStartupMessages(library(survival))

source("tests/forecast/reference/reference_io.R")
write_ref <- reference_writer("strata_reference.R")

# ---- data ------------------------------------------------------------------------------------
set.seed(20240615)
n <- 400
plan <- sample(c("basic", "pro", "team"), n, replace = TRUE, prob = c(0.4, 0.35, 0.25))
x1 <- round(rnorm(n), 4)
x2 <- rbinom(n, 1, 0.5)
shape <- c(basic = 0.7, pro = 1.0, team = 1.6)[plan]
scale <- c(basic = 9, pro = 12, team = 10)[plan]
# Proportional hazards within a stratum: log hazard ratios 0.5 (x1) and -0.4 (x2).
latent <- ceiling(rweibull(n, shape = shape, scale = scale * exp(-(0.5 * x1 - 0.4 * x2) / shape)))
censor <- ceiling(runif(n, 0, 24))
time <- pmin(latent, censor)
event <- as.integer(latent <= censor)
entry <- ifelse(runif(n) < 0.35, floor(runif(n) * time), 0)
stopifnot(all(entry < time))
write_ref(data.frame(time, event, entry, x1, x2, plan), "strata_data.csv")
data <- read.csv(file.path(out_dir, "strata_data.csv"), comment.char = "#",
                 colClasses = c(plan = "character"))

# ---- fit -------------------------------------------------------------------------------------
fit <- coxph(Surv(entry, time, event) ~ x1 + x2 + strata(plan), data = data, ties = "efron",
             control = coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100))
write_ref(data.frame(covariate = names(coef(fit)), coef = unname(coef(fit)),
                     se = unname(sqrt(diag(vcov(fit)))), loglik = fit$loglik[2], rows = fit$n,
                     events = fit$nevent), "strata_coef.csv")

# ---- predictions -----------------------------------------------------------------------------
# Four covariate profiles in every stratum; tenures before the first churn, on and between churn
# months, and past the last churn of a stratum (where the curve stays flat).
profiles <- data.frame(label = c("zero", "high_x1", "low_x1_x2", "mid_x2"),
                       x1 = c(0, 1.2, -0.8, 0.3), x2 = c(0, 0, 1, 1))
newdata <- merge(profiles, data.frame(plan = c("basic", "pro", "team")))
times <- c(0.5, 1, 2, 3.5, 6, 9, 12, 17.25, 23)
stopifnot(all(tapply(data$time, data$plan, max) >= max(times)))
rows <- list()
for (ctype in c(1, 2)) {
  sf <- survfit(fit, newdata = newdata, stype = 2, ctype = ctype)
  for (i in seq_len(nrow(newdata))) {
    # survfit keeps one curve per newdata row, each in the row's stratum.
    s <- summary(sf[i], times = times, extend = TRUE)
    stopifnot(all(s$time == times))
    rows[[paste(ctype, i)]] <- data.frame(ctype = ctype, label = newdata$label[i], plan = newdata$plan[i],
                                          x1 = newdata$x1[i], x2 = newdata$x2[i], t = times,
                                          surv = s$surv)
  }
}
long <- do.call(rbind, rows)
one <- long[long$ctype == 1, ]
two <- long[long$ctype == 2, ]
stopifnot(all(one$label == two$label), all(one$plan == two$plan), all(one$t == two$t))
write_ref(data.frame(label = one$label, plan = one$plan, x1 = one$x1, x2 = one$x2, t = one$t,
                     survival = one$surv, survival_ctype2 = two$surv), "strata_survival.csv")
