# R half of the reference values for tests/forecast/test_r_reference.py; called by
# make_r_reference.py (which writes the data, says how it was run and stores the output as JSON).
# Usage: Rscript make_r_reference.R DIR      prints one "REF,key,value" line per value.
#
# Conventions checked: left truncation with R's risk set entry < t <= exit (Surv(entry, exit,
# event)); Efron and Breslow ties; strata; concordance (Harrell's, timewt = "n", counted within
# strata, a pair comparable only when the shorter tenure is a churn inside the other's
# (entry, exit] interval); log p-values that do not underflow (log.p = TRUE).
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args)) args[1] else "."
rd <- function(name) read.csv(file.path(dir, name), stringsAsFactors = FALSE)
out <- function(key, value) {
  for (i in seq_along(value)) {
    k <- if (length(value) > 1 || !is.null(names(value))) paste0(key, ".", names(value)[i]) else key
    cat("REF,", k, ",", if (is.na(value[i])) "NA" else sprintf("%.17g", value[i]), "\n", sep = "")
  }
}
cat("REF,version.R,", R.version.string, "\n", sep = "")
cat("REF,version.survival,", as.character(packageVersion("survival")), "\n", sep = "")

conc_out <- function(key, cc) {
  out(paste0(key, ".concordance"), unname(cc$concordance))
  counts <- cc$count
  if (is.matrix(counts)) counts <- colSums(counts)
  out(paste0(key, ".count"), counts[c("concordant", "discordant", "tied.x", "tied.y", "tied.xy")])
}

cox_out <- function(key, fit) {
  out(paste0(key, ".coef"), coef(fit))
  out(paste0(key, ".se"), sqrt(diag(vcov(fit))))
  out(paste0(key, ".loglik"), fit$loglik[2])
  z <- coef(fit) / sqrt(diag(vcov(fit)))
  out(paste0(key, ".log10p"), (log(2) + pnorm(-abs(z), log.p = TRUE)) / log(10))
  conc_out(key, concordance(fit))
}

# ---------------------------------------------------------------- left truncation, ties, strata
d <- rd("rref_trunc.csv")
for (ties in c("efron", "breslow")) {
  cox_out(paste0("trunc.", ties, ".entry"),
          coxph(Surv(entry, exit, event) ~ x + g, data = d, ties = ties))
  cox_out(paste0("trunc.", ties, ".entry_strata"),
          coxph(Surv(entry, exit, event) ~ x + g + strata(s), data = d, ties = ties))
  cox_out(paste0("trunc.", ties, ".noentry"),
          coxph(Surv(exit, event) ~ x + g, data = d, ties = ties))
  cox_out(paste0("trunc.", ties, ".noentry_strata"),
          coxph(Surv(exit, event) ~ x + g + strata(s), data = d, ties = ties))
}
# Breslow baseline survival at x = g = 0 of the left-truncated Breslow fit (ctype 1 = Breslow
# cumulative hazard, stype 2 = exp(-H)), at every churn time.
fit <- coxph(Surv(entry, exit, event) ~ x + g, data = d, ties = "breslow")
sf <- survfit(fit, newdata = data.frame(x = 0, g = 0), ctype = 1, stype = 2)
keep <- sf$n.event > 0
s0 <- sf$surv[keep]
names(s0) <- sf$time[keep]
out("trunc.breslow.entry.surv0", s0)

conc_out("trunc.score.noentry", concordance(Surv(exit, event) ~ score, data = d, reverse = TRUE))
conc_out("trunc.score.entry", concordance(Surv(entry, exit, event) ~ score, data = d, reverse = TRUE))
conc_out("trunc.score.entry_strata",
         concordance(Surv(entry, exit, event) ~ score + strata(s), data = d, reverse = TRUE))
conc_out("trunc.score.noentry_strata",
         concordance(Surv(exit, event) ~ score + strata(s), data = d, reverse = TRUE))

sd <- survdiff(Surv(exit, event) ~ s, data = d)
out("trunc.survdiff_s.chisq", sd$chisq)
out("trunc.survdiff_s.logp", pchisq(sd$chisq, length(sd$n) - 1, lower.tail = FALSE, log.p = TRUE))

# ---------------------------------------------------------------- separation (monotone likelihood)
sep <- rd("rref_separation.csv")
for (ties in c("efron", "breslow")) {
  full <- suppressWarnings(coxph(Surv(exit, event) ~ x + g, data = sep, ties = ties))
  out(paste0("separation.cox.", ties, ".full.coef"), coef(full))
  out(paste0("separation.cox.", ties, ".full.loglik"), full$loglik[2])
  # The limit of the full fit as coef(g) -> -Inf: customers with g = 1 leave every risk set.
  sub <- coxph(Surv(exit, event) ~ x, data = sep[sep$g == 0, ], ties = ties)
  out(paste0("separation.cox.", ties, ".limit.coef"), coef(sub))
  out(paste0("separation.cox.", ties, ".limit.se"), sqrt(diag(vcov(sub))))
  out(paste0("separation.cox.", ties, ".limit.loglik"), sub$loglik[2])
}
# Weibull AFT: as coef(g) -> +Inf the g = 1 rows (all censored) have S = 1 and drop out.
sub <- survreg(Surv(exit, event) ~ x, data = sep[sep$g == 0, ], dist = "weibull")
out("separation.weibull.limit.coef", coef(sub))
out("separation.weibull.limit.log_scale", log(sub$scale))
out("separation.weibull.limit.se", sqrt(diag(vcov(sub))))  # (Intercept), x, Log(scale)
out("separation.weibull.limit.loglik", sub$loglik[2])

# ---------------------------------------------------------------- p-values far below 1e-308
big <- rd("rref_logrank_big.csv")
sd <- survdiff(Surv(time, event) ~ grp, data = big)
out("logrank_big.chisq", sd$chisq)
out("logrank_big.logp", pchisq(sd$chisq, 1, lower.tail = FALSE, log.p = TRUE))
fit <- coxph(Surv(time, event) ~ grp, data = big, ties = "efron")
out("logrank_big.cox.coef", unname(coef(fit)))
out("logrank_big.cox.se", unname(sqrt(diag(vcov(fit)))))
z <- unname(coef(fit) / sqrt(diag(vcov(fit))))
out("logrank_big.cox.log10p", (log(2) + pnorm(-abs(z), log.p = TRUE)) / log(10))
