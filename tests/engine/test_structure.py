"""The engine's shape: triggers and effects declared once, and no pandas or matplotlib in the core."""

from __future__ import annotations

import subprocess
import sys

from csim.engine.policy import EFFECT_HANDLERS
from csim.scenario.model import Effect
from csim.strategy import TRIGGERS, Trigger


def test_every_effect_field_has_one_handler():
    assert set(EFFECT_HANDLERS) == set(Effect.model_fields)


def test_trigger_names_are_the_scenario_vocabulary():
    assert [t.name.lower() for t in Trigger] == list(TRIGGERS)
    assert [int(t) for t in Trigger] == list(range(len(TRIGGERS)))


def test_the_engine_runs_without_pandas_or_matplotlib():
    code = (
        "import sys\n"
        "from csim.engine.runner import simulate\n"
        "from tests.engine.scenarios import scenario\n"
        "simulate(scenario(horizon_months=2), 1, executor='serial', progress=False)\n"
        "loaded = [m for m in ('pandas', 'matplotlib') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
