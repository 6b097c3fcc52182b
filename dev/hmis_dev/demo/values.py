"""Monthly item values of each facility: plausible, seasonal, and always internally consistent.

Clean files hold one row per item the facility type is expected to report (see
:mod:`hmis.reference.catalogue`), as non-negative whole numbers. Volumes scale with the
facility type and a per-facility size factor. There is seasonality (fever, dengue and
malaria peak July-October, diarrhoea in summer and monsoon, respiratory infections in
winter) and Poisson noise. Related items are always consistent: first-trimester
registrations <= ANC registrations, C-sections <= institutional deliveries, live plus still
births >= institutional deliveries (twins add), Penta-3 <= Penta-1, MR-2 <= MR-1,
disease-wise counts <= outpatient attendance, and so on (:func:`consistency_problems`).
Generation fails rather than write a clean file that breaks one, so every broken relation in
the landing store is one planted on purpose (:mod:`hmis_dev.demo.quality_warnings`).

Each facility-month draws from its own random stream (seed, month, facility number), so the
values of a period do not depend on which other periods are generated. :func:`revise` makes
the few changed values of a revised file, still consistent.

Planted dengue rise
    Every year in August, September and October (:data:`DENGUE_RISE`), the facilities of
    block :data:`DENGUE_RISE_BLOCK` (Barwala) that report dengue (item 14.1.7: the SDH and
    private hospitals) see about 3, 5 and 6 times their seasonal dengue count, drawn out of
    their fever cases so every consistency rule still holds. The usual monsoon rise is the
    same in every block; this one is Barwala's alone, and the disease-signal pipeline must
    find it there and nowhere else (:func:`planted_rise`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hmis.reference.catalogue import items_for_type, load_items
from hmis.reference.periods import parse_period
from hmis_dev.demo.registry import Facility

DENGUE_ITEM = "14.1.7"
DENGUE_RISE_BLOCK = "Barwala"
# Calendar month -> multiple of the usual seasonal dengue count in the planted block.
DENGUE_RISE = {8: 3.0, 9: 5.0, 10: 6.0}


@dataclass(frozen=True)
class _Profile:
    """Typical monthly volumes of a facility type before size, season and noise."""

    opd: float = 0.0
    ayush_opd: float = 0.0
    anc: float = 0.0
    home_deliveries: float = 0.0
    deliveries: float = 0.0
    csection_rate: float = 0.0
    immunisation: float = 0.0
    ipd: float = 0.0
    emergency: float = 0.0
    major_ops: float = 0.0
    minor_ops: float = 0.0
    nsv: float = 0.0
    sterilisation: float = 0.0
    iucd: float = 0.0
    pills: float = 0.0
    condoms: float = 0.0


# fmt: off
_PROFILES: dict[str, _Profile] = {
    "SC": _Profile(opd=260, anc=16, home_deliveries=0.5, immunisation=12, iucd=2.5, pills=45, condoms=350),
    "PHC": _Profile(opd=1900, ayush_opd=260, anc=40, home_deliveries=0.6, deliveries=22, immunisation=26,
                    ipd=45, minor_ops=12, iucd=6, pills=90, condoms=800),
    "CHC": _Profile(opd=5200, ayush_opd=480, anc=95, home_deliveries=0.3, deliveries=85, csection_rate=0.10,
                    immunisation=45, ipd=260, emergency=320, major_ops=18, minor_ops=70, nsv=1.0,
                    sterilisation=9, iucd=12, pills=170, condoms=1500),
    "SDH": _Profile(opd=13500, ayush_opd=800, anc=190, deliveries=210, csection_rate=0.17, immunisation=75,
                    ipd=720, emergency=950, major_ops=65, minor_ops=220, nsv=2.5, sterilisation=22, iucd=22,
                    pills=260, condoms=2400),
    "DH": _Profile(opd=36000, ayush_opd=1500, anc=420, deliveries=540, csection_rate=0.24, immunisation=130,
                   ipd=2100, emergency=2900, major_ops=240, minor_ops=850, nsv=6, sterilisation=55, iucd=45,
                   pills=500, condoms=5200),
    # Private hospitals sit between a CHC and an SDH in volume, with far more C-sections.
    "PVT_HOSPITAL": _Profile(opd=7800, anc=70, deliveries=60, csection_rate=0.42, immunisation=14, ipd=430,
                             emergency=520, major_ops=85, minor_ops=150, nsv=0.5, sterilisation=6, iucd=5),
    "NURSING_HOME": _Profile(opd=2300, anc=38, deliveries=28, csection_rate=0.33, immunisation=6, ipd=140,
                             emergency=130, major_ops=22, minor_ops=45, sterilisation=2, iucd=3),
    "CLINIC": _Profile(opd=650, anc=10, minor_ops=8),
    "AYUSH": _Profile(ayush_opd=950),
}
# fmt: on

# Seasonal multipliers by calendar month (January first), for North India.
_SEASON = {
    "opd": (0.95, 0.95, 1.0, 1.0, 1.0, 1.05, 1.1, 1.15, 1.2, 1.15, 1.05, 0.95),
    "fever": (0.8, 0.75, 0.8, 0.9, 1.0, 1.1, 1.5, 1.8, 2.0, 1.9, 1.3, 0.9),
    "diarrhoea": (0.6, 0.6, 0.8, 1.1, 1.4, 1.6, 1.7, 1.6, 1.3, 1.0, 0.8, 0.6),
    "respiratory": (1.8, 1.5, 1.1, 0.8, 0.7, 0.7, 0.8, 0.8, 0.9, 1.1, 1.5, 1.8),
    "typhoid": (0.8, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.4, 1.3, 1.1, 0.9, 0.8),
    "dengue": (0.1, 0.05, 0.05, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 3.5, 2.0, 0.5),
    "malaria": (0.2, 0.2, 0.3, 0.5, 0.8, 1.2, 2.5, 3.5, 4.0, 3.0, 1.5, 0.5),
    "births": (0.97, 0.95, 0.97, 0.97, 0.98, 1.0, 1.02, 1.05, 1.08, 1.06, 1.0, 0.98),
    "sterilisation": (1.5, 1.3, 1.2, 0.8, 0.7, 0.7, 0.7, 0.8, 0.8, 0.9, 1.5, 1.6),
    "nsv": (0.9, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.8, 0.9, 2.0, 1.8),
}


def facility_traits(facility: Facility, seed: int) -> tuple[float, float]:
    """(size factor, C-section rate factor), fixed for a facility across months."""
    rng = np.random.default_rng([seed, 0, facility.number])
    if facility.facility_type in ("DH", "SDH"):
        size = float(rng.uniform(0.95, 1.05))
    else:
        size = float(np.clip(rng.lognormal(0.0, 0.3), 0.5, 1.8))
    return size, float(rng.uniform(0.8, 1.2))


def clean_values(facility: Facility, period: str, seed: int) -> dict[str, int]:
    """Internally consistent counts for every item the facility type reports, in catalogue order."""
    year, month = parse_period(period)
    rng = np.random.default_rng([seed, year * 12 + month, facility.number])
    profile = _PROFILES[facility.facility_type]
    size, csection_factor = facility_traits(facility, seed)

    def season(name: str) -> float:
        return _SEASON[name][month - 1]

    def poisson(mean: float) -> int:
        return int(rng.poisson(max(mean, 0.0)))

    def binomial(n: int, p: float) -> int:
        return int(rng.binomial(n, min(max(p, 0.0), 1.0))) if n > 0 else 0

    v: dict[str, int] = {}

    anc = poisson(profile.anc * size)
    v["1.1"] = anc
    v["1.1.1"] = binomial(anc, 0.72)
    # Nearly every woman registered for ANC gets Td1 at registration (WHO DQR checks this):
    # about 4 % miss it. Derived from the same draw as before so the rest of the random
    # stream (and every other value) stays as it was.
    v["1.2.1"] = anc - (anc - binomial(anc, 0.62)) // 10
    v["1.2.2"] = binomial(anc, 0.55)
    v["1.2.3"] = binomial(anc, 0.12)
    v["1.2.4"] = poisson(profile.anc * size * 0.85)
    v["1.2.7"] = poisson(profile.anc * size * 0.78)
    v["1.3.1"] = binomial(anc, 0.06)

    home = poisson(profile.home_deliveries)
    institutional = poisson(profile.deliveries * size * season("births"))
    csections = binomial(institutional, profile.csection_rate * csection_factor)
    v["2.1.1.a"] = home
    v["2.2"] = institutional
    v["2.2.1"] = binomial(institutional - csections, 0.78)
    v["3.1"] = csections
    v["3.1.1"] = binomial(csections, 0.3)

    deliveries = institutional + home
    still = binomial(deliveries, 0.014)
    # Twins add a baby without adding a delivery; capped so births stay close to deliveries.
    twins = min(binomial(deliveries - still, 0.011), int(deliveries * 0.05) + 2)
    live = deliveries - still + twins
    male = binomial(live, 0.525)
    weighed = binomial(live, 0.97)
    v["4.1.1.a"] = male
    v["4.1.1.b"] = live - male
    v["4.1.2"] = binomial(live, 0.08)
    v["4.1.3"] = still
    v["4.4.1"] = weighed
    v["4.4.2"] = binomial(weighed, 0.17)
    v["4.4.3"] = binomial(live, 0.82)

    v["8.1.1"] = poisson(profile.nsv * season("nsv"))
    v["8.2.1"] = poisson(profile.sterilisation * size * season("sterilisation"))
    v["8.3"] = poisson(profile.iucd * size)
    v["8.4"] = binomial(institutional, 0.22)
    v["8.12"] = poisson(profile.pills * size)
    v["8.13"] = poisson(profile.condoms * size)

    # Birth doses go to babies born here; other doses are given at sessions to cohorts
    # born earlier, with the usual drop-out between doses.
    penta1 = poisson(profile.immunisation * size)
    penta2 = binomial(penta1, 0.96)
    penta3 = binomial(penta1, 0.93)
    mr1 = binomial(penta1, 0.92)
    fully_immunised = binomial(mr1, 0.93)
    fully_male = binomial(fully_immunised, 0.52)
    mr2 = binomial(mr1, 0.88)
    v["9.1.1"] = binomial(live, 0.95)
    v["9.1.2"] = binomial(live, 0.9) + poisson(profile.immunisation * size * 0.15)
    v["9.1.3"] = penta1
    v["9.1.4"] = penta2
    v["9.1.5"] = penta3
    v["9.1.6"] = binomial(live, 0.9)
    v["9.1.7"] = penta1 - binomial(penta1, 0.01)
    v["9.1.8"] = penta2 - binomial(penta2, 0.01)
    # OPV goes with Penta at the same visit, so OPV-3 never exceeds OPV-1.
    v["9.1.9"] = min(penta3 - binomial(penta3, 0.01), v["9.1.7"])
    v["9.1.10"] = binomial(live, 0.88)
    v["9.1.11"] = penta1 - binomial(penta1, 0.02)
    v["9.2.2"] = mr1
    v["9.2.5.a"] = fully_male
    v["9.2.5.b"] = fully_immunised - fully_male
    v["9.4.1"] = mr2
    v["9.4.2"] = mr2 - binomial(mr2, 0.02)

    opd = poisson(profile.opd * size * season("opd"))
    ayush_opd = poisson(profile.ayush_opd * size * season("opd"))
    v["14.2.1"] = opd
    v["14.2.2"] = ayush_opd
    # Disease-wise counts are drawn out of the attendance they belong to, so together
    # they can never exceed it.
    remaining = ayush_opd if facility.facility_type == "AYUSH" else opd
    fever = binomial(remaining, 0.065 * season("fever"))
    remaining -= fever
    diarrhoea = binomial(remaining, 0.03 * season("diarrhoea"))
    remaining -= diarrhoea
    respiratory = binomial(remaining, 0.05 * season("respiratory"))
    remaining -= respiratory
    hypertension = binomial(remaining, 0.055)
    remaining -= hypertension
    diabetes = binomial(remaining, 0.042)
    remaining -= diabetes
    presumptive_tb = binomial(remaining, 0.011)
    typhoid = binomial(fever, 0.05 * season("typhoid"))
    dengue = binomial(fever - typhoid, 0.012 * season("dengue"))
    malaria = binomial(fever - typhoid - dengue, 0.003 * season("malaria"))
    dengue += _planted_dengue(facility, period, seed, fever - typhoid - dengue - malaria, dengue)
    v["14.1.1"] = diabetes
    v["14.1.2"] = hypertension
    v["14.1.3"] = fever
    v["14.1.4"] = diarrhoea
    v["14.1.5"] = respiratory
    v["14.1.6"] = typhoid
    v["14.1.7"] = dengue
    v["14.1.8"] = malaria
    v["14.1.9"] = presumptive_tb

    admissions = poisson(profile.ipd * size * season("opd"))
    boys, men, girls, women, elderly = (int(n) for n in rng.multinomial(admissions, [0.14, 0.30, 0.11, 0.25, 0.20]))
    v["14.3.1.a"] = boys
    v["14.3.1.b"] = men
    v["14.3.1.c"] = girls
    v["14.3.1.d"] = women + institutional  # every delivery is an adult female admission
    v["14.3.1.e"] = elderly
    v["14.5.3"] = poisson(profile.emergency * size)
    v["14.8.1.a"] = poisson(profile.major_ops * size)
    v["14.8.2"] = poisson(profile.minor_ops * size)

    values = {item.item_code: v[item.item_code] for item in items_for_type(facility.facility_type)}
    problems = consistency_problems(values)
    if problems:
        raise RuntimeError(f"generated inconsistent values for {facility.facility_id} {period}: {problems}")
    return values


def _planted_dengue(facility: Facility, period: str, seed: int, other_fevers: int, dengue: int) -> int:
    """Extra dengue cases of the planted rise (0 outside its block and months).

    They are drawn out of the facility's other fever cases with their own random stream, so
    every other value stays as it would be without the rise, and capped at the item's
    typical maximum.
    """
    year, month = parse_period(period)
    if facility.block != DENGUE_RISE_BLOCK or month not in DENGUE_RISE:
        return 0
    rng = np.random.default_rng([seed, year * 12 + month, facility.number, 3])
    usual = 0.012 * _SEASON["dengue"][month - 1]
    extra = int(rng.binomial(max(other_fevers, 0), min(usual * (DENGUE_RISE[month] - 1), 1.0)))
    limit = next(item.typical_max for item in load_items() if item.item_code == DENGUE_ITEM)
    return max(min(extra, limit - dengue), 0)


def _total(values: dict[str, int], codes: Sequence[str]) -> int | None:
    """Sum of ``codes`` if at least one is present, else None."""
    present = [values[code] for code in codes if code in values]
    return sum(present) if present else None


_BIRTH_CODES = ("4.1.1.a", "4.1.1.b", "4.1.3")
_LIVE_CODES = ("4.1.1.a", "4.1.1.b")
_DISEASE_CODES = ("14.1.1", "14.1.2", "14.1.3", "14.1.4", "14.1.5", "14.1.9")

# (description, smaller side, larger side, factor, slack): sum(smaller) <= factor * sum(larger) + slack.
# A rule applies only when every item on the smaller side and at least one on the larger is reported.
_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], float, int], ...] = (
    ("first-trimester registrations <= ANC registrations", ("1.1.1",), ("1.1",), 1.0, 0),
    ("C-sections <= institutional deliveries", ("3.1",), ("2.2",), 1.0, 0),
    ("night C-sections <= C-sections", ("3.1.1",), ("3.1",), 1.0, 0),
    ("48-hour stays + C-sections <= institutional deliveries", ("2.2.1", "3.1"), ("2.2",), 1.0, 0),
    ("institutional deliveries <= live + still births", ("2.2",), _BIRTH_CODES, 1.0, 0),
    ("live + still births close to deliveries", _BIRTH_CODES, ("2.2", "2.1.1.a"), 1.05, 2),
    ("pre-term newborns <= live births", ("4.1.2",), _LIVE_CODES, 1.0, 0),
    ("newborns weighed <= live births", ("4.4.1",), _LIVE_CODES, 1.0, 0),
    ("low birth weight <= newborns weighed", ("4.4.2",), ("4.4.1",), 1.0, 0),
    ("breastfed within 1 hour <= live births", ("4.4.3",), _LIVE_CODES, 1.0, 0),
    ("Vitamin K1 <= live births", ("9.1.1",), _LIVE_CODES, 1.0, 0),
    ("OPV 0 <= live births", ("9.1.6",), _LIVE_CODES, 1.0, 0),
    ("Hepatitis-B0 <= live births", ("9.1.10",), _LIVE_CODES, 1.0, 0),
    ("postpartum IUCD <= institutional deliveries", ("8.4",), ("2.2",), 1.0, 0),
    ("Penta-2 <= Penta-1", ("9.1.4",), ("9.1.3",), 1.05, 0),
    ("Penta-3 <= Penta-1", ("9.1.5",), ("9.1.3",), 1.05, 0),
    ("OPV 1 <= Penta-1", ("9.1.7",), ("9.1.3",), 1.05, 0),
    ("OPV 3 <= Penta-3", ("9.1.9",), ("9.1.5",), 1.05, 0),
    ("MR-2 <= MR-1", ("9.4.1",), ("9.2.2",), 1.0, 0),
    ("fully immunised <= MR-1", ("9.2.5.a", "9.2.5.b"), ("9.2.2",), 1.0, 0),
    ("typhoid + dengue + malaria <= fever", ("14.1.6", "14.1.7", "14.1.8"), ("14.1.3",), 1.0, 0),
)


def consistency_problems(values: dict[str, int]) -> list[str]:
    """Descriptions of the consistency rules ``values`` breaks (empty if none)."""
    problems = []
    for description, smaller, larger, factor, slack in _RULES:
        if not all(code in values for code in smaller):
            continue
        bound = _total(values, larger)
        if bound is None:
            continue
        if sum(values[code] for code in smaller) > factor * bound + slack:
            problems.append(description)
    attendance = values.get("14.2.1", values.get("14.2.2"))
    diseases = _total(values, _DISEASE_CODES)
    if attendance is not None and diseases is not None and diseases > attendance:
        problems.append("disease-wise outpatient counts <= outpatient attendance")
    return problems


def revise(values: dict[str, int], facility: Facility, period: str, seed: int) -> dict[str, int]:
    """A copy of ``values`` with a few items changed, still consistent and plausible."""
    year, month = parse_period(period)
    rng = np.random.default_rng([seed, year * 12 + month, facility.number, 2])
    limits = {item.item_code: item.typical_max for item in load_items()}
    revised = dict(values)
    candidates = [code for code, value in values.items() if value >= 3]
    changed: set[str] = set()
    for index in rng.permutation(len(candidates)):
        if len(changed) == 3:
            break
        code = candidates[int(index)]
        delta = max(1, int(round(revised[code] * rng.uniform(0.03, 0.12))))
        new_value = revised[code] + (delta if rng.random() < 0.5 else -delta)
        if not 0 <= new_value <= limits[code]:
            continue
        trial = {**revised, code: new_value}
        if not consistency_problems(trial):
            revised = trial
            changed.add(code)
    if not changed:
        # Raising attendance breaks no rule, and every type reports one of these.
        code = "14.2.1" if "14.2.1" in revised else "14.2.2"
        revised[code] += 1 + int(rng.integers(0, 25))
    return revised


def planted_rise(registered: Sequence[Facility], periods: Sequence[str]) -> tuple[str | None, list[str]]:
    """(block, periods) of the planted dengue rise among ``periods``.

    The block is None when none of its registered facilities reports dengue, since the rise
    then has nowhere to show.
    """
    block_reports_dengue = any(
        facility.block == DENGUE_RISE_BLOCK
        and DENGUE_ITEM in {item.item_code for item in items_for_type(facility.facility_type)}
        for facility in registered
    )
    rise_periods = [period for period in periods if parse_period(period)[1] in DENGUE_RISE]
    return (DENGUE_RISE_BLOCK if block_reports_dengue else None), rise_periods
