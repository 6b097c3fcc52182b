"""The facility registry and contacts: :mod:`hmis_dev.demo.registry`."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from hmis.reference.periods import REPORTING_TZ
from hmis_dev.demo.population import write_population
from hmis_dev.demo.registry import write_registry

from .landing import BLOCK_LGD, BLOCKS, mtime, read_registry

pytestmark = pytest.mark.unit


def test_registry_matches_the_district_profile(registry):
    assert list(registry.columns) == [
        "facility_id",
        "name",
        "facility_type",
        "ownership",
        "is_ayush",
        "block",
        "block_lgd",
        "district",
        "district_lgd",
        "state",
        "hmis_registered",
        "hmis_registered_on",
        "opened_on",
        "closed_on",
    ]
    assert len(registry) == 320
    registered = registry[registry["hmis_registered"] == "true"]
    assert len(registered) == 266
    assert set(registry["hmis_registered"]) == {"true", "false"}

    ayush = registry[registry["facility_type"] == "AYUSH"]
    assert len(ayush) == 53
    assert set(ayush["ownership"]) == {"public"} and set(ayush["is_ayush"]) == {"true"}
    assert set(ayush["hmis_registered"]) == {"true"}
    assert set(registry.loc[registry["facility_type"] != "AYUSH", "is_ayush"]) == {"false"}

    private = registry[registry["ownership"] == "private"]
    assert len(private) == 149
    assert set(private["facility_type"]) == {"PVT_HOSPITAL", "NURSING_HOME", "CLINIC"}
    assert (private["hmis_registered"] == "true").sum() == 95
    unregistered = registry[registry["hmis_registered"] == "false"]
    assert len(unregistered) == 54
    assert set(unregistered["ownership"]) == {"private"}
    assert set(unregistered["hmis_registered_on"]) == {""}

    public = registry[(registry["ownership"] == "public") & (registry["facility_type"] != "AYUSH")]
    assert len(public) == 118
    assert public["facility_type"].value_counts().to_dict() == {"SC": 85, "PHC": 22, "CHC": 8, "SDH": 2, "DH": 1}
    assert set(public["hmis_registered"]) == {"true"}

    dh = registry[registry["facility_type"] == "DH"].iloc[0]
    assert (dh["name"], dh["block"]) == ("Civil Hospital Hisar", "Hisar-I")
    sdh = registry[registry["facility_type"] == "SDH"]
    assert set(zip(sdh["name"], sdh["block"])) >= {("SDH Hansi", "Hansi-I")}
    assert set(sdh["block"]) == {"Hansi-I", "Barwala"}

    assert set(registry["district"]) == {"Hisar"}
    # LGD codes, the state's DHIS2 orgUnits: Hisar is 63 (72 is Rewari).
    assert set(registry["district_lgd"]) == {"63"}
    assert set(registry["state"]) == {"Haryana"}
    assert set(registry["closed_on"]) == {""}


def test_blocks_carry_their_lgd_codes(registry):
    assert dict(zip(registry["block"], registry["block_lgd"])) == BLOCK_LGD
    assert sorted(BLOCK_LGD.values()) == [str(code) for code in range(484, 493)]


def test_every_block_is_served_and_private_care_clusters_in_towns(registry):
    assert set(registry["block"]) == BLOCKS
    for block, facilities in registry.groupby("block"):
        types = set(facilities["facility_type"])
        assert {"PHC", "SC", "AYUSH"} <= types, block
        assert types & {"CHC", "SDH", "DH"}, block
        assert (facilities["ownership"] == "private").any(), block
    private = registry[registry["ownership"] == "private"]
    towns = private["block"].isin({"Hisar-I", "Hisar-II", "Hansi-I"}).sum()
    assert towns > len(private) * 0.6


def test_registry_identifiers_names_and_dates(demo, registry):
    ids = registry["facility_id"]
    assert ids.str.fullmatch(r"HR-HIS-[0-9]{4}").all()
    assert ids.is_unique and list(ids) == sorted(ids)
    assert registry["name"].is_unique
    names = " ".join(registry["name"])
    assert "SC " in names and "PHC " in names and "Govt. Ayurvedic Dispensary" in names

    registered = registry[registry["hmis_registered"] == "true"]
    for column in ("hmis_registered_on", "opened_on"):
        frame = registered if column == "hmis_registered_on" else registry
        assert frame[column].str.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").all()
    assert registered["hmis_registered_on"].between("2015-01-01", "2024-12-31").all()
    assert (registered["opened_on"] < registered["hmis_registered_on"]).all()

    raw = (demo[0] / "registry" / "facilities.csv").read_bytes()
    assert b"\r" not in raw and raw.endswith(b"\n")
    raw.decode("utf-8")


def test_contacts(demo):
    contacts = pd.read_csv(demo[0] / "registry" / "contacts.csv", dtype=str, keep_default_na=False)
    assert list(contacts.columns) == ["role", "level", "area", "name", "email", "phone"]
    bmo = contacts[contacts["role"] == "block_medical_officer"]
    assert sorted(bmo["area"]) == sorted(BLOCKS) and set(bmo["level"]) == {"block"}
    district = contacts[contacts["level"] == "district"]
    assert sorted(district["role"]) == ["civil_surgeon", "district_nodal_officer", "district_surveillance_officer"]
    assert set(district["area"]) == {"Hisar"}
    state = contacts[contacts["role"] == "state_hmis_cell"]
    assert list(zip(state["level"], state["area"])) == [("state", "Haryana")]
    assert contacts["email"].str.fullmatch(r"[a-z0-9.]+@hisar\.hmis\.example").all()
    assert "bmo.adampur@hisar.hmis.example" in set(contacts["email"])
    assert contacts["phone"].str.fullmatch(r"\+91-9[0-9]{9}").all()


def test_write_registry_alone(tmp_path):
    write_registry(tmp_path)
    assert sorted(path.name for path in (tmp_path / "registry").iterdir()) == ["contacts.csv", "facilities.csv"]
    assert not (tmp_path / "submissions").exists()
    assert len(read_registry(tmp_path)) == 320


def test_registry_files_carry_a_fixed_export_time(demo):
    for name in ("facilities.csv", "contacts.csv"):
        assert mtime(demo[0] / "registry" / name) < datetime(2026, 1, 1, tzinfo=REPORTING_TZ)


def test_population_names_the_registry_areas_with_their_lgd_codes(tmp_path):
    rows = pd.read_csv(write_population(tmp_path), dtype=str, keep_default_na=False)
    blocks = rows[rows["level"] == "block"]
    assert dict(zip(blocks["area"], blocks["lgd_code"])) == BLOCK_LGD
    assert set(rows.loc[rows["level"] == "district", "lgd_code"]) == {"63"}
