"""Validate a whole batch of parsed submissions with Great Expectations, once per batch.

Two suites run on each batch, each as one GX validation:

- ``hmis_submission`` (``expectations/hmis_submission.json``) on the long table, one row per
  submitted value: structure (blocking) and outliers against each facility's own history
  (warnings);
- ``hmis_file_checks``, built from ``expectations/validation_rules.yaml``, on one row per
  file: DHIS2-style validation rules, WHO DQR consistency and completeness.

GX has a fixed cost of tens of milliseconds per validation, so files are never validated
one by one; each failing row is traced back to its file (and item) through index columns.
The findings are the source of truth and go to ``dq.result``; GX Data Docs, when a folder is
given, are a view of the same runs.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

import pandas as pd

from hmis.quality.findings import BatchOutcome, Finding
from hmis.quality.items import expected_elements, file_formats, item_lookup, place_rows, typical_max
from hmis.quality.outliers import score_rows
from hmis.quality.rule_findings import file_check_findings, file_values
from hmis.quality.rules import RuleSet, evaluate
from hmis.reference.formats import TOTAL, format_title
from hmis.reference.periods import financial_year, period_end, period_start, shift_period

log = logging.getLogger(__name__)

SUITE_FILE = "hmis_submission.json"
RULES_SUITE = "hmis_file_checks"
LONG_INDEX = ["file_id", "row_no", "facility_id", "item_code", "value_raw", "sub_item", "format_id"]
FILE_INDEX = ["file_id"]
EXAMPLES_SHOWN = 3
HISTORY_MONTHS = 12


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


def numeric_values(raw: pd.Series, value_type: pd.Series | None = None) -> pd.Series:
    """Submitted text as numbers where it is a plain whole number of a count or stock item,
    NaN elsewhere (statuses, dates and percentages are kept as text, never added up)."""
    text = raw.astype("str")
    if value_type is not None:
        text = text.where(value_type.isin(("count", "stock")))
    # Up to nine digits: exact as float64, and cast by Arrow without parsing in Python.
    plain = text.str.fullmatch(r"[0-9]{1,9}").fillna(False).astype(bool)
    return text.where(plain).astype("float64")


def prepare_frame(
    rows: pd.DataFrame, files: pd.DataFrame, registry: pd.DataFrame,
    history: pd.DataFrame | None = None, outlier_exempt: frozenset[str] = frozenset(),
    formats: dict[int, str | None] | None = None, limits: dict[str, int] | None = None,
) -> pd.DataFrame:
    """Add the columns the long suite compares against: the key's facility and period,
    whether the facility is an expected reporter, each row's item placed in the file's
    format (:func:`hmis.quality.items.place_rows`: element, value type, disaggregation),
    whether a count is within the element's usual range (``limits``, by element), and its
    outlier class against the facility's history. ``formats`` maps each file to its format
    (found from the registry when not given)."""
    frame = rows.merge(files[["file_id", "key_facility_id", "key_period"]], on="file_id", how="left")
    if "sub_item" not in frame:
        frame["sub_item"] = None
    formats = file_formats(files, registry) if formats is None else formats
    limits = typical_max() if limits is None else limits
    frame = place_rows(frame, formats)
    # Records only for the batch's own facilities: the registry may hold 200,000 of them.
    batch_registry = registry[registry["facility_id"].isin(files["key_facility_id"])]
    facilities = {rec["facility_id"]: rec for rec in batch_registry.to_dict("records")}

    def reporter(facility_id: str, period: str):
        facility = facilities.get(facility_id)
        # Unknown facilities and unreadable periods are reported by their own rules.
        try:
            return None if facility is None else expected_reporter(facility, period)
        except ValueError:
            return None

    # Judged once per file (its key names the facility and month), then spread to the rows.
    per_file = {fid: reporter(f, p) for fid, f, p in zip(files["file_id"], files["key_facility_id"], files["key_period"])}
    frame["expected_reporter"] = frame["file_id"].map(per_file).astype("boolean")
    # Lookups as booleans: a value set of every registered facility in the expectation itself
    # would be copied by GX on each of its thousands of internal configuration reads.
    # A missing code stays missing (NA), which GX skips as it skipped it in a value set.
    frame["facility_registered"] = frame["facility_id"].isin(registry["facility_id"]).astype("boolean")
    frame.loc[frame["facility_id"].isna(), "facility_registered"] = pd.NA
    numeric = numeric_values(frame["value_raw"], frame["value_type"])
    maxima = frame["element"].map(limits).where(frame["disaggregation"] == TOTAL)
    within = (numeric <= maxima).astype("boolean")
    within[numeric.isna() | maxima.isna()] = pd.NA
    frame["within_typical_max"] = within
    frame["value"] = numeric
    # Baselines are keyed by facility and period, so one batch may mix periods, and by
    # element and disaggregation, so a stock balance is compared with earlier balances.
    keys = frame["key_facility_id"].astype(str) + "\x1f" + frame["key_period"].astype(str)
    series = frame["element"].astype(str) + "|" + frame["disaggregation"]
    # Disease counts are exempt: an epidemic rise is a signal (hmis.signals), not a data error.
    judged = numeric.where(~frame["element"].isin(outlier_exempt))
    scores = score_rows(pd.DataFrame({"facility_id": keys, "item_code": series, "value": judged}),
                        _history_window(frame, history))
    frame["z_class"] = scores["z_class"].astype("str")
    frame["modified_z_class"] = scores["modified_z_class"].astype("str")
    for column in ("file_id", "row_no"):
        frame[column] = frame[column].astype("int64")
    # Text stays as sent, in pandas' Arrow-backed string dtype, and flags are nullable
    # booleans: GX's null checks and comparisons run over both several times faster than
    # over Python objects (the findings are the same; a missing value is still skipped).
    for column in ("facility_id", "period", "item_code", "value_raw", "key_facility_id", "key_period"):
        frame[column] = frame[column].astype("str")
    frame["value_type"] = frame["value_type"].fillna("").astype("str")
    frame["sub_item"] = frame["sub_item"].fillna("").astype("str")
    frame["format_id"] = frame["format_id"].fillna("").astype("str")
    return frame


def _history_window(frame: pd.DataFrame, history: pd.DataFrame | None) -> pd.DataFrame:
    """The outlier baselines: for each facility-period of the batch, the same facility's
    accepted values of the previous ``HISTORY_MONTHS`` months, keyed by facility and period."""
    columns = ["facility_id", "item_code", "value"]
    if history is None or history.empty:
        return pd.DataFrame(columns=columns)
    pairs = frame[["key_facility_id", "key_period"]].drop_duplicates().dropna()
    parts = []
    for period, group in pairs.groupby("key_period"):
        try:
            low = shift_period(period, -HISTORY_MONTHS)
        except ValueError:
            continue  # an unreadable period is rejected by its own rule
        part = history[history["facility_id"].isin(set(group["key_facility_id"]))
                       & (history["period"] < period) & (history["period"] >= low)]
        parts.append(part.assign(facility_id=part["facility_id"] + "\x1f" + period,
                                 item_code=part["item_code"] + "|" + part["disaggregation"]))
    return pd.concat(parts)[columns] if parts else pd.DataFrame(columns=columns)


class SuiteRunner:
    """An ephemeral GX context with both suites; build once per task, reuse per batch.

    When ``data_docs_dir`` is given, each validation runs through a checkpoint, which keeps
    its result, and :meth:`finish` builds GX Data Docs (a static site) there once.
    """

    def __init__(self, expectations_dir: Path, ruleset: RuleSet | None = None, data_docs_dir: Path | None = None):
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        self._gx = gx
        definition = load_suite_definition(expectations_dir)
        self.context = gx.get_context(mode="ephemeral")
        # Per-metric progress bars would flood the Airflow task log.
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.data_docs_dir = data_docs_dir
        if data_docs_dir is not None:
            data_docs_dir.mkdir(parents=True, exist_ok=True)
            self.context.add_data_docs_site(site_name="hmis", site_config={
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                  "base_directory": str(data_docs_dir)},
            })
        source = self.context.data_sources.add_pandas("submissions")
        long_suite = gx.ExpectationSuite(name=definition["name"], meta=definition.get("meta", {}))
        for spec in definition["expectations"]:
            config = ExpectationConfiguration(type=spec["type"], kwargs=spec["kwargs"], meta=spec["meta"])
            long_suite.add_expectation(config.to_domain_obj())
        self.ruleset = ruleset
        self._targets = {"long": self._target(source, "long_table", long_suite, LONG_INDEX)}
        if ruleset is not None:
            self._targets["files"] = self._target(source, "file_checks", _rules_suite(gx, ruleset), FILE_INDEX)

    def _target(self, source, asset_name: str, suite, index: list[str]):
        gx = self._gx
        batch_definition = source.add_dataframe_asset(asset_name).add_batch_definition_whole_dataframe("batch")
        suite = self.context.suites.add(suite)
        result_format = {"result_format": "COMPLETE", "unexpected_index_column_names": index,
                         "return_unexpected_index_query": False}
        if self.data_docs_dir is None:
            return batch_definition, suite, result_format, None
        validation = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{asset_name}_validation", data=batch_definition, suite=suite))
        # No per-run docs action: the site is built once, after the last batch (finish()).
        checkpoint = self.context.checkpoints.add(gx.Checkpoint(
            name=f"{asset_name}_checkpoint", validation_definitions=[validation], actions=[],
            result_format=result_format))
        return batch_definition, suite, result_format, checkpoint

    def finish(self) -> None:
        """Build the Data Docs site from every validation this runner ran."""
        if self.data_docs_dir is not None:
            self.context.build_data_docs()

    def run(self, frame: pd.DataFrame, parameters: dict, target: str = "long"):
        batch_definition, suite, result_format, checkpoint = self._targets[target]
        if checkpoint is None:
            batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
            return batch.validate(suite, expectation_parameters=parameters, result_format=result_format)
        outcome = checkpoint.run(batch_parameters={"dataframe": frame}, expectation_parameters=parameters)
        return next(iter(outcome.run_results.values()))


def _rules_suite(gx, ruleset: RuleSet):
    suite = gx.ExpectationSuite(name=RULES_SUITE, meta={"rules_version": ruleset.version})
    import great_expectations.expectations as gxe

    for rule in ruleset.rules:
        suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(
            column=rule.column, value_set=[True],
            meta={"id": rule.id, "severity": rule.severity, "importance": rule.importance,
                  "description": rule.description, "kind": "rule"}))
    for check in ruleset.consistency:
        suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(
            column=check.column, value_set=[True],
            meta={"id": check.id, "severity": "warning", "description": check.description, "kind": "consistency"}))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(
        column="check:completeness.items_present", value_set=[True],
        meta={"id": "completeness.items_present", "severity": "warning", "kind": "completeness",
              "description": f"at least {ruleset.min_present_share:.0%} of the expected items are reported"}))
    return suite


def _failed(result):
    for expectation_result in result.results:
        if expectation_result.success:
            continue
        details = expectation_result.result or {}
        if details.get("unexpected_index_list") is None:
            exc = expectation_result.exception_info or {}
            meta = expectation_result.expectation_config.meta or {}
            raise RuntimeError(
                f"expectation {meta.get('id')} could not be evaluated: {exc.get('exception_message', details)}")
        yield expectation_result.expectation_config, details["unexpected_index_list"]


def _long_findings(result, suite: str) -> tuple[list[Finding], set[tuple[int, int]]]:
    findings, flagged = [], set()
    for config, index_list in _failed(result):
        meta, kwargs = config.meta or {}, config.kwargs
        column = kwargs.get("column") or kwargs.get("column_A") or ",".join(kwargs.get("column_list", []))
        example_column = meta.get("example_column") or kwargs.get("column") or kwargs.get("column_A")
        # Attribution: per file, and per item where the expectation concerns values.
        per_key: dict[tuple[int, str | None], list[dict]] = defaultdict(list)
        by_item = (meta.get("per_item") or meta.get("example_column") == "value_raw"
                   or column in ("value_raw", "item_code"))
        for entry in index_list:
            item = str(entry.get("item_code")) if by_item else None
            per_key[(int(entry["file_id"]), item)].append(entry)
        expected = json.dumps({k: v for k, v in kwargs.items() if k != "column"}, default=str, ensure_ascii=False)[:500]
        for (file_id, item), entries in per_key.items():
            examples = []
            for entry in entries:
                text = str(entry.get(example_column, "?"))
                if by_item and example_column == "value_raw" and column != "value_raw":
                    text = f"item {entry.get('item_code')} = {text}"
                if text not in examples:
                    examples.append(text)
                if len(examples) == EXAMPLES_SHOWN:
                    break
            observed = ", ".join(repr(e) if not e.startswith("item ") else e for e in examples)
            lines = ", ".join(str(int(e["row_no"])) for e in entries[:EXAMPLES_SHOWN])
            where = f" (line {lines}{'…' if len(entries) > EXAMPLES_SHOWN else ''})"
            template = meta.get("message", meta.get("id", config.type))
            template_hi = meta.get("message_hi")
            fields = {"count": len(entries), "examples": observed, "format": format_title(entries[0].get("format_id"))}
            findings.append(Finding(
                file_id=file_id, expectation_id=meta.get("id", config.type),
                severity=meta.get("severity", "blocking"), column=column or None, failed_rows=len(entries),
                observed=observed, expected=expected,
                message=template.format(**fields) + where,
                item_code=item,
                message_hi=template_hi.format(**fields) + where if template_hi else None,
                suite=suite,
            ))
            if meta.get("severity") == "warning":
                flagged.update((file_id, int(e["row_no"])) for e in entries)
    return findings, flagged


def validate_batch(
    runner: SuiteRunner,
    rows: pd.DataFrame,
    files: pd.DataFrame,
    registry: pd.DataFrame,
    history: pd.DataFrame | None = None,
    outlier_exempt: frozenset[str] = frozenset(),
    formats: dict[int, str | None] | None = None,
    limits: dict[str, int] | None = None,
) -> BatchOutcome:
    """Validate all ``rows`` (of many files) and attribute every failure to its file.

    ``history`` holds the facilities' accepted values of earlier months (facility_id,
    period, item_code = data element, disaggregation, value); elements in
    ``outlier_exempt`` are not judged against their history; ``formats`` and ``limits`` as
    for :func:`prepare_frame`. Rules, names and the expected items come from the catalogue.
    """
    outcome = BatchOutcome()
    if rows.empty:
        return outcome
    started = time.perf_counter()
    formats = file_formats(files, registry) if formats is None else formats
    outcome.formats = formats
    frame = prepare_frame(rows, files, registry, history, outlier_exempt, formats, limits)
    result = runner.run(frame, {}, "long")
    findings, flagged = _long_findings(result, SUITE_FILE.removesuffix(".json"))
    outcome.findings += findings
    outcome.flagged_rows |= flagged
    outcome.validations.append(_validation_record(result, SUITE_FILE.removesuffix(".json"), frame, started))
    if runner.ruleset is not None:
        started = time.perf_counter()

        month, fytd, expected, present = file_values(frame, files, registry, history, expected_elements)
        checks, numbers = evaluate(runner.ruleset, month, fytd, expected, present)
        result = runner.run(checks, {}, "files")
        lookup = item_lookup()
        own = {fid: lookup.codes.get(fmt, {}) for fid, fmt in formats.items()}
        outcome.findings += file_check_findings(result, runner.ruleset, numbers, checks, lookup.names, own)
        outcome.completeness = [
            (int(r.file_id), len(expected.get(r.file_id) or ()), int(r.items_present), int(r.items_nonzero))
            for r in checks.itertuples(index=False)
        ]
        outcome.validations.append(_validation_record(result, RULES_SUITE, checks, started))
    log.info("validated %d rows from %d files: %d findings in %d GX runs",
             len(frame), frame["file_id"].nunique(), len(outcome.findings), len(outcome.validations))
    return outcome


def _validation_record(result, suite: str, frame: pd.DataFrame, started: float) -> dict:
    stats = result.statistics
    return {
        "suite": suite, "files": int(frame["file_id"].nunique()), "rows": len(frame),
        "expectations": int(stats.get("evaluated_expectations", 0)),
        "failed": int(stats.get("unsuccessful_expectations", 0)), "success": bool(result.success),
        "seconds": round(time.perf_counter() - started, 3),
    }


def history_periods(periods: list[str]) -> tuple[str, str]:
    """The span of earlier months the outlier baselines and year-to-date sums need."""
    low = min(shift_period(p, -HISTORY_MONTHS) for p in periods)
    fy_starts = [f"{financial_year(p)[:4]}-04" for p in periods]
    return min([low, *fy_starts]), max(periods)
