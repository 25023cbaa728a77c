"""Reading scenario files: TOML, ``extends`` chains, ``--set`` overrides, one-line errors.

A scenario file may say ``extends = "baseline.toml"`` (a path relative to the file); the parent
is loaded first and the child's keys win, tables merging key by key and arrays being replaced
whole. Overrides from the command line (``cs_team.headcount=4``) are applied last; their values
are parsed as TOML (``4``, ``0.5``, ``true``, ``"text"``, ``[1, 2]``) and fall back to a plain string.
Segments may be addressed by name or position: ``segments.smb.annual_churn=0.2`` or
``segments.0.annual_churn=0.2``.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ValidationError

from csim.errors import InputError
from csim.scenario.model import Scenario


def read_toml(path: Path, what: str = "scenario file") -> dict[str, Any]:
    """The mapping of a TOML file, or a one-line :class:`InputError` naming ``path`` (``what`` it should be).

    A ``.json`` file is read as JSON: the ``scenario.json`` a run writes is a scenario file too.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(path, None, f"is a folder, not a {what}")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, None, f"no such {what}") from None
    except PermissionError:
        raise InputError(path, None, f"cannot read {what} (permission denied)") from None
    except UnicodeDecodeError:
        raise InputError(path, None, f"cannot read {what}: not UTF-8 text") from None
    except OSError as exc:
        raise InputError(path, None, f"cannot read {what} ({exc.strerror or exc.__class__.__name__})") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(path, None, f"JSON syntax error: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
        if not isinstance(data, dict):
            raise InputError(path, None, f"a {what} in JSON must be an object of keys")
        return data
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, None, f"TOML syntax error: {exc}") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge tables; arrays and scalars in ``over`` replace those in ``base``."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_scenario_dict(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The raw, merged mapping of a scenario file and its ``extends`` ancestors."""
    path = Path(path)
    resolved = path.resolve()
    if resolved in _seen:
        raise InputError(path, "extends", "circular extends chain")
    data = read_toml(path)
    if not data and not _seen:
        # An empty file would run the built-in world: almost certainly not what was meant.
        raise InputError(path, None, 'the scenario file is empty; a minimal one is extends = "baseline.toml" '
                                     '(a file of scenarios/) plus the keys you change, or see csim schema')
    _read_book_file(path, data)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise InputError(path, "extends", "must be a file path string")
    parent_path = path.parent / parent
    # Name the file that says "extends", not only the one that is missing.
    if not parent_path.exists():
        raise InputError(path, "extends", f"no such scenario file {str(parent_path)!r}")
    if not parent_path.is_file():
        raise InputError(path, "extends", f"{parent!r} is a folder, not a scenario file")
    return _merge(read_scenario_dict(parent_path, _seen + (resolved,)), data)


#: Columns of an initial-book file: required, then optional.
BOOK_COLUMNS = ("segment", "mrr", "tenure_months")
BOOK_OPTIONAL = ("terms_survived",)


def _read_book_file(path: Path, data: dict[str, Any]) -> None:
    """Read ``initial_book.file`` (relative to ``path``) into ``initial_book.accounts``, in place.

    The rows are checked here, so that a bad one is named by file, column and row; the accounts
    then travel inside the validated scenario (workers never need the file).
    """
    import csv

    book = data.get("initial_book")
    # A scenario.json written by a run carries the accounts read from the file: it needs no file.
    if not isinstance(book, dict) or book.get("file") is None or book.get("accounts") is not None:
        return
    name = book["file"]
    if not isinstance(name, str):
        raise InputError(path, "initial_book.file", "must be a file path string")
    file = path.parent / name
    if not file.is_file():
        raise InputError(path, "initial_book.file", f"no such file {str(file)!r}")
    try:
        with open(file, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in BOOK_COLUMNS if c not in header]
            if missing:
                raise InputError(file, missing[0], f"missing column (an initial book needs {', '.join(BOOK_COLUMNS)})")
            accounts = []
            for row_number, row in enumerate(reader, start=2):
                row = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
                account: dict[str, Any] = {"segment": row["segment"]}
                for column, kind in (("mrr", float), ("tenure_months", float), ("terms_survived", int)):
                    text = row.get(column, "")
                    if text == "" and column in BOOK_OPTIONAL:
                        continue
                    try:
                        value = kind(text)
                    except ValueError:
                        raise InputError(file, column, f"row {row_number}: not a{'n integer' if kind is int else ' number'}: "
                                                       f"{text!r}") from None
                    if not math.isfinite(value) or value < 0 or (column == "mrr" and value == 0):
                        raise InputError(file, column, f"row {row_number}: must be {'positive' if column == 'mrr' else '0 or more'}"
                                                       f", got {text}")
                    account[column] = value
                if not account["segment"]:
                    raise InputError(file, "segment", f"row {row_number}: empty")
                accounts.append(account)
    except UnicodeDecodeError:
        raise InputError(file, None, "cannot read the initial book: not UTF-8 text") from None
    data["initial_book"] = {**book, "accounts": accounts}


def _format_loc(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    """Turn a pydantic error location into a dotted key, naming segments and plays helpfully."""
    parts: list[str] = []
    node: Any = data
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and item < len(node) and isinstance(node[item], dict) and "name" in node[item]:
                label = f"[{item}:{node[item]['name']}]"
            parts.append(label)
        elif isinstance(item, str) and not item.startswith(("function-", "literal[")):
            parts.append(("." if parts else "") + item)
        node = node[item] if isinstance(node, (dict, list)) and _has(node, item) else None
    return "".join(parts)


def _has(node: Any, item: Any) -> bool:
    if isinstance(node, dict):
        return item in node
    return isinstance(item, int) and 0 <= item < len(node)


def validate_scenario(data: dict[str, Any], source: str | Path) -> Scenario:
    """Validate a raw mapping into a :class:`Scenario`, or raise a one-line :class:`InputError`."""
    _refuse_non_finite(data, (), data, source)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # A bad item of a tuple with min_length also fails the length check ("at least 1 item
        # after validation, not 0"): that follow-up error sits at a prefix of the item's location
        # and is not a problem of its own.
        locs = [tuple(e["loc"]) for e in errors]
        errors = [e for e, loc in zip(errors, locs)
                  if not any(len(other) > len(loc) and other[:len(loc)] == loc for other in locs)] or errors
        first = errors[0]
        where = _format_loc(tuple(first["loc"]), data)
        message = _plain(first)
        more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        raise InputError(source, where or None, f"{message}{more}") from None


def _plain(error: dict[str, Any]) -> str:
    """A pydantic error in the words of a scenario file ("must be at most 1, got 1.5")."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    shown = repr(value) if isinstance(value, str) else value
    words = {
        "extra_forbidden": "unknown key",
        "missing": "required key is missing",
        "greater_than_equal": f"must be at least {ctx.get('ge')}, got {shown}",
        "less_than_equal": f"must be at most {ctx.get('le')}, got {shown}",
        "greater_than": f"must be above {ctx.get('gt')}, got {shown}",
        "less_than": f"must be below {ctx.get('lt')}, got {shown}",
        "int_type": f"must be a whole number, got {shown}",
        "int_parsing": f"must be a whole number, got {shown}",
        "int_from_float": f"must be a whole number, got {shown}",
        "float_type": f"must be a number, got {shown}",
        "float_parsing": f"must be a number, got {shown}",
        "bool_type": f"must be true or false, got {shown}",
        "bool_parsing": f"must be true or false, got {shown}",
        "string_type": f"must be text in quotes, got {shown}",
        "literal_error": f"must be one of {ctx.get('expected')}, got {shown}",
        "too_short": f"needs at least {ctx.get('min_length')} item(s)",
        "model_type": "must be a table of keys",
        "dict_type": "must be a table of keys",
        "tuple_type": "must be an array",
    }
    if kind in words and len(str(words[kind])) < 300:
        return words[kind]
    return error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _refuse_non_finite(node: Any, loc: tuple[Any, ...], data: dict[str, Any], source: str | Path) -> None:
    """NaN and infinity are never a scenario value: say so plainly, naming the key (pydantic would
    say "Input should be greater than or equal to 0" of a NaN)."""
    if isinstance(node, float) and not math.isfinite(node):
        problem = "is NaN; give a number" if math.isnan(node) else "is infinite; give a finite number"
        raise InputError(source, _format_loc(loc, data) or None, problem)
    if isinstance(node, dict):
        for key, value in node.items():
            _refuse_non_finite(value, loc + (key,), data, source)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _refuse_non_finite(value, loc + (i,), data, source)


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _model_field(model: type[BaseModel] | None, key: str) -> type[BaseModel] | None | bool:
    """The sub-model a key leads to, None for a leaf, False if the key is unknown."""
    if model is None or key not in model.model_fields:
        return False
    annotation = model.model_fields[key].annotation
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def overrides_dict(assignments: Iterable[str]) -> dict[str, Any]:
    """``["cs_team.headcount=8"]`` → ``{"cs_team.headcount": 8}`` (values parsed as ``--set`` parses them),
    for provenance and report headers."""
    out: dict[str, Any] = {}
    for assignment in assignments:
        key, _, value = assignment.partition("=")
        out[key.strip()] = _parse_value(value.strip())
    return out


def scenario_notices(scenario: Scenario) -> list[str]:
    """Things a run does to the scenario that the user asked for but should see (one line each)."""
    notices = []
    total = sum(s.lead_share for s in scenario.segments)
    if scenario.normalize_lead_shares and abs(total - 1.0) > 1e-6:
        notices.append(f"segments.lead_share: the shares sum to {total:g}; divided by their sum "
                       "(normalize_lead_shares = true)")
    team = scenario.cs_team
    staffed = [i for i, play in enumerate(scenario.strategy.plays) if play.csm_hours > 0]
    if team.headcount == 0 and team.accounts_per_csm is None and team.arr_per_csm is None and staffed:
        # A notice, not an error: "what if there were no team?" is a fair question (a sweep from 0).
        notices.append(f"cs_team.headcount: 0 CSMs and no coverage rule, so the {len(staffed)} play(s) that need "
                       "CSM hours are never served (their touches expire)")
    return notices


def apply_override(data: dict[str, Any], assignment: str, source: str | Path) -> dict[str, Any]:
    """Apply one ``dotted.path=value`` override to a raw scenario mapping (returns a new mapping)."""
    if "=" not in assignment:
        raise InputError(source, f"--set {assignment}", "expected KEY=VALUE")
    path_text, _, value_text = assignment.partition("=")
    return set_path(data, path_text, _parse_value(value_text.strip()), source)


def set_path(data: dict[str, Any], path_text: str, value: Any, source: str | Path,
             label: str = "--set") -> dict[str, Any]:
    """Set the value at a dotted scenario path in a raw mapping (returns a new mapping).

    ``label`` names the option in an error (``--set``, ``--param``). Segments and plays are
    addressed by name or position; a mapping field (``cs_team.accounts_per_csm``) takes one more
    key, its entry (``cs_team.accounts_per_csm.smb``).
    """
    keys = [k for k in path_text.strip().split(".") if k]
    if not keys:
        raise InputError(source, f"{label} {path_text}", "empty key")
    result = _merge({}, data)
    node: Any = result
    model: type[BaseModel] | None | str = Scenario
    list_models = _list_models()
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        if isinstance(node, list):
            index = _list_index(node, key)
            if index is None:
                raise InputError(source, f"{label} {path_text}", f"no item {key!r} in this list")
            if last:
                node[index] = value
            else:
                node[index] = dict(node[index])
                node = node[index]
            continue
        if model == "mapping":  # an entry of a mapping field: any key, and nothing below it
            if not last:
                raise InputError(source, f"{label} {path_text}", f"{key!r} is an entry of a mapping and has no keys")
            node[key] = value
            break
        sub = _model_field(model, key)
        if sub is False:
            raise InputError(source, f"{label} {path_text}", f"unknown key {key!r}")
        if last:
            node[key] = value
            break
        if key in list_models:
            node[key] = [dict(x) for x in node.get(key, _default_list(key))]
            node = node[key]
            model = list_models[key]
        elif sub is None and _is_mapping(model, key):
            node[key] = dict(node.get(key) or {})
            node = node[key]
            model = "mapping"
        else:
            node[key] = dict(node.get(key, {}))
            node = node[key]
            model = sub if isinstance(sub, type) else None
    return result


def _list_models() -> dict[str, type[BaseModel]]:
    from csim.scenario.model import Play, Segment

    return {"segments": Segment, "plays": Play}


def _is_mapping(model: type[BaseModel] | None, key: str) -> bool:
    """Whether ``model.key`` is a mapping field (``dict[str, ...]``, possibly optional)."""
    if not (isinstance(model, type) and key in model.model_fields):
        return False
    annotation = model.model_fields[key].annotation
    return any(getattr(c, "__origin__", None) is dict for c in (annotation, *getattr(annotation, "__args__", ())))


def leaf_annotation(path_text: str) -> Any:
    """The type annotation of the scenario field at a dotted path (None if the path leads nowhere).

    Segment names and list positions are skipped; an entry of a mapping field has the mapping's
    value type. Used to check a swept parameter's kind before any value is tried.
    """
    keys = [k for k in path_text.strip().split(".") if k]
    model: Any = Scenario
    annotation: Any = None
    list_models = _list_models()
    skip_item = False
    for key in keys:
        if skip_item:  # a list item's name or position
            skip_item = False
            continue
        if annotation is not None and getattr(annotation, "__origin__", None) is dict:
            return annotation.__args__[1]
        if not (isinstance(model, type) and issubclass(model, BaseModel) and key in model.model_fields):
            return None
        annotation = model.model_fields[key].annotation
        for candidate in (*getattr(annotation, "__args__", ()),):
            if getattr(candidate, "__origin__", None) is dict:
                annotation = candidate
        if key in list_models:
            model, skip_item = list_models[key], True
            continue
        sub = _model_field(model, key)
        model = sub if isinstance(sub, type) else None
    return annotation


def _default_list(key: str) -> list[dict[str, Any]]:
    """Defaults of list fields as raw mappings, so an override can address them by name."""
    scenario = Scenario()
    if key == "segments":
        return [s.model_dump(mode="json") for s in scenario.segments]
    return [p.model_dump(mode="json") for p in scenario.strategy.plays]


def _list_index(items: list[Any], key: str) -> int | None:
    if key.isdigit():
        i = int(key)
        return i if i < len(items) else None
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == key:
            return i
    return None


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Load, merge, override and validate a scenario file.

    Raises :class:`InputError` with one line naming the file and key on any problem.
    """
    data = read_scenario_dict(path)
    for assignment in overrides:
        data = apply_override(data, assignment, path)
    return validate_scenario(data, path)
