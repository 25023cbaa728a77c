# R half of the reference values for tests/forecast/test_quality.py; called by
# quality_make_reference.py (which says how it was run). Usage: Rscript quality_make_reference.R DIR
#
# 1. Model predictions S_i(t) on the small data sets: a Cox model (Breslow ties) for data set A and
#    Kaplan-Meier per group, fitted to the training part, for data set C.
# 2. Independent Brier and AUC values in the "graf" convention from survival::rttright, the
#    redistribute-to-the-right (IPCW) weights of R's survival package: 1/G(T_i-) for a churn at
#    T_i <= t, 1/G(t-) for a customer known active at t, 0 for one censored before t. At a time t
#    that is not a censoring time this is exactly Graf et al.'s estimator, so the R grids below
#    avoid censoring times.
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args)) args[1] else "."
rd <- function(name) read.csv(file.path(dir, name))
wr <- function(x, name) write.csv(x, file.path(dir, name), row.names = FALSE)

step_at <- function(sf, times) {
  # survival at `times` from a survfit object, one column per curve (right-continuous, 1 before the first churn)
  s <- summary(sf, times = times, extend = TRUE)
  matrix(s$surv, nrow = length(times))
}

# ---- data set A: Cox model on all customers, predictions at the integer and half-integer grids
A <- rd("quality_A_data.csv")
grid_a <- rd("quality_A_grids.csv")
fit <- coxph(Surv(duration, event) ~ x, data = A, ties = "breslow")
sf <- survfit(fit, newdata = A, stype = 2, ctype = 1)  # Breslow baseline: exp(-cumulative hazard)
for (g in unique(grid_a$grid)) {
  tt <- grid_a$t[grid_a$grid == g]
  S <- t(step_at(sf, tt))
  colnames(S) <- paste0("t", tt)
  wr(S, sprintf("quality_A_survival_%s.csv", g))
}

# ---- data set C: Kaplan-Meier per group on the training customers, predicted for the test customers
Ctr <- rd("quality_C_train.csv")
Cte <- rd("quality_C_test.csv")
grid_c <- rd("quality_C_grids.csv")
km <- survfit(Surv(duration, event) ~ group, data = Ctr)
for (g in unique(grid_c$grid)) {
  tt <- grid_c$t[grid_c$grid == g]
  S0 <- step_at(km["group=0"], tt)
  S1 <- step_at(km["group=1"], tt)
  S <- t(sapply(Cte$group, function(k) if (k == 0) S0 else S1))
  if (length(tt) == 1) S <- t(S)
  colnames(S) <- paste0("t", tt)
  wr(S, sprintf("quality_C_survival_%s.csv", g))
}

# ---- rttright-based Brier score and AUC ("graf" convention) on grids without censoring times
r_scores <- function(data, S, times) {
  # data: duration, event of the scored customers (G from the same customers); S: n x times
  w <- rttright(Surv(duration, event) ~ 1, data = data, times = times)
  w <- matrix(w, ncol = length(times))
  out <- data.frame(t = times, brier = NA_real_, auc = NA_real_)
  for (k in seq_along(times)) {
    tk <- times[k]
    stopifnot(!any(data$duration == tk & data$event == 0))  # not a censoring time
    alive <- as.numeric(data$duration > tk)
    out$brier[k] <- mean(w[, k] * (alive - S[, k])^2)
    case <- data$duration <= tk & data$event == 1
    ctrl <- data$duration > tk
    risk <- 1 - S[, k]
    if (any(case) && any(ctrl)) {
      num <- 0
      for (i in which(case)) {
        num <- num + w[i, k] * (sum(risk[i] > risk[ctrl]) + 0.5 * sum(risk[i] == risk[ctrl]))
      }
      out$auc[k] <- num / (sum(w[case, k]) * sum(ctrl))
    }
  }
  out
}
SA <- as.matrix(rd("quality_A_survival_half.csv"))
wr(r_scores(A, SA, grid_a$t[grid_a$grid == "half"]), "quality_A_R_half.csv")
B <- rd("quality_B_data.csv")
SB <- as.matrix(rd("quality_B_survival.csv"))
wr(r_scores(B, SB, rd("quality_B_grids.csv")$t), "quality_B_R.csv")

writeLines(c(R.version.string, paste("survival", as.character(packageVersion("survival")))),
           file.path(dir, "quality_R_versions.txt"))
