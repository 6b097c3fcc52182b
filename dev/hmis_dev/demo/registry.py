"""The facility registry and contacts of Hisar district, as the district's figures describe it.

320 institutions: 266 registered on HMIS (118 public allopathic: 1 district hospital,
2 sub-divisional hospitals, 8 CHCs, 22 PHCs and 85 sub-centres; 53 public AYUSH
dispensaries; 95 private) and 54 private institutions not registered. Those 54 are the
district's registration gap, the institutions it must chase, so the pipeline has one to find.
All nine blocks have public facilities at every level and some private ones; private
institutions cluster in Hisar-I, Hisar-II and Hansi-I, where the towns are. No facility is
closed, so the same 266 are expected to report in every period.

Areas carry their Local Government Directory (LGD) codes, the codes the state's DHIS2 knows
them by (``orgUnit``): Haryana 6, Hisar district 63 and its nine blocks 484-492
(:data:`BLOCK_LGD`; from the LGD's own list, see /work/shared/reference/lgd_haryana.csv).
The registry gives both the district's (``district_lgd``) and the block's (``block_lgd``).

Identifiers (``HR-HIS-0001`` …) are assigned by type, then block, then position, so they are
stable for a seed. Public facilities are named after villages of their block; private
names are invented. Contacts are one block medical officer per block and the district and
state HMIS officers who receive alerts, all at :data:`EMAIL_DOMAIN`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from hmis.reference.periods import REPORTING_TZ
from hmis_dev.demo.files import CONTACT_COLUMNS, FACILITY_COLUMNS, csv_bytes, write_file

DISTRICT = "Hisar"
STATE = "Haryana"
# LGD codes (Local Government Directory). 72 is Rewari, not Hisar: Hisar is 63.
STATE_LGD = "6"
DISTRICT_LGD = "63"
BLOCK_LGD = {
    "Adampur": "484",
    "Agroha": "485",
    "Barwala": "486",
    "Hansi-I": "487",
    "Hansi-II": "488",
    "Hisar-I": "489",
    "Hisar-II": "490",
    "Narnaund": "491",
    "Uklana": "492",
}

# The order facilities are numbered in (identifiers are stable because this is).
BLOCKS = (
    "Hisar-I",
    "Hisar-II",
    "Adampur",
    "Agroha",
    "Barwala",
    "Uklana",
    "Narnaund",
    "Hansi-I",
    "Hansi-II",
)

EMAIL_DOMAIN = "hisar.hmis.example"

# The registry files carry this modification time, as if exported at the start of
# financial year 2025-26; every registration and opening date in them is earlier.
REGISTRY_EXPORTED_AT = datetime(2025, 4, 1, 10, 0, tzinfo=REPORTING_TZ)

_TYPE_ORDER = ("DH", "SDH", "CHC", "PHC", "SC", "AYUSH", "PVT_HOSPITAL", "NURSING_HOME", "CLINIC")
_PRIVATE_TYPES = ("PVT_HOSPITAL", "NURSING_HOME", "CLINIC")


@dataclass(frozen=True)
class _BlockLayout:
    chc: str | None  # village of the block's CHC; Barwala has an SDH instead
    phcs: tuple[str, ...]
    scs: tuple[str, ...]
    town: str | None  # town that also hosts an AYUSH dispensary
    ayush: int
    private: int


# Villages of Hisar district grouped by block. Public facility names are the village
# names; AYUSH dispensaries are placed in some of the same villages.
# fmt: off
_LAYOUT: dict[str, _BlockLayout] = {
    "Hisar-I": _BlockLayout(
        chc="Mayyar", phcs=("Ladwa", "Talwandi Rana"),
        scs=("Dabra", "Satrod Kalan", "Kaimri", "Gangwa", "Dhandhur", "Mirzapur", "Rawalwas Kalan", "Jugalan"),
        town="Hisar", ayush=7, private=58,
    ),
    "Hisar-II": _BlockLayout(
        chc="Mangali", phcs=("Balsamand", "Arya Nagar", "Kheri Barki"),
        scs=("Dhansu", "Chaudhriwas", "Kirmara", "Ladwi", "Muklan", "Tokas Patan", "Bhojraj", "Sarsana",
             "Dhiktana", "Bugana"),
        town=None, ayush=6, private=24,
    ),
    "Adampur": _BlockLayout(
        chc="Adampur", phcs=("Chaudhriwali", "Kishangarh", "Sadalpur"),
        scs=("Khairampur", "Kohli", "Mohabbatpur", "Moda Khera", "Siswal", "Chuli Bagrian", "Chuli Kalan",
             "Bagla", "Asrawan", "Sarangpur"),
        town=None, ayush=6, private=9,
    ),
    "Agroha": _BlockLayout(
        chc="Agroha", phcs=("Nangthala", "Kanwari"),
        scs=("Sabarwas", "Landhari", "Chikanwas", "Kirori", "Siwani Bolan", "Nangal", "Meerpur", "Kulheri"),
        town=None, ayush=6, private=6,
    ),
    "Barwala": _BlockLayout(
        chc=None, phcs=("Khokha", "Rajli", "Kharak Punia"),
        scs=("Sarsod", "Budana", "Jevra", "Balak", "Chanot", "Raipur", "Bichpari", "Sarheda",
             "Dhani Khan Bahadur", "Kharkhari"),
        town="Barwala", ayush=6, private=9,
    ),
    "Uklana": _BlockLayout(
        chc="Uklana", phcs=("Bithmara", "Daulatpur"),
        scs=("Pabra", "Litani", "Surewala", "Sandlana", "Prabhuwala", "Budha Khera", "Kharkhara", "Mugalpura",
             "Gorchhi", "Chamar Khera"),
        town=None, ayush=5, private=8,
    ),
    "Narnaund": _BlockLayout(
        chc="Narnaund", phcs=("Mirchpur", "Rakhi Garhi", "Petwar"),
        scs=("Khanda Kheri", "Kheri Jalab", "Majra Pyau", "Thurana", "Kapro", "Lohari Ragho", "Bhatol Jattan",
             "Koth Kalan", "Rajthal", "Pali", "Ramayan"),
        town=None, ayush=6, private=7,
    ),
    "Hansi-I": _BlockLayout(
        chc="Sorkhi", phcs=("Sultanpur", "Jamawari"),
        scs=("Dhandheri", "Mohla", "Masudpur", "Umra", "Garhi", "Ghirai", "Haibatpur", "Kharad"),
        town="Hansi", ayush=6, private=22,
    ),
    "Hansi-II": _BlockLayout(
        chc="Sisai", phcs=("Bass", "Datta"),
        scs=("Rampura", "Sisar", "Puthi Mangal Khan", "Jamni", "Madha", "Kheri Lochab", "Kulana",
             "Bhaini Amirpur", "Gurana", "Hajampur"),
        town=None, ayush=5, private=6,
    ),
}
# fmt: on

# First-referral hospitals: (type, block, name).
_HOSPITALS = (
    ("DH", "Hisar-I", "Civil Hospital Hisar"),
    ("SDH", "Hansi-I", "SDH Hansi"),
    ("SDH", "Barwala", "SDH Barwala"),
)

# How many private institutions of each type exist, and how many are not on HMIS.
_PRIVATE_COUNTS = {"PVT_HOSPITAL": (38, 4), "NURSING_HOME": (46, 13), "CLINIC": (65, 37)}

# Invented names for private institutions; combined with a type-specific suffix.
# fmt: off
_PRIVATE_STEMS = (
    "Navjeevan", "Shivalik", "Aarogyam", "Shubham", "Umang", "Aastha", "Amrit", "Suraksha", "Sahaj", "Prerna",
    "Vatsalya", "Sanjog", "Kalpataru", "Anant", "Sarthak", "Nidaan", "Pragati", "Ujala", "Jeevandeep",
    "Saubhagya", "Mangalam", "Roshni", "Vardaan", "Muskaan", "Samarpan", "Tulsi", "Kamdhenu", "Kesar",
    "Chandan", "Sarvhit", "Vishwas", "Gayatri", "Kaveri", "Yamuna", "Garg", "Singla", "Goyal", "Bansal",
    "Mittal", "Tayal", "Khurana", "Chawla", "Kalra", "Saini", "Malik", "Punia", "Sihag", "Godara", "Beniwal",
    "Dhanda", "Lohan", "Kundu", "Sheoran", "Jakhar", "Dahiya", "Nain", "Kaushik", "Bhardwaj", "Sangwan",
)
# fmt: on
_PRIVATE_SUFFIXES = {
    "PVT_HOSPITAL": ("Hospital", "Multispeciality Hospital", "Hospital & Trauma Centre", "Mother & Child Hospital"),
    "NURSING_HOME": ("Nursing Home", "Maternity & Nursing Home", "Surgical & Maternity Home"),
    "CLINIC": ("Clinic", "Health Clinic", "Polyclinic", "Child Care Clinic", "Family Clinic"),
}
_AYUSH_SYSTEMS = (("Ayurvedic", 70), ("Homoeopathic", 22), ("Unani", 8))

_CONTACT_NAMES = {
    "Hisar-I": "Dr. Sunita Malik",
    "Hisar-II": "Dr. Rajesh Punia",
    "Adampur": "Dr. Anil Sihag",
    "Agroha": "Dr. Kavita Goyal",
    "Barwala": "Dr. Manoj Beniwal",
    "Uklana": "Dr. Pooja Dhanda",
    "Narnaund": "Dr. Sandeep Lohan",
    "Hansi-I": "Dr. Neha Kundu",
    "Hansi-II": "Dr. Vikas Sheoran",
}


@dataclass(frozen=True)
class Facility:
    """One institution of the registry; :meth:`as_row` is its line in ``facilities.csv``."""

    facility_id: str
    name: str
    facility_type: str
    ownership: str
    block: str
    registered: bool
    registered_on: date | None
    opened_on: date

    @property
    def number(self) -> int:
        return int(self.facility_id.rsplit("-", 1)[1])

    @property
    def is_ayush(self) -> bool:
        return self.facility_type == "AYUSH"

    @property
    def block_lgd(self) -> str:
        return BLOCK_LGD[self.block]

    def as_row(self) -> dict[str, str]:
        return {
            "facility_id": self.facility_id,
            "name": self.name,
            "facility_type": self.facility_type,
            "ownership": self.ownership,
            "is_ayush": _flag(self.is_ayush),
            "block": self.block,
            "block_lgd": self.block_lgd,
            "district": DISTRICT,
            "district_lgd": DISTRICT_LGD,
            "state": STATE,
            "hmis_registered": _flag(self.registered),
            "hmis_registered_on": self.registered_on.isoformat() if self.registered_on else "",
            "opened_on": self.opened_on.isoformat(),
            "closed_on": "",
        }


def write_registry(landing_root: Path, seed: int = 2026) -> None:
    """Write ``registry/facilities.csv`` and ``registry/contacts.csv`` under ``landing_root``.

    Both files are rewritten from scratch, are UTF-8 with ``\\n`` line endings, and carry
    :data:`REGISTRY_EXPORTED_AT` as modification time, so equal seeds give equal files.
    """
    registry = Path(landing_root) / "registry"
    registry.mkdir(parents=True, exist_ok=True)
    facilities = build_registry(seed)
    write_file(
        registry / "facilities.csv",
        csv_bytes(FACILITY_COLUMNS, [facility.as_row() for facility in facilities]),
        REGISTRY_EXPORTED_AT,
    )
    write_file(registry / "contacts.csv", csv_bytes(CONTACT_COLUMNS, _contacts(seed)), REGISTRY_EXPORTED_AT)


def build_registry(seed: int) -> list[Facility]:
    """The 320 institutions for ``seed``, in identifier order (registered and not)."""
    rng = random.Random(f"{seed}:registry")
    drafts: list[dict] = []  # one per institution, before identifiers are assigned

    def add(facility_type: str, block: str, name: str, ownership: str, registered: bool = True) -> None:
        drafts.append(
            {"type": facility_type, "block": block, "name": name, "ownership": ownership, "registered": registered}
        )

    for facility_type, block, name in _HOSPITALS:
        add(facility_type, block, name, "public")
    for block in BLOCKS:
        layout = _LAYOUT[block]
        if layout.chc:
            add("CHC", block, f"CHC {layout.chc}", "public")
        for village in layout.phcs:
            add("PHC", block, f"PHC {village}", "public")
        for village in layout.scs:
            add("SC", block, f"SC {village}", "public")
        places = ([layout.town] if layout.town else []) + [
            village for village in (layout.chc, *layout.phcs, *layout.scs) if village
        ]
        systems = [name for name, _ in _AYUSH_SYSTEMS]
        weights = [weight for _, weight in _AYUSH_SYSTEMS]
        for place in sorted(rng.sample(places, layout.ayush), key=places.index):
            system = rng.choices(systems, weights=weights)[0]
            add("AYUSH", block, f"Govt. {system} Dispensary {place}", "public")

    for facility_type, block, name, registered in _private_institutions(rng):
        add(facility_type, block, name, "private", registered)

    # Stable identifiers: by type, then block, then position within the block.
    type_rank = {facility_type: rank for rank, facility_type in enumerate(_TYPE_ORDER)}
    block_rank = {block: rank for rank, block in enumerate(BLOCKS)}
    drafts = [
        draft
        for _, draft in sorted(
            enumerate(drafts),
            key=lambda pair: (type_rank[pair[1]["type"]], block_rank[pair[1]["block"]], pair[0]),
        )
    ]

    facilities = []
    for number, draft in enumerate(drafts, start=1):
        opened_on, registered_on = _facility_dates(rng, draft["type"], draft["registered"])
        facilities.append(
            Facility(
                facility_id=f"HR-HIS-{number:04d}",
                name=draft["name"],
                facility_type=draft["type"],
                ownership=draft["ownership"],
                block=draft["block"],
                registered=draft["registered"],
                registered_on=registered_on,
                opened_on=opened_on,
            )
        )
    return facilities


def _private_institutions(rng: random.Random) -> list[tuple[str, str, str, bool]]:
    types = [t for t in _PRIVATE_TYPES for _ in range(_PRIVATE_COUNTS[t][0])]
    rng.shuffle(types)
    blocks = [block for block in BLOCKS for _ in range(_LAYOUT[block].private)]
    if len(types) != len(blocks):
        raise ValueError(f"layout places {len(blocks)} private institutions but the type counts give {len(types)}")

    unregistered: set[int] = set()
    for facility_type in _PRIVATE_TYPES:
        positions = [i for i, t in enumerate(types) if t == facility_type]
        unregistered.update(rng.sample(positions, _PRIVATE_COUNTS[facility_type][1]))

    used: set[str] = set()
    result = []
    for position, (facility_type, block) in enumerate(zip(types, blocks)):
        suffixes = _PRIVATE_SUFFIXES[facility_type]
        while True:  # stems x suffixes offer several times more names than any type needs
            name = f"{rng.choice(_PRIVATE_STEMS)} {rng.choice(suffixes)}"
            if name not in used:
                break
        used.add(name)
        result.append((facility_type, block, name, position not in unregistered))
    return result


def _facility_dates(rng: random.Random, facility_type: str, registered: bool) -> tuple[date, date | None]:
    """(opened_on, hmis_registered_on); registration always after opening and before 2025."""
    opened_ranges = {
        "DH": (date(1956, 1, 1), date(1966, 12, 31)),
        "SDH": (date(1965, 1, 1), date(1990, 12, 31)),
        "CHC": (date(1975, 1, 1), date(2005, 12, 31)),
        "PHC": (date(1978, 1, 1), date(2010, 12, 31)),
        "SC": (date(1982, 1, 1), date(2013, 12, 31)),
        "AYUSH": (date(1968, 1, 1), date(2012, 12, 31)),
    }
    if facility_type in opened_ranges:
        opened_on = _random_date(rng, *opened_ranges[facility_type])
        # Public institutions came onto facility-wise HMIS reporting in its 2015-16 rollout;
        # AYUSH dispensaries followed a little later.
        window = (
            (date(2016, 6, 1), date(2019, 12, 31))
            if facility_type == "AYUSH"
            else (date(2015, 4, 1), date(2016, 12, 31))
        )
        return opened_on, _random_date(rng, *window)
    if not registered:
        return _random_date(rng, date(1995, 1, 1), date(2025, 2, 28)), None
    opened_on = _random_date(rng, date(1990, 1, 1), date(2021, 12, 31))
    earliest = max(opened_on + timedelta(days=180), date(2016, 1, 1))
    return opened_on, _random_date(rng, earliest, date(2024, 12, 31))


def _contacts(seed: int) -> list[dict[str, str]]:
    rng = random.Random(f"{seed}:contacts")

    def phone() -> str:
        return "+91-9" + "".join(str(rng.randrange(10)) for _ in range(9))

    def contact(role: str, level: str, area: str, name: str, mailbox: str) -> dict[str, str]:
        row = {"role": role, "level": level, "area": area, "name": name}
        return {**row, "email": f"{mailbox}@{EMAIL_DOMAIN}", "phone": phone()}

    rows = [
        contact("block_medical_officer", "block", block, _CONTACT_NAMES[block], f"bmo.{_email_slug(block)}")
        for block in BLOCKS
    ]
    rows.append(contact("district_nodal_officer", "district", DISTRICT, "Dr. Ramesh Godara (SMO HMIS)", "hmis.nodal"))
    rows.append(contact("civil_surgeon", "district", DISTRICT, "Dr. Meenakshi Jakhar", "civil.surgeon"))
    rows.append(contact("district_surveillance_officer", "district", DISTRICT, "Dr. Ashok Saini", "dso"))
    rows.append(contact("state_hmis_cell", "state", STATE, "State HMIS Cell (NHM Haryana)", "state.hmis.cell"))
    return rows


def _email_slug(block: str) -> str:
    """``Hisar-II`` -> ``hisar2``, ``Adampur`` -> ``adampur``."""
    base, _, roman = block.partition("-")
    return base.lower() + {"": "", "I": "1", "II": "2"}[roman]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _random_date(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange((end - start).days + 1))
