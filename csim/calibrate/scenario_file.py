"""Writing the calibrated scenario: a complete TOML file whose every value says where it came from.

The file stands alone (no ``extends``): every key of the scenario is written. A value the
calibration fitted carries a comment starting "fitted:" (its estimator and data); a value kept from
the base scenario carries "from base: assumption (…)" with the reason the input cannot tell it.
Tables the input says nothing about (health, onboarding, the strategy, …) carry that comment on
their header line. TOML is written with ``tomlkit`` (which keeps comments); distributions and
small mappings are written inline.
"""

from __future__ import annotations

from typing import Any, Mapping

#: Keys written as one-line tables rather than their own TOML section.
_INLINE = ("accounts_per_csm",)


def _is_distribution(value: Any) -> bool:
    return isinstance(value, Mapping) and "dist" in value


def _inline(value: Mapping):
    import tomlkit

    table = tomlkit.inline_table()
    table.update(dict(value))
    return table


def _value(value: Any, comment: str | None = None):
    import tomlkit

    item = _inline(value) if isinstance(value, Mapping) else tomlkit.item(value)
    if comment:
        item.comment(" ".join(comment.split()))
    return item


def _fill(table, data: Mapping, path: tuple, sources: Mapping[tuple, str], default: str | None) -> None:
    """Add ``data`` to a tomlkit table: scalars and inline tables first (TOML needs them before
    sub-tables), each with its source comment; then sub-tables; then arrays of tables."""
    import tomlkit

    scalars = {k: v for k, v in data.items() if not isinstance(v, Mapping) or _is_distribution(v) or k in _INLINE}
    scalars = {k: v for k, v in scalars.items() if not (isinstance(v, list) and v and isinstance(v[0], Mapping))}
    for key, value in scalars.items():
        table.add(key, _value(value, sources.get(path + (key,), default)))
    for key, value in data.items():
        if key in scalars:
            continue
        if isinstance(value, Mapping):
            sub = tomlkit.table()
            _fill(sub, value, path + (key,), sources, None)
            table.add(key, sub)
    for key, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], Mapping):
            array = tomlkit.aot()
            for i, item in enumerate(value):
                sub = tomlkit.table()
                label = item.get("name", i)
                _fill(sub, item, path + (key, label), sources, None)
                array.append(sub)
            table.add(key, array)


def render(data: Mapping, sources: Mapping[tuple, str], header: list[str], default: str,
           commented_tables: tuple[str, ...]) -> str:
    """The scenario ``data`` as TOML text with comments.

    ``sources``: comment per key path (``("segments", "smb", "annual_churn")``,
    ``("acquisition", "leads_per_month")``, ``("name",)``, or a table ``("health",)``);
    ``default``: the comment of a key of ``commented_tables`` (and of top-level keys and segments)
    that has none of its own; other tables get ``sources`` of their path or ``default`` on their
    header line. ``header``: comment lines at the top.
    """
    import tomlkit

    doc = tomlkit.document()
    for line in header:
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    scalars = {k: v for k, v in data.items() if not isinstance(v, (Mapping, list))}
    for key, value in scalars.items():
        doc.add(key, _value(value, sources.get((key,), default)))
    for key, value in data.items():
        if key in scalars:
            continue
        if isinstance(value, list):
            array = tomlkit.aot()
            for item in value:
                sub = tomlkit.table()
                _fill(sub, item, (key, item.get("name")), sources, default)
                array.append(sub)
            doc.add(tomlkit.nl())
            doc.add(key, array)
            continue
        table = tomlkit.table()
        if key in commented_tables:
            _fill(table, value, (key,), sources, default)
        else:
            table.comment(" ".join(sources.get((key,), default).split()))
            _fill(table, value, (key,), sources, None)
        doc.add(tomlkit.nl())
        doc.add(key, table)
    return tomlkit.dumps(doc)
