"""The deterministic Hisar demo landing zone.

Statuses and values are recomputed here from the files on disk (contents read with
pandas, submission moments from modification times) and compared with the truth the
generator returns, so the truth is checked rather than read back.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from hmis.reference.catalogue import item_codes, items_for_type, load_items
from hmis.reference.periods import REPORTING_TZ, due_at
from hmis_dev.demo.generator import DEFECT_KINDS, DemoTruth, generate, write_registry

AS_OF = datetime(2026, 11, 27, 6, 0, tzinfo=REPORTING_TZ)
EARLY_AS_OF = datetime(2026, 11, 3, 12, 0, tzinfo=REPORTING_TZ)
PERIODS = ["2026-08", "2026-09", "2026-10"]
BLOCKS = {"Hisar-I", "Hisar-II", "Adampur", "Agroha", "Barwala", "Uklana", "Narnaund", "Hansi-I", "Hansi-II"}
SUBMISSION_HEADER = ["facility_id", "period", "item_code", "value"]


# --------------------------------------------------------------------------------------
# Independent reading of the landing zone
# --------------------------------------------------------------------------------------


def read_registry(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "registry" / "facilities.csv", dtype=str, keep_default_na=False)


def mtime(path: Path) -> datetime:
    seconds, remainder = divmod(path.stat().st_mtime_ns, 1_000_000_000)
    assert remainder == 0, f"{path} has a fractional modification time"
    return datetime.fromtimestamp(seconds, tz=REPORTING_TZ)


def inspect_file(path: Path, folder_period: str, facility_id: str) -> tuple[dict[str, int] | None, str | None]:
    """(values, None) for an acceptable file, else (None, what is wrong with it)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not_utf8"
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    if list(frame.columns) != SUBMISSION_HEADER:
        return None, "missing_value_column"
    if (frame["period"] != folder_period).any():
        return None, "period_mismatch"
    if (frame["facility_id"] != facility_id).any():
        return None, "facility_mismatch"
    if not frame["item_code"].isin(item_codes()).all():
        return None, "unknown_item"
    if frame["item_code"].duplicated().any():
        return None, "duplicate_item"
    if frame["value"].str.fullmatch(r"-[0-9]+").any():
        return None, "negative_value"
    if not frame["value"].str.fullmatch(r"[0-9]+").all():
        return None, "text_value"
    return dict(zip(frame["item_code"], frame["value"].astype(int))), None


def scan(root: Path, periods: list[str]) -> list[dict]:
    """Every submission file with its facility, moment, validity and values."""
    found = []
    for period in periods:
        for path in sorted((root / "submissions" / period).iterdir()):
            facility_id = path.stem.split("__")[0]
            values, problem = inspect_file(path, period, facility_id)
            found.append(
                {
                    "key": path.relative_to(root).as_posix(),
                    "path": path,
                    "facility_id": facility_id,
                    "period": period,
                    "moment": mtime(path),
                    "values": values,
                    "problem": problem,
                }
            )
    return found


def recompute(root: Path, registered_ids: list[str], periods: list[str], as_of: datetime):
    """Status, first valid moment and latest valid values per (facility, period), from disk."""
    by_key: dict[tuple[str, str], list[dict]] = {}
    for entry in scan(root, periods):
        by_key.setdefault((entry["facility_id"], entry["period"]), []).append(entry)
    status, first_moment, values = {}, {}, {}
    for period in periods:
        for facility_id in registered_ids:
            key = (facility_id, period)
            files = sorted(by_key.get(key, []), key=lambda entry: entry["moment"])
            valid = [entry for entry in files if entry["problem"] is None]
            if valid:
                first_moment[key] = valid[0]["moment"]
                status[key] = "on_time" if valid[0]["moment"] <= due_at(period) else "late"
                values[key] = valid[-1]["values"]
            elif files:
                status[key] = "rejected"
            else:
                status[key] = "pending" if as_of <= due_at(period) else "missing"
    return status, first_moment, values


def consistency_problems(v: dict[str, int]) -> list[str]:
    """The relations between items that a clean report must respect."""
    problems = []

    def check(description: str, *codes: str, holds) -> None:
        if all(code in v for code in codes) and not holds():
            problems.append(description)

    live = lambda: v["4.1.1.a"] + v["4.1.1.b"]  # noqa: E731
    births = lambda: live() + v["4.1.3"]  # noqa: E731
    check("1.1.1 <= 1.1", "1.1", "1.1.1", holds=lambda: v["1.1.1"] <= v["1.1"])
    check("3.1 <= 2.2", "2.2", "3.1", holds=lambda: v["3.1"] <= v["2.2"])
    check("3.1.1 <= 3.1", "3.1", "3.1.1", holds=lambda: v["3.1.1"] <= v["3.1"])
    check("2.2.1 <= 2.2 - 3.1", "2.2", "2.2.1", "3.1", holds=lambda: v["2.2.1"] <= v["2.2"] - v["3.1"])
    check("births >= 2.2", "2.2", "4.1.1.a", "4.1.1.b", "4.1.3", holds=lambda: births() >= v["2.2"])
    check(
        "births close to deliveries",
        "4.1.1.a",
        "4.1.1.b",
        "4.1.3",
        holds=lambda: births() <= 1.05 * (v.get("2.2", 0) + v.get("2.1.1.a", 0)) + 2,
    )
    for dose in ("9.1.1", "9.1.6", "9.1.10", "4.4.1", "4.4.3", "4.1.2"):
        check(f"{dose} <= live births", dose, "4.1.1.a", "4.1.1.b", holds=lambda dose=dose: v[dose] <= live())
    check("4.4.2 <= 4.4.1", "4.4.1", "4.4.2", holds=lambda: v["4.4.2"] <= v["4.4.1"])
    check("Penta-3 <= 1.05 Penta-1", "9.1.3", "9.1.5", holds=lambda: v["9.1.5"] <= 1.05 * v["9.1.3"])
    check("Penta-2 <= 1.05 Penta-1", "9.1.3", "9.1.4", holds=lambda: v["9.1.4"] <= 1.05 * v["9.1.3"])
    check("MR-2 <= MR-1", "9.2.2", "9.4.1", holds=lambda: v["9.4.1"] <= v["9.2.2"])
    check(
        "fully immunised <= MR-1",
        "9.2.2",
        "9.2.5.a",
        "9.2.5.b",
        holds=lambda: v["9.2.5.a"] + v["9.2.5.b"] <= v["9.2.2"],
    )
    check("8.4 <= 2.2", "2.2", "8.4", holds=lambda: v["8.4"] <= v["2.2"])
    confirmed = sum(v.get(code, 0) for code in ("14.1.6", "14.1.7", "14.1.8"))
    check("confirmed fevers <= fever", "14.1.3", holds=lambda: confirmed <= v["14.1.3"])
    attendance = v.get("14.2.1", v.get("14.2.2", 0))
    diseases = sum(v.get(code, 0) for code in ("14.1.1", "14.1.2", "14.1.3", "14.1.4", "14.1.5", "14.1.9"))
    if diseases > attendance:
        problems.append("disease-wise counts <= attendance")
    return problems


# --------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, DemoTruth]:
    root = tmp_path_factory.mktemp("landing")
    return root, generate(root, AS_OF)


@pytest.fixture(scope="module")
def registry(demo) -> pd.DataFrame:
    return read_registry(demo[0])


@pytest.fixture(scope="module")
def on_disk(demo) -> list[dict]:
    root, truth = demo
    return scan(root, truth.periods)


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# --------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------


@pytest.mark.unit
def test_registry_matches_the_district_profile(registry):
    assert list(registry.columns) == [
        "facility_id",
        "name",
        "facility_type",
        "ownership",
        "is_ayush",
        "block",
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
    assert set(registry["district_lgd"]) == {"72"}
    assert set(registry["state"]) == {"Haryana"}
    assert set(registry["closed_on"]) == {""}


@pytest.mark.unit
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


@pytest.mark.unit
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


@pytest.mark.unit
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


@pytest.mark.unit
def test_write_registry_alone(tmp_path):
    write_registry(tmp_path)
    assert sorted(path.name for path in (tmp_path / "registry").iterdir()) == ["contacts.csv", "facilities.csv"]
    assert not (tmp_path / "submissions").exists()
    assert len(read_registry(tmp_path)) == 320


# --------------------------------------------------------------------------------------
# Determinism and timing
# --------------------------------------------------------------------------------------


@pytest.mark.unit
def test_same_arguments_give_identical_bytes_and_mtimes(tmp_path, demo):
    first_root, first_truth = demo
    second_root = tmp_path / "again"
    second_truth = generate(second_root, AS_OF)
    assert tree(first_root) == tree(second_root)
    assert first_truth.to_json() == second_truth.to_json()


@pytest.mark.unit
def test_second_call_into_the_same_folder_gives_the_same_tree(tmp_path):
    generate(tmp_path, AS_OF)
    before = tree(tmp_path)
    stray = tmp_path / "submissions" / "2026-10" / "HR-HIS-9999.csv"
    stray.write_text("left over\n", encoding="utf-8")
    (tmp_path / "submissions" / "2026-10" / "HR-HIS-0001.csv").write_text("edited\n", encoding="utf-8")
    generate(tmp_path, AS_OF)
    assert tree(tmp_path) == before


@pytest.mark.unit
def test_a_different_seed_gives_different_data(tmp_path, demo):
    other = generate(tmp_path, AS_OF, seed=7)
    assert other.values != demo[1].values
    assert read_registry(tmp_path)["name"].tolist() != read_registry(demo[0])["name"].tolist()


@pytest.mark.unit
def test_files_are_dated_before_as_of_and_match_the_truth(demo, on_disk):
    root, truth = demo
    assert all(entry["moment"] < AS_OF for entry in on_disk)
    listed = {demo_file.key: demo_file for demo_file in truth.files}
    assert set(listed) == {entry["key"] for entry in on_disk}
    for entry in on_disk:
        demo_file = listed[entry["key"]]
        assert demo_file.submitted_at == entry["moment"]
        assert demo_file.valid == (entry["problem"] is None)
        assert demo_file.facility_id == entry["facility_id"] and demo_file.period == entry["period"]
    assert all(path.suffix == ".csv" for path in (root / "submissions").rglob("*") if path.is_file())
    assert sorted(path.name for path in (root / "submissions").iterdir()) == PERIODS


@pytest.mark.unit
def test_registry_files_carry_a_fixed_export_time(demo):
    for name in ("facilities.csv", "contacts.csv"):
        assert mtime(demo[0] / "registry" / name) < datetime(2026, 1, 1, tzinfo=REPORTING_TZ)


# --------------------------------------------------------------------------------------
# Statuses and the monthly mix
# --------------------------------------------------------------------------------------


@pytest.mark.unit
def test_status_recomputed_from_disk_matches_truth(demo):
    root, truth = demo
    assert truth.periods == PERIODS
    assert truth.registered_ids == read_registry(root).query("hmis_registered == 'true'")["facility_id"].tolist()
    status, first_moment, values = recompute(root, truth.registered_ids, truth.periods, AS_OF)
    assert status == truth.status
    assert first_moment == truth.submitted_at
    assert values == truth.values
    assert len(truth.status) == 266 * 3


@pytest.mark.unit
def test_monthly_mix(demo):
    _, truth = demo
    for period in truth.periods:
        counts = Counter(status for (_, p), status in truth.status.items() if p == period)
        assert sum(counts.values()) == 266
        assert counts["rejected"] == 3
        assert counts["pending"] == 0
        assert 0.80 <= counts["on_time"] / 266 <= 0.90, counts
        assert 0.06 <= counts["late"] / 266 <= 0.11, counts
        assert 0.02 <= counts["missing"] / 266 <= 0.08, counts
        assert truth.status_counts(period) == {
            status: counts.get(status, 0) for status in ("on_time", "late", "missing", "rejected", "pending")
        }


@pytest.mark.unit
def test_boundary_submissions_around_the_due_date(demo, on_disk):
    _, truth = demo
    for period in truth.periods:
        due = due_at(period)
        valid = [entry for entry in on_disk if entry["period"] == period and entry["problem"] is None]
        five_to_midnight = due.replace(hour=23, minute=59, second=0, microsecond=0)  # 23:59 on the 5th
        one_past_midnight = five_to_midnight + timedelta(minutes=2)  # 00:01 on the 6th
        at_2359 = [entry for entry in valid if entry["moment"] == five_to_midnight]
        at_0001 = [entry for entry in valid if entry["moment"] == one_past_midnight]
        assert at_2359 and at_0001, period
        assert truth.status[(at_2359[0]["facility_id"], period)] == "on_time"
        assert truth.status[(at_0001[0]["facility_id"], period)] == "late"


@pytest.mark.unit
def test_corrected_and_revised_submissions(demo, on_disk):
    _, truth = demo
    for period in truth.periods:
        due = due_at(period)
        seconds = [entry for entry in on_disk if entry["period"] == period and entry["key"].endswith("__v2.csv")]
        corrected, revised = [], []
        for second in seconds:
            first = next(entry for entry in on_disk if entry["key"] == second["key"].replace("__v2.csv", ".csv"))
            assert second["problem"] is None
            assert second["moment"] > first["moment"]
            assert first["moment"] <= due  # the first attempt is always on time
            (corrected if first["problem"] else revised).append((first, second))
        assert len(corrected) == 3 and len(revised) == 2, period

        corrected_status = Counter(truth.status[(second["facility_id"], period)] for _, second in corrected)
        assert corrected_status == {"on_time": 2, "late": 1}
        for first, second in revised:
            key = (second["facility_id"], period)
            assert second["moment"] > due
            assert truth.status[key] == "on_time"
            assert truth.submitted_at[key] == first["moment"]
            assert truth.values[key] == second["values"]
            changed = [code for code in first["values"] if first["values"][code] != second["values"][code]]
            assert 1 <= len(changed) <= 5
            assert set(first["values"]) == set(second["values"])

        malformed = [key for key, kind in truth.scenario.items() if key[1] == period and kind == "malformed"]
        assert len(malformed) == 3
        assert all(truth.status[key] == "rejected" for key in malformed)


@pytest.mark.unit
def test_every_broken_kind_is_present_and_detectable(demo, on_disk):
    _, truth = demo
    defects = {demo_file.key: demo_file for demo_file in truth.files if not demo_file.valid}
    assert {demo_file.defect for demo_file in defects.values()} == set(DEFECT_KINDS)
    for entry in on_disk:
        if entry["key"] in defects:
            assert entry["problem"] == defects[entry["key"]].defect, entry["key"]
            assert defects[entry["key"]].reason
        else:
            assert entry["problem"] is None, entry["key"]
    per_period = Counter(demo_file.period for demo_file in defects.values())
    assert per_period == {period: 6 for period in PERIODS}


# --------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------


@pytest.mark.unit
def test_clean_files_are_complete_consistent_and_plausible(registry, on_disk):
    types = dict(zip(registry["facility_id"], registry["facility_type"]))
    limits = {item.item_code: item.typical_max for item in load_items()}
    valid = [entry for entry in on_disk if entry["problem"] is None]
    assert len(valid) > 700
    for entry in valid:
        expected = [item.item_code for item in items_for_type(types[entry["facility_id"]])]
        assert list(entry["values"]) == expected, entry["key"]
        assert consistency_problems(entry["values"]) == [], entry["key"]
        assert all(0 <= value <= limits[code] for code, value in entry["values"].items()), entry["key"]
    raw = valid[0]["path"].read_bytes()
    assert raw.startswith(b"facility_id,period,item_code,value\n") and b"\r" not in raw
    assert b".0" not in raw


@pytest.mark.unit
def test_values_scale_with_facility_type_and_vary(demo, registry):
    _, truth = demo
    types = dict(zip(registry["facility_id"], registry["facility_type"]))
    opd: dict[str, list[int]] = {}
    for (facility_id, _), values in truth.values.items():
        if "14.2.1" in values:
            opd.setdefault(types[facility_id], []).append(values["14.2.1"])
    mean = {facility_type: sum(counts) / len(counts) for facility_type, counts in opd.items()}
    assert mean["SC"] < mean["PHC"] < mean["CHC"] < mean["SDH"] < mean["DH"]
    assert mean["CHC"] < mean["PVT_HOSPITAL"] < mean["SDH"]
    assert mean["CLINIC"] < mean["PHC"]

    # Different facilities and different months get different numbers.
    monthly: dict[str, set[int]] = {}
    for (facility_id, _), values in truth.values.items():
        monthly.setdefault(facility_id, set()).add(values.get("14.2.1", values.get("14.2.2")))
    reported_thrice = [
        counts
        for facility_id, counts in monthly.items()
        if sum(1 for key in truth.values if key[0] == facility_id) == 3
    ]
    assert sum(len(counts) == 3 for counts in reported_thrice) > 0.9 * len(reported_thrice)
    for period in truth.periods:
        dh_and_sdh = [
            values["14.2.1"]
            for (facility_id, p), values in truth.values.items()
            if p == period and types[facility_id] in {"DH", "SDH"}
        ]
        assert len(set(dh_and_sdh)) == len(dh_and_sdh)
    ayush = [values for (facility_id, _), values in truth.values.items() if types[facility_id] == "AYUSH"]
    assert ayush and all("14.2.2" in values and "2.2" not in values for values in ayush)


@pytest.mark.unit
def test_seasonality(tmp_path):
    truth = generate(tmp_path, datetime(2027, 2, 10, 9, 0, tzinfo=REPORTING_TZ), months=7)
    assert truth.periods[0] == "2026-07" and truth.periods[-1] == "2027-01"

    def share(period: str, code: str, base: str) -> float:
        rows = [values for (_, p), values in truth.values.items() if p == period and code in values and base in values]
        return sum(values[code] for values in rows) / sum(values[base] for values in rows)

    assert share("2026-09", "14.1.3", "14.2.1") > 1.5 * share("2027-01", "14.1.3", "14.2.1")  # fever
    assert share("2027-01", "14.1.5", "14.2.1") > 1.5 * share("2026-09", "14.1.5", "14.2.1")  # ARI
    assert share("2026-07", "14.1.4", "14.2.1") > 1.5 * share("2027-01", "14.1.4", "14.2.1")  # diarrhoea
    assert share("2026-10", "14.1.7", "14.1.3") > 3 * share("2027-01", "14.1.7", "14.1.3")  # dengue
    assert share("2026-09", "14.1.8", "14.1.3") > 3 * share("2027-01", "14.1.8", "14.1.3")  # malaria


# --------------------------------------------------------------------------------------
# Early as_of, later as_of, truth serialisation
# --------------------------------------------------------------------------------------


@pytest.mark.unit
def test_before_the_due_date_facilities_without_a_file_are_pending(tmp_path):
    truth = generate(tmp_path, EARLY_AS_OF)
    latest = truth.periods[-1]
    assert latest == "2026-10" and EARLY_AS_OF <= due_at(latest)
    on_disk = scan(tmp_path, truth.periods)
    assert all(entry["moment"] < EARLY_AS_OF for entry in on_disk)
    with_file = {entry["facility_id"] for entry in on_disk if entry["period"] == latest}
    assert with_file  # the early reporters of 1-3 November are already in
    for facility_id in truth.registered_ids:
        expected = "pending" if facility_id not in with_file else truth.status[(facility_id, latest)]
        assert truth.status[(facility_id, latest)] == expected
        assert truth.status[(facility_id, latest)] in {"pending", "on_time", "rejected"}
    assert truth.status_counts(latest)["pending"] == 266 - len(with_file)
    status, first_moment, values = recompute(tmp_path, truth.registered_ids, truth.periods, EARLY_AS_OF)
    assert (status, first_moment, values) == (truth.status, truth.submitted_at, truth.values)


@pytest.mark.unit
def test_a_later_as_of_only_adds_files(tmp_path, demo):
    earlier_root = tmp_path / "earlier"
    earlier = generate(earlier_root, datetime(2026, 11, 10, 18, 0, tzinfo=REPORTING_TZ))
    assert earlier.periods == PERIODS
    earlier_tree = {key: value for key, value in tree(earlier_root).items() if key.startswith("submissions/")}
    later_tree = tree(demo[0])
    assert earlier_tree and all(later_tree[key] == value for key, value in earlier_tree.items())
    assert len(later_tree) > len(earlier_tree)


@pytest.mark.unit
def test_truth_serialises_to_json(tmp_path, demo):
    _, truth = demo
    path = tmp_path / "out" / "truth.json"
    truth.save(path)
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert loaded == json.loads(json.dumps(truth.to_json()))
    assert loaded["as_of"] == "2026-11-27T06:00:00+05:30"
    assert loaded["periods"] == PERIODS
    assert len(loaded["registered_ids"]) == 266 and len(loaded["unregistered_ids"]) == 54
    assert sum(len(by_facility) for by_facility in loaded["status"].values()) == 266 * 3
    assert loaded["status_counts"]["2026-10"] == truth.status_counts("2026-10")
    first = loaded["files"][0]
    assert set(first) == {"key", "facility_id", "period", "submitted_at", "valid", "defect", "reason"}
    assert re.fullmatch(r"2026-\d\d-\d\dT\d\d:\d\d:\d\d\+05:30", first["submitted_at"])


@pytest.mark.unit
def test_naive_as_of_is_refused(tmp_path):
    with pytest.raises(ValueError, match="timezone-aware"):
        generate(tmp_path, datetime(2026, 11, 27, 6, 0))
