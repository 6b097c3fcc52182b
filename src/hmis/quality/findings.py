"""What validation found: one failed expectation per file (and item), and a batch's outcome.

Findings are the source of truth for data quality: they go to ``dq.result``, decide which
files are rejected, and feed the feedback to facilities. GX Data Docs are a view of them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Finding:
    """One expectation that failed for one file (and item, where it is about an item)."""

    file_id: int
    expectation_id: str
    severity: str
    column: str | None
    failed_rows: int
    observed: str
    expected: str
    message: str
    item_code: str | None = None
    message_hi: str | None = None
    suite: str | None = None


@dataclass
class BatchOutcome:
    findings: list[Finding] = field(default_factory=list)
    flagged_rows: set[tuple[int, int]] = field(default_factory=set)
    completeness: list[tuple] = field(default_factory=list)
    validations: list[dict] = field(default_factory=list)
    formats: dict[int, str | None] = field(default_factory=dict)   # the format each file follows

    def _by_file(self, severity: str) -> dict[int, list[Finding]]:
        grouped: dict[int, list[Finding]] = defaultdict(list)
        for finding in self.findings:
            if finding.severity == severity:
                grouped[finding.file_id].append(finding)
        return grouped

    def blocking_by_file(self) -> dict[int, list[Finding]]:
        return self._by_file("blocking")

    def warnings_by_file(self) -> dict[int, list[Finding]]:
        return self._by_file("warning")
