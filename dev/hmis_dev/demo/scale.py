"""How much each facility does in a month: volumes by facility type, size, season and district scale.

A facility's expected monthly volume of a service (outpatients, deliveries, admissions, ...)
is its type's typical volume (:data:`PROFILES`) times its own size factor (fixed across
months, :func:`facility_traits`), times a seasonal multiplier of the calendar month
(:data:`SEASONS`, each averaging 1 over the year), times one district factor per service.

The district factors (:func:`district_factors`) make Hisar's expected totals equal the real
figures of FY 2018-19 (:data:`DISTRICT_MONTHLY`, the HMIS portal's district totals as Data
Commons archived them): about 182,000 outpatients, 9,550 inpatients, 563 major operations,
738 sterilisations, 670 IUCD insertions and 80,500 condom pieces a month. The type profiles
only set how the district's work is shared between facility types; the factors set the level.
So the demo has the district's real scale whatever the random sizes of its facilities are.

Everything here is a mean before noise; :mod:`hmis_dev.demo.counts` draws the counts.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, fields
from functools import cache

import numpy as np

from hmis.quality.items import TYPICAL_MAX_PATH
from hmis.reference.periods import parse_period
from hmis_dev.demo.registry import Facility, build_registry


@dataclass(frozen=True)
class Profile:
    """Typical monthly volumes of one facility type, before size, season and district scale."""

    opd: float = 0.0  # allopathic outpatient attendance (14.2.1)
    ayush_opd: float = 0.0  # AYUSH outpatient attendance (14.2.2)
    anc: float = 0.0  # pregnant women registered for ANC (1.1)
    home_deliveries: float = 0.0  # home deliveries in the area the facility serves
    deliveries: float = 0.0  # institutional deliveries (2.2)
    mtp: float = 0.0  # medical terminations of pregnancy (4.3.1.a + 4.3.1.b)
    immunisation: float = 0.0  # infants given Pentavalent-1 (9.1.6): the cohort vaccinated
    ipd: float = 0.0  # admissions other than deliveries
    emergency: float = 0.0  # emergency registrations (14.5)
    major_ops: float = 0.0  # 14.8.1
    minor_ops: float = 0.0  # 14.8.4
    nsv: float = 0.0  # vasectomies (8.1.1)
    sterilisation: float = 0.0  # female sterilisations (8.2.1-8.2.4)
    iucd: float = 0.0  # interval IUCD insertions (8.3)
    pills: float = 0.0  # oral pill cycles (8.12)
    condoms: float = 0.0  # condom pieces (8.13)
    blood_units: float = 0.0  # blood units issued (14.8.6): hospitals with a blood bank or storage
    lab_rate: float = 0.0  # laboratory tests per outpatient
    xray_rate: float = 0.0  # X-rays per outpatient
    csection_rate: float = 0.0  # share of institutional deliveries by C-section


# Per type, so that the district's total divides as Hisar's does: the DH, two SDHs and
# eight CHCs carry most hospital work, sub-centres most ANC, immunisation and contraception,
# and private hospitals many deliveries with far more C-sections. The district factors then
# scale every service to the FY 2018-19 totals.
# fmt: off
PROFILES: dict[str, Profile] = {
    "SC": Profile(opd=150, anc=20, home_deliveries=0.4, deliveries=1.0, immunisation=22, iucd=2.5, pills=25,
                  condoms=500),
    "PHC": Profile(opd=1400, ayush_opd=40, anc=30, home_deliveries=0.3, deliveries=15, mtp=1, immunisation=25,
                   ipd=35, emergency=60, minor_ops=6, iucd=5, pills=40, condoms=600, lab_rate=0.3, xray_rate=0.01),
    "CHC": Profile(opd=4000, ayush_opd=150, anc=50, home_deliveries=0.2, deliveries=70, mtp=6, immunisation=40,
                   ipd=250, emergency=300, major_ops=10, minor_ops=40, nsv=0.3, sterilisation=10, iucd=8, pills=70,
                   condoms=1500, blood_units=20, lab_rate=0.5, xray_rate=0.03, csection_rate=0.10),
    "SDH": Profile(opd=12000, ayush_opd=300, anc=80, deliveries=180, mtp=15, immunisation=60, ipd=700,
                   emergency=900, major_ops=50, minor_ops=60, nsv=0.6, sterilisation=30, iucd=15, pills=120,
                   condoms=2500, blood_units=80, lab_rate=0.7, xray_rate=0.05, csection_rate=0.17),
    "DH": Profile(opd=30000, ayush_opd=600, anc=200, deliveries=450, mtp=40, immunisation=120, ipd=2000,
                  emergency=2800, major_ops=200, minor_ops=150, nsv=1.5, sterilisation=90, iucd=30, pills=250,
                  condoms=6000, blood_units=600, lab_rate=0.8, xray_rate=0.06, csection_rate=0.24),
    "PVT_HOSPITAL": Profile(opd=1100, anc=15, deliveries=25, mtp=4, immunisation=3, ipd=80, emergency=90,
                            major_ops=5, minor_ops=8, sterilisation=6, iucd=2, pills=10, condoms=100,
                            blood_units=10, lab_rate=0.6, xray_rate=0.05, csection_rate=0.42),
    "NURSING_HOME": Profile(opd=400, anc=8, deliveries=12, mtp=3, immunisation=2, ipd=30, emergency=20,
                            major_ops=1.5, minor_ops=3, sterilisation=2, iucd=1, pills=5, condoms=50,
                            lab_rate=0.4, xray_rate=0.02, csection_rate=0.33),
    "CLINIC": Profile(opd=300, anc=5, immunisation=1, minor_ops=1, pills=5, condoms=50, lab_rate=0.1),
    "AYUSH": Profile(ayush_opd=200),
}
# fmt: on

# Hisar district's FY 2018-19 totals (Data Commons' copy of the HMIS portal's district
# figures; /work/shared/reference), per month. "inpatients" counts every admission,
# deliveries included; "iucd_all" every IUCD insertion (interval, post-partum, post-abortion).
DISTRICT_MONTHLY = {
    "opd": 2_184_660 / 12,
    "ayush_opd": 158_269 / 12,
    "inpatients": 114_566 / 12,
    "major_ops": 6_761 / 12,
    "minor_ops": 1_709 / 12,
    "sterilisation": 8_805 / 12,  # tubectomies
    "nsv": 51 / 12,  # vasectomies
    "iucd_all": 8_034 / 12,
    "condoms": 966_536 / 12,
    "pills": 35_581 / 12,
}

# Shares the counts module draws with; the IUCD calibration needs them to know how many
# insertions are post-partum and post-abortion.
PPIUCD_PER_DELIVERY = 0.08
PAIUCD_PER_ABORTION = 0.10
ABORTIONS_PER_ANC = 0.03  # spontaneous abortions (4.2) per ANC registration

# Seasonal multipliers by calendar month (January first) for North India, before they are
# scaled to average 1: outpatients rise a little in the monsoon; fever, dengue and malaria
# peak August to October, diarrhoea in summer and monsoon, respiratory infections in winter;
# sterilisation camps run in winter.
_RAW_SEASONS = {
    "opd": (0.96, 0.95, 0.97, 0.98, 1.0, 1.02, 1.04, 1.05, 1.06, 1.04, 1.0, 0.96),
    "births": (0.97, 0.95, 0.97, 0.97, 0.98, 1.0, 1.02, 1.05, 1.08, 1.06, 1.0, 0.98),
    "fever": (0.8, 0.75, 0.8, 0.9, 1.0, 1.1, 1.5, 1.8, 2.0, 1.9, 1.3, 0.9),
    "diarrhoea": (0.6, 0.6, 0.8, 1.1, 1.4, 1.6, 1.7, 1.6, 1.3, 1.0, 0.8, 0.6),
    "respiratory": (1.8, 1.5, 1.1, 0.8, 0.7, 0.7, 0.8, 0.8, 0.9, 1.1, 1.5, 1.8),
    "typhoid": (0.8, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.4, 1.3, 1.1, 0.9, 0.8),
    "dengue": (0.1, 0.05, 0.05, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 3.5, 2.0, 0.5),
    "malaria": (0.2, 0.2, 0.3, 0.5, 0.8, 1.2, 2.5, 3.5, 4.0, 3.0, 1.5, 0.5),
    "sterilisation": (1.5, 1.3, 1.2, 0.8, 0.7, 0.7, 0.7, 0.8, 0.8, 0.9, 1.5, 1.6),
    "nsv": (0.9, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.8, 0.9, 2.0, 1.8),
}
# Each averages 1 over the year, so a yearly total is twelve times the month's mean volume.
SEASONS = {name: tuple(m / (sum(raw) / 12) for m in raw) for name, raw in _RAW_SEASONS.items()}

# Which seasonal pattern each service follows (none: the same every month).
_SERVICE_SEASON = {
    "opd": "opd",
    "ayush_opd": "opd",
    "ipd": "opd",
    "emergency": "opd",
    "deliveries": "births",
    "home_deliveries": "births",
    "sterilisation": "sterilisation",
    "nsv": "nsv",
}
# Services scaled to a district total, and the total they are scaled to.
_CALIBRATED = {
    "opd": "opd",
    "ayush_opd": "ayush_opd",
    "ipd": "inpatients",
    "major_ops": "major_ops",
    "minor_ops": "minor_ops",
    "sterilisation": "sterilisation",
    "nsv": "nsv",
    "iucd": "iucd_all",
    "condoms": "condoms",
    "pills": "pills",
}
SERVICES = tuple(f.name for f in fields(Profile) if not f.name.endswith("_rate"))


def season(name: str, month: int) -> float:
    """The multiplier of seasonal pattern ``name`` in calendar ``month`` (1-12)."""
    return SEASONS[name][month - 1]


def facility_traits(facility: Facility, seed: int) -> tuple[float, float]:
    """(size factor, C-section rate factor), fixed for a facility across months."""
    rng = np.random.default_rng([seed, 0, facility.number])
    if facility.facility_type in ("DH", "SDH"):
        size = float(rng.uniform(0.95, 1.05))
    else:
        size = float(np.clip(rng.lognormal(0.0, 0.3), 0.5, 1.8))
    return size, float(rng.uniform(0.8, 1.2))


@cache
def district_factors(seed: int) -> dict[str, float]:
    """Per service, the factor that makes the registered facilities' expected district total
    equal the FY 2018-19 figure (1.0 for services without a figure)."""
    registered = [facility for facility in build_registry(seed) if facility.registered]
    raw = {service: 0.0 for service in SERVICES}
    for facility in registered:
        profile = PROFILES[facility.facility_type]
        size, _ = facility_traits(facility, seed)
        for service in SERVICES:
            raw[service] += getattr(profile, service) * size
    factors = {service: 1.0 for service in SERVICES}
    for service, total in _CALIBRATED.items():
        target = DISTRICT_MONTHLY[total]
        if service == "ipd":
            # Inpatients include every institutional delivery; the rest are other admissions.
            target -= raw["deliveries"]
        elif service == "iucd":
            # Post-partum and post-abortion insertions follow deliveries and abortions.
            target -= raw["deliveries"] * PPIUCD_PER_DELIVERY
            target -= (raw["mtp"] + raw["anc"] * ABORTIONS_PER_ANC) * PAIUCD_PER_ABORTION
        factors[service] = target / raw[service]
    return factors


def base_volumes(facility: Facility, seed: int) -> dict[str, float]:
    """The facility's mean monthly volume of each service over a year (no season)."""
    profile = PROFILES[facility.facility_type]
    size, _ = facility_traits(facility, seed)
    factors = district_factors(seed)
    return {service: getattr(profile, service) * size * factors[service] for service in SERVICES}


def monthly_volumes(facility: Facility, period: str, seed: int) -> dict[str, float]:
    """The facility's expected volume of each service in ``period`` (season included)."""
    _, month = parse_period(period)
    volumes = base_volumes(facility, seed)
    for service, pattern in _SERVICE_SEASON.items():
        volumes[service] *= season(pattern, month)
    return volumes


@cache
def typical_maxima() -> dict[str, int]:
    """The pipeline's per-element monthly maxima for one facility (``typical_max.csv``), or
    none while that file does not exist. Above them a value is flagged for the facility to
    confirm, so clean values and the planted rise stay under them and the planted
    "extreme value" warning goes over."""
    if not TYPICAL_MAX_PATH.exists():
        return {}
    with TYPICAL_MAX_PATH.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {row["element"]: int(row["typical_max"]) for row in rows}
