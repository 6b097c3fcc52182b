"""Approximate populations of Hisar district and its blocks for the demo's indicators.

Census 2011 counted 1,743,931 people in Hisar district; the demo uses a rounded projection
for 2025 and 2026 split over the nine blocks. Good enough for per-population indicators in a
demonstration, not for planning. Each row also carries the area's LGD code (``lgd_code``, an
extra column the pipeline's reader ignores) so the file names areas as the registry does.
"""

from __future__ import annotations

from pathlib import Path

from hmis_dev.demo.registry import BLOCK_LGD, DISTRICT, DISTRICT_LGD

BLOCKS_2026 = {
    "Hisar-I": 420_000, "Hisar-II": 310_000, "Adampur": 150_000, "Agroha": 120_000, "Barwala": 190_000,
    "Uklana": 170_000, "Narnaund": 200_000, "Hansi-I": 280_000, "Hansi-II": 170_000,
}  # fmt: skip
GROWTH_PER_YEAR = 0.012


def write_population(landing_root: Path) -> Path:
    """Write ``registry/population.csv`` (block and district rows for 2025 and 2026)."""
    rows = ["level,area,year,population,lgd_code"]
    for year in (2025, 2026):
        factor = (1 + GROWTH_PER_YEAR) ** (year - 2026)
        blocks = {name: round(count * factor) for name, count in BLOCKS_2026.items()}
        rows += [f"block,{name},{year},{count},{BLOCK_LGD[name]}" for name, count in blocks.items()]
        rows.append(f"district,{DISTRICT},{year},{sum(blocks.values())},{DISTRICT_LGD}")
    path = landing_root / "registry" / "population.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path
