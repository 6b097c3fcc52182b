"""Validate a whole batch of parsed submissions with one Great Expectations run.

The suite lives in ``expectations/hmis_submission.json``. GX has a fixed cost of tens of
milliseconds per validation, so files are never validated one by one: all rows of a batch
go through one validation, and each failing row is traced back to its file through the
``file_id`` and ``row_no`` index columns.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from hmis.periods import period_end, period_start

log = logging.getLogger(__name__)

SUITE_FILE = "hmis_submission.json"
INDEX_COLUMNS = ["file_id", "row_no"]
EXAMPLES_SHOWN = 3


@dataclass(frozen=True)
class Finding:
    """One expectation that failed for one file."""

    file_id: int
    expectation_id: str
    severity: str
    column: str | None
    failed_rows: int
    observed: str
    expected: str
    message: str


@dataclass
class BatchOutcome:
    findings: list[Finding] = field(default_factory=list)
    flagged_rows: set[tuple[int, int]] = field(default_factory=set)
    evaluated_expectations: int = 0
    statistics: dict = field(default_factory=dict)

    def blocking_by_file(self) -> dict[int, list[Finding]]:
        grouped: dict[int, list[Finding]] = defaultdict(list)
        for finding in self.findings:
            if finding.severity == "blocking":
                grouped[finding.file_id].append(finding)
        return grouped

    def warnings_by_file(self) -> dict[int, list[Finding]]:
        grouped: dict[int, list[Finding]] = defaultdict(list)
        for finding in self.findings:
            if finding.severity == "warning":
                grouped[finding.file_id].append(finding)
        return grouped


def load_suite_definition(expectations_dir: Path) -> dict:
    return json.loads((expectations_dir / SUITE_FILE).read_text(encoding="utf-8"))


def _as_date(value) -> date | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip()
    return date.fromisoformat(text) if text else None


def expected_reporter(facility: dict, period: str) -> bool:
    """DHIS2 semantics: registered on HMIS by the period's end and open during it."""
    if not facility.get("hmis_registered"):
        return False
    start, end = period_start(period), period_end(period)
    registered_on = _as_date(facility.get("hmis_registered_on"))
    opened_on = _as_date(facility.get("opened_on"))
    closed_on = _as_date(facility.get("closed_on"))
    if registered_on and registered_on > end:
        return False
    if opened_on and opened_on > end:
        return False
    if closed_on and closed_on < start:
        return False
    return True


def prepare_frame(
    rows: pd.DataFrame, files: pd.DataFrame, registry: pd.DataFrame, typical_max: dict[str, int]
) -> pd.DataFrame:
    """Add the columns the suite compares against: the key's facility and period, whether
    the facility is an expected reporter, and whether the value is within the item's usual
    range. Columns hold Python objects so GX sees the submitted text unchanged."""
    frame = rows.merge(files[["file_id", "key_facility_id", "key_period"]], on="file_id", how="left")
    facilities = {rec["facility_id"]: rec for rec in registry.to_dict("records")}
    expected_cache: dict[tuple[str, str], bool | None] = {}

    def reporter(facility_id: str, period: str):
        key = (facility_id, period)
        if key not in expected_cache:
            facility = facilities.get(facility_id)
            # Unknown facilities and unreadable periods are reported by their own rules.
            try:
                expected_cache[key] = None if facility is None else expected_reporter(facility, period)
            except ValueError:
                expected_cache[key] = None
        return expected_cache[key]

    frame["expected_reporter"] = pd.Series(
        [reporter(f, p) for f, p in zip(frame["key_facility_id"], frame["key_period"])],
        index=frame.index, dtype=object,
    )
    numeric = pd.to_numeric(frame["value_raw"].where(frame["value_raw"].str.fullmatch(r"[0-9]{1,9}")), errors="coerce")
    limits = frame["item_code"].map(typical_max)
    within = (numeric <= limits).astype(object)
    within[numeric.isna() | limits.isna()] = None
    frame["within_typical_max"] = within
    for column in ("file_id", "row_no"):
        frame[column] = frame[column].astype("int64")
    for column in ("facility_id", "period", "item_code", "value_raw", "key_facility_id", "key_period"):
        frame[column] = frame[column].astype(object)
    return frame


class SuiteRunner:
    """Holds an ephemeral GX context and the suite; build once per task, reuse per batch."""

    def __init__(self, expectations_dir: Path):
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.expectations.expectation_configuration import (
            ExpectationConfiguration,
        )

        definition = load_suite_definition(expectations_dir)
        self.context = gx.get_context(mode="ephemeral")
        # Per-metric progress bars would flood the Airflow task log.
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.suite = gx.ExpectationSuite(name=definition["name"], meta=definition.get("meta", {}))
        for spec in definition["expectations"]:
            config = ExpectationConfiguration(type=spec["type"], kwargs=spec["kwargs"], meta=spec["meta"])
            self.suite.add_expectation(config.to_domain_obj())
        source = self.context.data_sources.add_pandas("submissions")
        asset = source.add_dataframe_asset("long_table")
        self.batch_definition = asset.add_batch_definition_whole_dataframe("batch")

    def run(self, frame: pd.DataFrame, parameters: dict):
        batch = self.batch_definition.get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(
            self.suite,
            expectation_parameters=parameters,
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": INDEX_COLUMNS,
                "return_unexpected_index_query": False,
            },
        )


def _example(entry: dict, column: str | None) -> str:
    if column and column in entry:
        return str(entry[column])
    shown = {k: v for k, v in entry.items() if k not in INDEX_COLUMNS}
    return "/".join(str(v) for v in shown.values()) or "?"


def findings_from_result(result, frame: pd.DataFrame) -> BatchOutcome:
    """Turn a GX validation result into per-file findings."""
    outcome = BatchOutcome(evaluated_expectations=len(result.results), statistics=dict(result.statistics))
    for expectation_result in result.results:
        if expectation_result.success:
            continue
        config = expectation_result.expectation_config
        meta = config.meta or {}
        kwargs = config.kwargs
        column = kwargs.get("column") or kwargs.get("column_A") or ",".join(kwargs.get("column_list", []))
        details = expectation_result.result or {}
        index_list = details.get("unexpected_index_list")
        if index_list is None:
            exc = expectation_result.exception_info or {}
            raise RuntimeError(
                f"expectation {meta.get('id')} could not be evaluated: {exc.get('exception_message', details)}"
            )
        per_file: dict[int, list[dict]] = defaultdict(list)
        for entry in index_list:
            per_file[int(entry["file_id"])].append(entry)
        expected = json.dumps({k: v for k, v in kwargs.items() if k != "column"}, default=str)[:500]
        for file_id, entries in per_file.items():
            examples = []
            for entry in entries:
                text = _example(entry, kwargs.get("column") or kwargs.get("column_A"))
                if text not in examples:
                    examples.append(text)
                if len(examples) == EXAMPLES_SHOWN:
                    break
            observed = ", ".join(repr(e) for e in examples)
            message = meta.get("message", meta.get("id", config.type)).format(
                count=len(entries), examples=observed
            )
            lines = ", ".join(str(int(e["row_no"])) for e in entries[:EXAMPLES_SHOWN])
            message = f"{message} (line {lines}{'…' if len(entries) > EXAMPLES_SHOWN else ''})"
            outcome.findings.append(
                Finding(
                    file_id=file_id,
                    expectation_id=meta.get("id", config.type),
                    severity=meta.get("severity", "blocking"),
                    column=column or None,
                    failed_rows=len(entries),
                    observed=observed,
                    expected=expected,
                    message=message,
                )
            )
            if meta.get("severity") == "warning":
                outcome.flagged_rows.update((file_id, int(e["row_no"])) for e in entries)
    return outcome


def validate_batch(
    runner: SuiteRunner,
    rows: pd.DataFrame,
    files: pd.DataFrame,
    registry: pd.DataFrame,
    items: dict[str, int],
) -> BatchOutcome:
    """Validate all ``rows`` (of many files) in one GX run and attribute failures to files.

    ``items`` maps every known item code to its typical monthly maximum.
    """
    if rows.empty:
        return BatchOutcome()
    frame = prepare_frame(rows, files, registry, items)
    parameters = {
        "known_facilities": sorted(registry["facility_id"].astype(str)),
        "known_items": sorted(items),
    }
    result = runner.run(frame, parameters)
    outcome = findings_from_result(result, frame)
    log.info(
        "validated %d rows from %d files in one run: %d findings",
        len(frame), frame["file_id"].nunique(), len(outcome.findings),
    )
    return outcome
