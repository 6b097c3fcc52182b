"""Area populations for per-population indicators (optional ``registry/population.csv``).

Columns: ``level`` (block, district or state), ``area``, ``year``, ``population``. Without
the file, population-based indicators are left empty rather than guessed.
"""

from __future__ import annotations

import io

import pandas as pd

from hmis.platform.landing import LandingStore
from hmis.platform.warehouse import copy_rows

POPULATION_KEY = "registry/population.csv"
COLUMNS = ["level", "area", "year", "population"]


class PopulationError(ValueError):
    """The population file cannot be used; the message says what to fix."""


def parse_population(data: bytes) -> pd.DataFrame:
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.columns = [c.strip().lower() for c in frame.columns]
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise PopulationError(f"{POPULATION_KEY} lacks column(s): {', '.join(missing)}")
    frame = frame[COLUMNS].apply(lambda col: col.str.strip())
    bad_level = frame.loc[~frame["level"].isin(["block", "district", "state"]), "area"].tolist()
    if bad_level:
        raise PopulationError(f"{POPULATION_KEY}: level must be block, district or state for {bad_level[:5]}")
    for column in ("year", "population"):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        if numbers.isna().any() or (numbers < 0).any():
            raise PopulationError(f"{POPULATION_KEY}: {column} must be a whole number for every row")
        frame[column] = numbers.astype("int64")
    return frame


def sync_population(conn, store: LandingStore) -> int:
    """Replace ``ref.population`` from the landing store; 0 rows when there is no file."""
    keys = {obj.key for obj in store.list("registry/")}
    frame = parse_population(store.read(POPULATION_KEY)) if POPULATION_KEY in keys else pd.DataFrame(columns=COLUMNS)
    with conn, conn.cursor() as cur:
        cur.execute("DELETE FROM ref.population")
        copy_rows(cur, "ref.population", COLUMNS, frame.itertuples(index=False))
    return len(frame)
