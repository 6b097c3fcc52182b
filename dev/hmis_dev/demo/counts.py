"""The monthly counts of one facility, per data element: plausible, seasonal and consistent.

Counts are generated per *data element* (``item.element`` of :mod:`hmis.reference.formats`,
named by the 2017 consolidation's codes: ``2.2`` institutional deliveries, ``9.1.6``
Pentavalent 1, ``14.2.1`` allopathic outpatients), never per format code, so the same
meaning gets the same volume whichever format a facility reports on. :func:`element_counts`
gives every count element of the consolidation; :mod:`hmis_dev.demo.values` keeps those the
facility's format has, under that format's codes.

How the numbers hang together
    Each count is drawn from the facility's monthly volumes (:mod:`hmis_dev.demo.scale`):
    Poisson around a service's volume times a rate, or Binomial *out of* the count it is
    part of. Because a part is drawn out of its whole, every relation of
    ``expectations/validation_rules.yaml`` holds by construction: first-trimester
    registrations out of registrations, C-sections out of deliveries, positives out of the
    tests done, Penta-3 out of Penta-1, disease-wise outpatients and inpatients out of
    the attendance and admissions (drawn one after another from what is left, so their sum
    cannot exceed it). Items no rule covers are still tied to their service (ANC items to
    ANC registrations, newborn items to live births, laboratory items to outpatients) and
    are small or zero where a facility type does not provide the service.

Seasonality (:data:`hmis_dev.demo.scale.SEASONS`) is the same in every block: fever,
dengue (11.3.1, 14.4.2), malaria (11.1.x positives, 14.4.1), typhoid (Widal 15.4.2,
14.4.3), PUO (14.4.6) and diarrhoea (10.11, 14.4.7) rise in the monsoon, respiratory
infections in winter.

Planted dengue rise
    Every year in August, September and October (:data:`DENGUE_RISE`) the facilities of
    block :data:`DENGUE_RISE_BLOCK` (Barwala) see about 3, 5 and 6 times their seasonal
    count of dengue RDT positives (11.3.1) and dengue inpatients (14.4.2). The extra cases
    are drawn from a random stream of their own out of the fever patients and admissions
    not already counted, so every relation still holds and every other value is what it
    would be without the rise. The disease-signal pipeline must find it in Barwala and
    nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hmis.reference.periods import parse_period
from hmis_dev.demo.registry import Facility
from hmis_dev.demo.scale import (
    ABORTIONS_PER_ANC,
    PAIUCD_PER_ABORTION,
    PPIUCD_PER_DELIVERY,
    PROFILES,
    facility_traits,
    monthly_volumes,
    season,
    typical_maxima,
)

DENGUE_RDT = "11.3.1"  # Dengue - RDT test positive
DENGUE_INPATIENTS = "14.4.2"  # Inpatient - Dengue
SIGNAL_ITEMS = (DENGUE_RDT, DENGUE_INPATIENTS)
DENGUE_RISE_BLOCK = "Barwala"
# Calendar month -> multiple of the usual seasonal dengue count in the planted block.
DENGUE_RISE = {8: 3.0, 9: 5.0, 10: 6.0}

# Shares of fever patients and of admissions (averaged over the year; the season scales them).
FEVER_PER_OUTPATIENT = 0.06
DENGUE_PER_FEVER = 0.0065
DENGUE_PER_ADMISSION = 0.004

# Disease-wise outpatients (14.1.x), as shares of the attendance they are drawn out of.
_OPD_DISEASES = (
    ("14.1.1", 0.04),  # diabetes
    ("14.1.2", 0.05),  # hypertension
    ("14.1.3", 0.003),  # stroke
    ("14.1.4", 0.004),  # acute heart disease
    ("14.1.5", 0.005),  # mental illness
    ("14.1.6", 0.003),  # epilepsy
    ("14.1.7", 0.03),  # ophthalmic
    ("14.1.8", 0.025),  # dental
    ("14.1.9", 0.002),  # oncology
)
# Disease-wise inpatients (14.4.x): share of admissions other than deliveries, and season.
_IPD_DISEASES = (
    ("14.4.1", 0.004, "malaria"),
    (DENGUE_INPATIENTS, DENGUE_PER_ADMISSION, "dengue"),
    ("14.4.3", 0.02, "typhoid"),
    ("14.4.4", 0.06, "respiratory"),  # asthma, COPD, respiratory infections
    ("14.4.5", 0.005, None),  # tuberculosis
    ("14.4.6", 0.03, "fever"),  # pyrexia of unknown origin
    ("14.4.7", 0.04, "diarrhoea"),  # diarrhoea with dehydration
    ("14.4.8", 0.006, None),  # hepatitis
)
# Emergency registrations by kind (14.6.x), drawn out of all registrations (14.5).
_EMERGENCIES = (
    ("14.6.1", 0.35, None),  # trauma
    ("14.6.2", 0.02, None),  # burns
    ("14.6.3", 0.05, None),  # obstetric complications
    ("14.6.4", 0.01, "fever"),  # snake bite: a monsoon emergency
    ("14.6.5", 0.04, None),  # acute cardiac
    ("14.6.7", 0.02, None),  # stroke (CVA)
)
# Adolescent and adult deaths by cause (16.7.x), per outpatient of the facility's area.
_ADULT_DEATHS = (
    ("16.7.1", 0.00003),
    ("16.7.2", 0.00005),
    ("16.7.3", 0.00008),
    ("16.7.4", 0.00004),
    ("16.7.5", 0.00001),
    ("16.7.6", 0.00015),
    ("16.7.7", 0.00006),
    ("16.7.8", 0.00006),
    ("16.7.9", 0.00008),
    ("16.7.10", 0.00003),
    ("16.7.11", 0.00001),
    ("16.7.12", 0.00005),
    ("16.7.13", 0.00008),
    ("16.7.14", 0.00006),
)
_INFANT_DEATHS = (("16.3.1", 0.0008), ("16.3.2", 0.0005), ("16.3.3", 0.0004), ("16.3.4", 0.00005), ("16.3.5", 0.0008))
_CHILD_DEATHS = (("16.4.1", 0.0003), ("16.4.2", 0.0002), ("16.4.3", 0.0002), ("16.4.4", 0.00002), ("16.4.5", 0.0004))
# Maternal deaths by cause (16.5.x), per delivery.
_MATERNAL_DEATHS = (
    ("16.5.1", 0.0002),
    ("16.5.2", 0.00005),
    ("16.5.3", 0.00005),
    ("16.5.4", 0.00005),
    ("16.5.5", 0.0001),
    ("16.5.6", 0.0001),
)
# Public facilities hold Rogi Kalyan Samiti meetings; hospitals with a newborn unit: SNCU and NRC.
_RKS_TYPES = ("PHC", "CHC", "SDH", "DH")
_SNCU_TYPES = ("DH",)
_HOSPITAL_TYPES = ("SDH", "DH")


class _Draw:
    """One facility-month's random stream and volumes, and the draws counts are made of."""

    def __init__(self, rng: np.random.Generator, volumes: dict[str, float], month: int):
        self.rng = rng
        self.volumes = volumes
        self.month = month

    def mean(self, service: str, rate: float = 1.0, pattern: str | None = None) -> float:
        """Expected count: the service's volume times ``rate``, in season ``pattern``."""
        return self.volumes[service] * rate * (season(pattern, self.month) if pattern else 1.0)

    def poisson(self, mean: float) -> int:
        # No draw where there is nothing to count: a type without the service reports 0.
        return int(self.rng.poisson(mean)) if mean > 0 else 0

    def count(self, service: str, rate: float = 1.0, pattern: str | None = None) -> int:
        return self.poisson(self.mean(service, rate, pattern))

    def part(self, whole: int, share: float, pattern: str | None = None) -> int:
        """A count drawn out of ``whole``: never more than it."""
        p = share * (season(pattern, self.month) if pattern else 1.0)
        return int(self.rng.binomial(whole, min(max(p, 0.0), 1.0))) if whole > 0 else 0

    def split(self, whole: int, shares: Sequence[float]) -> list[int]:
        """``whole`` divided into parts with these shares (summing to 1): they add up to it."""
        return [int(n) for n in self.rng.multinomial(whole, shares)] if whole > 0 else [0] * len(shares)


class _Pool:
    """What is left of a count as parts are drawn out of it one after another."""

    def __init__(self, whole: int):
        self.remaining = whole

    def take(self, draw: _Draw, share: float, pattern: str | None = None) -> int:
        taken = draw.part(self.remaining, share, pattern)
        self.remaining -= taken
        return taken


class _Rise:
    """The planted dengue rise of one facility-month: extra cases, or none outside it."""

    def __init__(self, facility: Facility, period: str, seed: int):
        year, month = parse_period(period)
        self.month = month
        self.active = facility.block == DENGUE_RISE_BLOCK and month in DENGUE_RISE
        # A stream of its own, so the rise changes no other value.
        self.rng = np.random.default_rng([seed, year * 12 + month, facility.number, 3]) if self.active else None
        self.added: dict[str, int] = {}  # extra cases by element

    def added_cases(self, element: str, left: int, usual_share: float, usual: int) -> int:
        """Extra cases on top of ``usual``, drawn out of the ``left`` patients not yet counted.

        ``usual_share`` is the share of them that is dengue in an ordinary season, so the
        count becomes about ``DENGUE_RISE[month]`` times the usual one. Capped at the
        element's typical maximum: the rise is a signal, not a value to query as a typo.
        """
        if not self.active or left <= 0:
            return 0
        share = min(usual_share * (DENGUE_RISE[self.month] - 1.0), 1.0)
        extra = int(self.rng.binomial(left, share))
        limit = typical_maxima().get(element)
        if limit is not None:
            extra = max(min(extra, limit - usual), 0)
        self.added[element] = extra
        return extra

    def part(self, whole: int, share: float) -> int:
        """Like :meth:`_Draw.part`, from the rise's stream: for counts that follow the extra cases."""
        return int(self.rng.binomial(whole, share)) if self.active and whole > 0 else 0


def element_counts(facility: Facility, period: str, seed: int) -> dict[str, int]:
    """Every count element of the 2017 consolidation for one facility-month.

    Each facility-month draws from its own random stream (seed, month, facility number), so
    the values of a period do not depend on which other periods are generated.
    """
    year, month = parse_period(period)
    rng = np.random.default_rng([seed, year * 12 + month, facility.number])
    draw = _Draw(rng, monthly_volumes(facility, period, seed), month)
    rise = _Rise(facility, period, seed)
    v: dict[str, int] = {}
    _, csection_factor = facility_traits(facility, seed)
    kind = facility.facility_type
    profile = PROFILES[kind]

    births = _anc_and_deliveries(draw, v, profile.csection_rate * csection_factor)
    _family_planning(draw, v, births)
    _immunisation(draw, v, births["live"])
    _child_diseases(draw, v)
    fever = _vector_borne(draw, v, rise, has_lab=profile.lab_rate > 0)
    _adolescents_and_tb(draw, v)
    _outpatients(draw, v, kind)
    _inpatients(draw, v, rise, births)
    _emergencies_and_operations(draw, v, kind)
    _laboratory(draw, v, fever, profile.lab_rate, profile.xray_rate, kind)
    _deaths(draw, v, rise, births)
    _district_programmes(draw, v, births, hospital=kind in _HOSPITAL_TYPES)
    return v


def _anc_and_deliveries(d: _Draw, v: dict[str, int], csection_rate: float) -> dict[str, int]:
    """Modules 1-6: ANC, deliveries, C-sections, births, abortions, complications, PNC.

    Returns the counts later modules build on (deliveries, live births by sex, abortions).
    """
    anc = v["1.1"] = d.count("anc")
    v["1.1.1"] = d.part(anc, 0.72)
    # Nearly every woman registered gets Td1 at registration; those missed are at most a
    # tenth of them, so the WHO DQR check (Td1 within ±10 % of ANC registrations) holds.
    v["1.2.1"] = anc - d.part(anc, 0.4) // 10
    v["1.2.2"] = d.part(anc, 0.55)
    v["1.2.3"] = d.part(anc, 0.12)
    v["1.2.4"] = d.count("anc", 0.85)
    v["1.2.5"] = d.count("anc", 0.80)
    v["1.2.6"] = d.count("anc", 0.70)
    v["1.2.7"] = d.count("anc", 0.78)
    v["1.2.8"] = d.count("deliveries", 0.02)
    hypertension = v["1.3.1"] = d.part(anc, 0.06)
    v["1.3.1.a"] = d.part(hypertension, 0.7)
    v["1.3.2"] = d.count("deliveries", 0.004)
    hb_tested = v["1.4.1"] = d.count("anc", 0.6)
    v["1.4.2"] = d.part(hb_tested, 0.45)
    severe = v["1.4.3"] = d.part(hb_tested, 0.02)
    v["1.4.4"] = d.part(severe, 0.8)
    ogtt = v["1.5.1"] = d.count("anc", 0.5)
    gdm = v["1.5.2"] = d.part(ogtt, 0.07)
    v["1.5.3"] = d.part(gdm, 0.2)
    poc = v["1.6.1.a"] = d.count("anc", 0.4)
    v["1.6.1.b"] = d.part(poc, 0.002)
    syphilis = v["1.6.2.a"] = d.count("anc", 0.5)
    positive = v["1.6.2.b"] = d.part(syphilis, 0.002)
    v["1.6.2.c"] = d.part(positive, 0.9)
    congenital = v["1.6.2.d"] = d.count("deliveries", 0.0005)
    v["1.6.2.e"] = d.part(congenital, 0.9)

    home = d.count("home_deliveries")
    attended = v["2.1.1.a"] = d.part(home, 0.3)
    v["2.1.1.b"] = home - attended
    v["2.1.2"] = d.part(home, 0.5)
    v["2.1.3"] = d.part(home, 0.6)
    institutional = v["2.2"] = d.count("deliveries")
    csections = v["3.1"] = d.part(institutional, csection_rate)
    v["3.1.1"] = d.part(csections, 0.3)
    # Women after a normal delivery go home within 48 hours; after a C-section they stay.
    v["2.2.1"] = d.part(institutional - csections, 0.78)
    v["2.2.2"] = d.part(institutional, 0.6)

    deliveries = institutional + home
    still = d.part(deliveries, 0.014)
    # Twins add a baby without adding a delivery, so births are never fewer than deliveries.
    twins = min(d.part(deliveries - still, 0.011), deliveries // 20 + 2)
    live = deliveries - still + twins
    male = d.part(live, 0.525)
    v["4.1.1.a"], v["4.1.1.b"] = male, live - male
    v["4.1.2"] = d.part(live, 0.08)
    v["4.1.3"] = still
    abortions = v["4.2"] = d.count("anc", ABORTIONS_PER_ANC)
    early = v["4.3.1.a"] = d.count("mtp", 0.9)
    late = v["4.3.1.b"] = d.count("mtp", 0.1)
    complications = v["4.3.2.a"] = d.part(abortions + early + late, 0.03)
    v["4.3.2.b"] = d.part(complications, 0.9)
    v["4.3.3"] = d.part(early + late, 0.5)
    weighed = v["4.4.1"] = d.part(live, 0.97)
    v["4.4.2"] = d.part(weighed, 0.17)
    v["4.4.3"] = d.part(live, 0.82)
    obstetric = v["5.1"] = d.part(institutional, 0.08)
    v["5.2"] = d.part(obstetric, 0.15)
    v["6.1"] = d.part(home, 0.6)
    v["6.2"] = d.count("anc", 0.7)
    v["6.3"] = d.count("anc", 0.6)
    v["6.4"] = d.count("anc", 0.55)
    return {
        "institutional": institutional,
        "deliveries": deliveries,
        "live": live,
        "male": male,
        "abortions": abortions + early + late,
    }


def _family_planning(d: _Draw, v: dict[str, int], births: dict[str, int]) -> None:
    """Modules 7-8: RTI/STI, sterilisation, IUCD, injectables, pills, condoms."""
    rti_male = v["7.1.1"] = d.count("opd", 0.0015)
    rti_female = v["7.1.2"] = d.count("opd", 0.004)
    v["7.2.1"] = d.part(rti_male, 0.9)
    v["7.2.2"] = d.part(rti_female, 0.9)

    vasectomies = v["8.1.1"] = d.count("nsv")
    female = d.count("sterilisation")
    # Laparoscopic, interval mini-lap, post-partum and post-abortion sterilisations.
    v["8.2.1"], v["8.2.2"], v["8.2.3"], v["8.2.4"] = d.split(female, (0.45, 0.10, 0.40, 0.05))
    interval = v["8.3"] = d.count("iucd")
    postpartum = v["8.4"] = d.part(births["institutional"], PPIUCD_PER_DELIVERY)
    v["8.5"] = d.part(births["abortions"], PAIUCD_PER_ABORTION)
    v["8.6"] = d.count("iucd", 0.3)
    v["8.7"] = d.part(interval + postpartum, 0.01)
    # Antara injectable: first doses, and later doses of women who started earlier.
    for element, rate in (("8.8", 0.3), ("8.9", 0.21), ("8.10", 0.15), ("8.11", 0.12)):
        v[element] = d.count("iucd", rate)
    v["8.12"] = d.count("pills")
    v["8.13"] = d.count("condoms")
    v["8.14"] = d.count("pills", 0.15)
    v["8.15"] = d.count("pills", 0.05)
    v["8.16"] = d.count("anc", 1.2)
    v["8.17.1"] = d.part(vasectomies, 0.01)
    v["8.17.2"] = d.part(female, 0.01)
    v["8.17.3"] = d.part(vasectomies, 0.003)
    v["8.17.4"] = d.part(female, 0.003)
    v["8.17.5"] = d.part(vasectomies, 0.0002)
    v["8.17.6"] = d.part(female, 0.0002)


def _immunisation(d: _Draw, v: dict[str, int], live: int) -> None:
    """Module 9. Birth doses go to babies born here; the other doses are given at sessions to
    cohorts born earlier, each later dose drawn out of the first, so the year-to-date rules
    (Penta-2/3 <= Penta-1, DPT-3 <= DPT-1, OPV-3 <= OPV-1) hold in every month and so in
    every sum of months."""
    penta1 = v["9.1.6"] = d.count("immunisation")
    penta2 = v["9.1.7"] = d.part(penta1, 0.96)
    penta3 = v["9.1.8"] = d.part(penta1, 0.93)
    # DPT and Hepatitis B alone are given only where Pentavalent ran short: a few doses.
    dpt1 = v["9.1.3"] = d.count("immunisation", 0.02)
    v["9.1.4"] = d.part(dpt1, 0.95)
    v["9.1.5"] = d.part(dpt1, 0.9)
    v["9.1.1"] = d.part(live, 0.95)
    v["9.1.2"] = d.part(live, 0.9) + d.count("immunisation", 0.15)
    v["9.1.9"] = d.part(live, 0.9)
    # OPV goes with Penta at the same visit.
    opv1 = v["9.1.10"] = penta1 - d.part(penta1, 0.01)
    v["9.1.11"] = penta2 - d.part(penta2, 0.01)
    v["9.1.12"] = min(penta3 - d.part(penta3, 0.01), opv1)
    v["9.1.13"] = d.part(live, 0.88)
    hepb1 = v["9.1.14"] = d.count("immunisation", 0.02)
    v["9.1.15"] = d.part(hepb1, 0.95)
    v["9.1.16"] = d.part(hepb1, 0.9)
    v["9.1.17"] = d.part(penta1, 0.95)
    v["9.1.18"] = d.part(penta3, 0.93)
    v["9.1.19"] = d.part(penta1, 0.95)
    v["9.1.20"] = d.part(penta2, 0.95)
    v["9.1.21"] = d.part(penta3, 0.95)
    v["9.1.22"] = d.part(penta1, 0.9)
    v["9.1.23"] = d.part(penta2, 0.9)
    mr1 = v["9.2.1"] = d.part(penta1, 0.92)
    v["9.1.24"] = d.part(mr1, 0.85)
    v["9.2.2"] = d.count("immunisation", 0.01)
    v["9.2.3"] = 0  # Hisar is not a JE-endemic district: no JE vaccine
    fully = d.part(mr1, 0.93)
    boys = d.part(fully, 0.52)
    v["9.2.4.a"], v["9.2.4.b"] = boys, fully - boys
    v["9.2.5"] = d.part(mr1, 0.9)
    v["9.3.1"] = d.count("immunisation", 0.04)
    v["9.3.2"] = d.count("immunisation", 0.005)
    v["9.3.3"] = 0
    v["9.4.1"] = d.part(mr1, 0.88)
    v["9.4.2"] = d.count("immunisation", 0.005)
    booster = v["9.4.3"] = d.part(penta1, 0.85)
    v["9.4.4"] = d.part(booster, 0.98)
    v["9.4.5"] = d.count("immunisation", 0.01)
    v["9.4.6"] = 0
    v["9.5.1"] = d.count("immunisation", 0.02)
    v["9.5.2"] = d.count("immunisation", 0.8)
    v["9.5.3"] = d.count("immunisation", 0.7)
    v["9.5.4"] = d.count("immunisation", 0.6)
    v["9.6.1"] = d.count("immunisation", 0.001)
    v["9.6.2"] = d.count("immunisation", 0.00005)
    v["9.6.3"] = d.count("immunisation", 0.005)
    # Sessions follow the cohort: about one for every three children vaccinated.
    planned = v["9.7.1"] = int(round(d.mean("immunisation") / 3))
    held = v["9.7.2"] = planned - d.part(planned, 0.03)
    v["9.7.3"] = d.part(held, 0.9)
    v["9.8.1"] = d.part(mr1, 0.9)
    v["9.8.2"] = d.count("immunisation", 0.6)
    v["9.8.3"] = d.count("immunisation", 0.5)
    v["9.9"] = d.count("immunisation", 3.0)
    v["9.10"] = d.count("immunisation", 2.0)
    v["9.11"] = d.count("immunisation", 0.05)


def _child_diseases(d: _Draw, v: dict[str, int]) -> None:
    """Module 10, from the children among outpatients (about a fifth of them)."""
    child = d.mean("opd", 0.2)
    v["10.1"] = d.poisson(child * 0.01 * season("respiratory", d.month))
    for element, rate in (
        ("10.2", 0.004),
        ("10.3", 0.0008),
        ("10.4", 0.00005),
        ("10.5", 0.00005),
        ("10.6", 0.000005),
        ("10.7", 0.0005),
        ("10.8", 0.00005),
        ("10.9", 0.0002),
        ("10.14", 0.001),
    ):
        v[element] = d.poisson(child * rate)
    v["10.10"] = d.poisson(child * 0.0008 * season("malaria", d.month))
    diarrhoea = v["10.11"] = d.poisson(child * 0.03 * season("diarrhoea", d.month))
    v["10.12"] = d.part(diarrhoea, 0.08) if d.volumes["ipd"] > 0 else 0


def _vector_borne(d: _Draw, v: dict[str, int], rise: _Rise, has_lab: bool) -> int:
    """Module 11: malaria, kala-azar, dengue and JE tests among fever patients.

    Returns the month's fever patients, whom the laboratory (Widal) also tests.
    """
    fever = d.count("opd", FEVER_PER_OUTPATIENT, "fever")
    smears = v["11.1.1.a"] = d.part(fever, 0.35) if has_lab else 0
    vivax = v["11.1.1.b"] = d.part(smears, 0.004, "malaria")
    v["11.1.1.c"] = d.part(smears - vivax, 0.0005, "malaria")
    # Sub-centres and facilities without a laboratory test fevers with RDTs instead.
    rdts = v["11.1.2.a"] = d.part(fever, 0.15 if has_lab else 0.5)
    rdt_vivax = v["11.1.2.b"] = d.part(rdts, 0.004, "malaria")
    v["11.1.2.c"] = d.part(rdts - rdt_vivax, 0.0005, "malaria")
    v["11.2.1"] = v["11.2.2"] = v["11.2.3"] = 0  # kala-azar is not found in Haryana
    untested = _Pool(fever)
    usual = untested.take(d, DENGUE_PER_FEVER, "dengue")
    dengue_share = DENGUE_PER_FEVER * season("dengue", d.month)
    v[DENGUE_RDT] = usual + rise.added_cases(DENGUE_RDT, untested.remaining, dengue_share, usual)
    v["11.3.2"] = d.part(fever, 0.003, "dengue") if has_lab else 0
    je_tests = v["11.4.1"] = d.count("opd", 0.00005)
    v["11.4.2"] = d.part(je_tests, 0.05)
    return fever


def _adolescents_and_tb(d: _Draw, v: dict[str, int]) -> None:
    """Modules 12-13: adolescent-friendly health clinics and TB treatment (DOTS)."""
    girls = v["12.1.1.a"] = d.count("opd", 0.004)
    boys = v["12.1.1.b"] = d.count("opd", 0.003)
    v["12.1.2.a"], v["12.1.2.b"] = d.part(girls, 0.5), d.part(boys, 0.5)
    v["12.1.3.a"], v["12.1.3.b"] = d.part(girls, 0.8), d.part(boys, 0.8)
    dots = v["13.1"] = d.count("opd", 0.002)
    v["13.2"] = d.part(dots, 0.15)


def _outpatients(d: _Draw, v: dict[str, int], facility_type: str) -> None:
    """Attendance (14.2.x) and disease-wise outpatients (14.1.x), drawn out of it."""
    allopathic = v["14.2.1"] = d.count("opd")
    ayush = v["14.2.2"] = d.count("ayush_opd")
    # An AYUSH dispensary's patients are its own AYUSH attendance.
    attendance = _Pool(ayush if facility_type == "AYUSH" else allopathic)
    for element, share in _OPD_DISEASES:
        v[element] = attendance.take(d, share)


def _inpatients(d: _Draw, v: dict[str, int], rise: _Rise, births: dict[str, int]) -> None:
    """Admissions (14.3.x), disease-wise inpatients (14.4.x, drawn out of the admissions
    other than deliveries), deaths, bed occupancy and newborn units."""
    other = d.count("ipd")
    boys, men, girls, women = d.split(other, (0.14, 0.40, 0.11, 0.35))
    institutional = births["institutional"]
    v["14.3.1.a"], v["14.3.1.b"], v["14.3.2.a"] = boys, men, girls
    v["14.3.2.b"] = women + institutional  # every institutional delivery is an adult woman's admission
    admitted = other + institutional
    v["14.3.3"] = d.part(admitted, 0.01)
    beds = _Pool(other)
    for element, share, pattern in _IPD_DISEASES:
        v[element] = beds.take(d, share, pattern)
    dengue_share = DENGUE_PER_ADMISSION * season("dengue", d.month)
    v[DENGUE_INPATIENTS] += rise.added_cases(DENGUE_INPATIENTS, beds.remaining, dengue_share, v[DENGUE_INPATIENTS])
    v["10.13"] = d.part(v["14.4.4"], 0.3)  # the children among respiratory admissions
    v["14.9.1"] = d.part(boys + men, 0.01)
    v["14.9.2"] = d.part(girls + women + institutional, 0.006)
    v["14.10"] = d.poisson(admitted * 3.0)  # midnight head counts: about three nights a stay
    v["14.11"] = d.part(births["live"], 0.03)


def _emergencies_and_operations(d: _Draw, v: dict[str, int], facility_type: str) -> None:
    """Emergency (14.5-14.7), operations and blood (14.8.x), hospital management (14.11-14.19)."""
    registered = v["14.5"] = d.count("emergency")
    arrivals = _Pool(registered)
    for element, share, pattern in _EMERGENCIES:
        v[element] = arrivals.take(d, share, pattern)
    v["14.7"] = d.part(registered, 0.004)
    major = v["14.8.1"] = d.count("major_ops")
    hysterectomies = v["14.8.2"] = d.part(major, 0.08)
    v["14.8.3"] = d.part(major - hysterectomies, 0.5)
    v["14.8.4"] = d.count("minor_ops")
    v["14.8.5"] = d.part(major, 0.01)
    units = v["14.8.6"] = d.count("blood_units")
    v["14.8.7"] = d.part(units, 0.9)
    v["14.19"] = units  # the consolidation asks for the month's blood units twice
    v["14.18"] = d.part(units, 0.3)

    sncu = facility_type in _SNCU_TYPES
    v["14.12.1"] = d.part(v["4.1.1.a"], 0.08) if sncu else 0
    v["14.12.2"] = d.part(v["4.1.1.b"], 0.07) if sncu else 0
    outborn_boys = v["14.12.3"] = d.poisson(25.0) if sncu else 0
    outborn_girls = v["14.12.4"] = d.poisson(20.0) if sncu else 0
    v["14.12.5"] = d.part(outborn_boys + outborn_girls, 0.3)
    v["14.13"] = d.part(v["14.12.1"] + v["14.12.2"] + outborn_boys + outborn_girls, 0.05)
    nrc = v["14.14.1"] = d.poisson(12.0) if sncu else 0
    v["14.14.2"] = d.part(nrc, 0.6)
    v["14.15"] = d.part(1, 0.7) if facility_type in _RKS_TYPES else 0  # a meeting most months
    v["14.16"] = d.poisson(8.0) if facility_type in _HOSPITAL_TYPES else 0
    v["14.17"] = d.poisson(1.0) if facility_type in _HOSPITAL_TYPES else 0


def _laboratory(d: _Draw, v: dict[str, int], fever: int, lab_rate: float, xray_rate: float, facility_type: str) -> None:
    """Module 15: every specific test is also one of the laboratory's tests (15.1)."""
    hb = v["15.2.1"] = d.count("opd", 0.05) + d.count("anc", 1.0)
    v["15.2.2"] = d.part(hb, 0.02)
    has_lab = lab_rate > 0
    male_hiv = v["15.3.1.a"] = d.count("opd", 0.004) if has_lab else 0
    v["15.3.1.b"] = d.part(male_hiv, 0.003)
    female_hiv = v["15.3.2.a"] = d.count("opd", 0.004) if has_lab else 0
    v["15.3.2.b"] = d.part(female_hiv, 0.002)
    pregnant = v["15.3.3.a"] = d.count("anc", 0.8)
    screened_positive = v["15.3.3.b"] = d.part(pregnant, 0.001)
    v["15.3.3.c"] = d.part(screened_positive, 0.5)
    male_sti = v["15.3.4.a"] = d.part(v["7.1.1"], 0.5)
    v["15.3.4.b"] = d.part(male_sti, 0.03)
    female_sti = v["15.3.4.c"] = d.part(v["7.1.2"], 0.5)
    v["15.3.4.d"] = d.part(female_sti, 0.03)
    widal = v["15.4.1"] = d.part(fever, 0.15) if has_lab else 0
    v["15.4.2"] = d.part(widal, 0.12, "typhoid")
    v["15.5.1"] = d.count("opd", xray_rate)
    v["15.5.2"] = (d.count("anc", 1.5) + d.count("opd", 0.01)) if facility_type in _HOSPITAL_TYPES else 0
    specific = hb + v["11.1.1.a"] + widal + male_hiv + female_hiv + pregnant + male_sti + female_sti
    v["15.1"] = specific + d.count("opd", lab_rate) if has_lab else 0


def _deaths(d: _Draw, v: dict[str, int], rise: _Rise, births: dict[str, int]) -> None:
    """Module 16 (numbered 17 in the CHC format): deaths by age group and cause."""
    live = births["live"]
    v["16.1"] = d.part(live, 0.004)
    v["16.2.1"], v["16.2.2"], v["16.2.3"] = d.part(live, 0.002), d.part(live, 0.003), d.part(live, 0.002)
    for element, rate in _INFANT_DEATHS + _CHILD_DEATHS:
        v[element] = d.count("immunisation", rate)
    maternal = 0
    for element, rate in _MATERNAL_DEATHS:
        v[element] = d.part(births["deliveries"], rate)
        maternal += v[element]
    v["16.6"] = d.part(maternal, 0.8)  # facility-based reviews of those deaths
    for element, rate in _ADULT_DEATHS:
        v[element] = d.count("opd", rate)
    v["16.8.1"] = d.part(v["11.1.1.b"] + v["11.1.2.b"], 0.001)
    v["16.8.2"] = d.part(v["11.1.1.c"] + v["11.1.2.c"], 0.005)
    v["16.8.3"] = 0
    # Deaths among the usual dengue inpatients from this stream, among the planted extra ones
    # from the rise's own: the main stream draws the same numbers with or without the rise.
    extra = rise.added.get(DENGUE_INPATIENTS, 0)
    v["16.8.4"] = d.part(v[DENGUE_INPATIENTS] - extra, 0.005) + rise.part(extra, 0.005)
    v["16.8.5"] = d.count("opd", 0.000002)
    v["16.8.6"] = 0


def _district_programmes(d: _Draw, v: dict[str, int], births: dict[str, int], hospital: bool) -> None:
    """Modules 21-25 of the consolidation (district and sub-district hospitals only): RBSK
    screening, adolescent IFA and sanitary napkins, WIFS junior, maternal death reviews and
    JSSK entitlements. Sized on the hospital's ANC registrations as a proxy for its area."""
    scale = 1.0 if hospital else 0.0
    institutional = births["institutional"]
    v["21.1"] = d.part(births["live"], 0.9)
    at_anganwadi = v["21.2"] = d.count("anc", 1.5 * scale)
    at_school = v["21.3"] = d.count("anc", 4.0 * scale)
    screened = v["21.1"] + at_anganwadi + at_school
    identified = 0
    for suffix, share in (("1", 0.01), ("2", 0.02), ("3", 0.003)):
        for sex in ("a", "b"):
            element = f"21.4.{suffix}.{sex}"
            v[element] = d.part(screened, share / 2)
            identified += v[element]
    v["21.5.1"] = d.part(identified, 0.6)
    v["21.5.2"] = d.part(identified, 0.05)
    v["21.5.3"] = d.count("anc", 0.2 * scale)
    for element, rate in (
        ("22.1.1.a", 6.0),
        ("22.1.1.b", 6.0),
        ("22.1.2.a", 1.0),
        ("22.1.2.b", 1.0),
        ("22.1.3", 0.5),
        ("22.1.4", 0.1),
        ("22.2.1", 1.5),
        ("22.2.2", 2.0),
        ("22.2.3", 0.5),
        ("22.2.4", 1.0),
        ("23.1", 5.0),
        ("23.2", 1.0),
        ("23.3", 0.3),
        ("23.4", 0.1),
    ):
        v[element] = d.count("anc", rate * scale)
    maternal = sum(v[element] for element, _ in _MATERNAL_DEATHS)
    v["24.1"] = d.part(maternal, 0.9)
    v["24.2"] = d.part(maternal, 0.5)
    v["24.3"] = d.count("anc", 0.002 * scale)
    v["25.1.1"] = d.part(institutional, 0.95) + d.part(v["1.1"], 0.3)
    v["25.1.2"] = d.part(institutional, 0.9)
    v["25.1.3"] = d.part(institutional, 0.92)
    v["25.1.4"] = d.part(institutional, 0.6)
    v["25.1.5"] = d.part(institutional, 0.05)
    v["25.1.6"] = d.part(institutional, 0.65)
    sick = v["25.2.1"] = d.count("opd", 0.002 * scale)
    v["25.2.2"] = d.part(sick, 0.8)
    v["25.2.3"] = d.part(sick, 0.3)
    v["25.2.4"] = d.part(sick, 0.05)
    v["25.2.5"] = d.part(sick, 0.3)
