"""Turning table columns into a numeric design for the Cox and AFT models.

Numeric columns enter as they are. Text columns are categorical: one 0/1 column per level
except a named **reference level**, so each coefficient compares a level with the reference
(e.g. ``company_size[50-100]`` vs ``1-10``). The default reference is the first level in
sorted order (as in R and patsy), so results do not depend on row order; choose another with
``reference={"company_size": "self-employed"}`` (``--reference company_size=self-employed``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csim.errors import InputError


def _is_numeric(values: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return True
    parsed = pd.to_numeric(values, errors="coerce")
    return bool(parsed.notna().all())


def encode_covariates(frame: pd.DataFrame, columns, reference: dict | None = None, source: str = "data"):
    """Numeric design matrix for ``columns`` of ``frame`` and a description of the encoding.

    Returns ``(design, encoding)``: ``design`` is a float DataFrame without intercept;
    ``encoding`` maps each source column to ``{"type": "numeric"}`` or
    ``{"type": "categorical", "reference": level, "levels": [...]}``.
    Raises InputError for a blank cell, an unknown reference level, or a column with one level.
    """
    reference = dict(reference or {})
    unknown = set(reference) - set(columns)
    if unknown:
        raise InputError("--reference", None, f"{sorted(unknown)[0]!r} is not one of the covariates")
    parts, encoding = [], {}
    for column in columns:
        values = frame[column]
        text = values.astype(str).str.strip()
        blank = values.isna().to_numpy() | (text == "").to_numpy() | (text.str.lower() == "nan").to_numpy()
        if blank.any():
            row = int(np.flatnonzero(blank)[0]) + 1
            raise InputError(source, f"column '{column}', row {row}", "empty value (drop or fill missing covariates first)")
        if _is_numeric(values) and column not in reference:
            numbers = pd.to_numeric(values).astype(float)
            infinite = ~np.isfinite(numbers.to_numpy())
            if infinite.any():
                row = int(np.flatnonzero(infinite)[0]) + 1
                raise InputError(source, f"column '{column}', row {row}", f"infinite value ({values.iloc[row - 1]!r})")
            if numbers.nunique() < 2:
                raise InputError(source, f"column '{column}'", f"has a single value ({numbers.iloc[0]:g}); it cannot "
                                                               "explain churn")
            parts.append(numbers.rename(column))
            encoding[column] = {"type": "numeric"}
            continue
        levels = sorted(text.unique())
        if len(levels) < 2:
            raise InputError(source, f"column '{column}'", f"has a single value ({levels[0]!r}); it cannot explain churn")
        base = reference.get(column, levels[0])
        if base not in levels:
            raise InputError("--reference", f"{column}={base}", f"no such level; levels are {', '.join(levels)}")
        for level in levels:
            if level != base:
                parts.append((text == level).astype(float).rename(f"{column}[{level}]"))
        encoding[column] = {"type": "categorical", "reference": base, "levels": levels}
    design = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)
    return design.reset_index(drop=True), encoding


def parse_reference(items) -> dict:
    """``["company_size=1-10", …]`` → ``{"company_size": "1-10"}``."""
    result = {}
    for item in items or []:
        if "=" not in item:
            raise InputError("--reference", item, "expected COLUMN=LEVEL")
        column, level = item.split("=", 1)
        result[column.strip()] = level.strip()
    return result
