"""``csim schema``: print the JSON Schema of a scenario file."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("schema", help="print the JSON Schema of a scenario file",
                                   description="Print the JSON Schema of a scenario file (units and default sources in each description).")
    parser.set_defaults(handler=run_schema)


def run_schema(args: argparse.Namespace) -> int:
    from csim.scenario.model import Scenario

    print(json.dumps(Scenario.model_json_schema(), indent=2))
    return 0
