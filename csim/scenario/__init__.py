"""Scenario files: the validated, frozen description of a world and a strategy."""

from csim.scenario.load import apply_override, load_scenario, read_scenario_dict, validate_scenario
from csim.scenario.model import (
    Acquisition, CSTeam, Economics, Effect, Health, InitialBook, Onboarding, Payments, Play,
    Reactivation, Referral, Renewal, Scenario, Segment, Strategy, per_term_churn,
)

__all__ = [
    "Acquisition", "CSTeam", "Economics", "Effect", "Health", "InitialBook", "Onboarding", "Payments",
    "Play", "Reactivation", "Referral", "Renewal", "Scenario", "Segment", "Strategy",
    "apply_override", "load_scenario", "per_term_churn", "read_scenario_dict", "validate_scenario",
]
