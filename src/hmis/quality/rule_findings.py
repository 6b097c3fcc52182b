"""Per-file inputs for the validation rules, and the sentences their failures produce.

A facility's data operator reads these sentences, so they name the items with their
official names of the data elements and the numbers as submitted, e.g. "Item 1.1.1 (Of which number registered
within first trimester) = 140 is more than item 1.1 (Total number of pregnant women
registered for ANC) = 120", with a Hindi version and what to do next.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import pandas as pd

from hmis.quality.findings import Finding
from hmis.quality.rules import RuleSet
from hmis.reference.formats import TOTAL
from hmis.reference.periods import financial_year

ACTION_EN = ("Check these figures in the facility register and upload a corrected file; "
             "if they are right, confirm them to the block officer.")
ACTION_HI = ("कृपया रजिस्टर से ये आंकड़े जाँचें और सुधरी हुई फ़ाइल दोबारा अपलोड करें; "
             "यदि आंकड़े सही हैं तो ब्लॉक अधिकारी को पुष्टि भेजें।")
# What is wrong when "left <op> right" does not hold.
BROKEN = {
    "<=": ("is more than", "से अधिक है"),
    "<": ("is not less than", "से कम नहीं है"),
    ">=": ("is less than", "से कम है"),
    ">": ("is not more than", "से अधिक नहीं है"),
    "==": ("differs from", "के बराबर नहीं है"),
    "!=": ("equals", "के बराबर है"),
}


def file_values(frame: pd.DataFrame, files: pd.DataFrame, registry: pd.DataFrame,
                history: pd.DataFrame | None, expected_items: Callable[[str, str], frozenset[str]]):
    """(month, fytd, expected, present) for each file of the batch.

    ``month`` has one row per file and one column per data element (its TOTAL; NaN where
    not reported); ``fytd`` adds the facility's accepted values of the earlier months of
    the same financial year; ``expected`` maps each file to the elements its facility type
    reports that month (``expected_items(facility_type, period)``); ``present`` says which
    elements each file holds at all (numbers, statuses and dates alike).
    """
    placed = frame[frame["element"].notna()]
    # Vectorised: a pivot with a Python aggregate cost most of this function at 300 items a file.
    present = placed.groupby(["file_id", "element"]).size().unstack(fill_value=0).gt(0)
    numeric = frame[(frame["disaggregation"] == TOTAL) & frame["element"].notna()].dropna(subset=["value"])
    month = (numeric.drop_duplicates(["file_id", "element"], keep="last")
             .pivot(index="file_id", columns="element", values="value"))
    month = month.reindex(files["file_id"].astype("int64"))
    fytd = month.copy()
    if history is not None and not history.empty:
        totals = history[history["disaggregation"] == TOTAL]
        meta = files.set_index("file_id")
        earlier = []
        for file_id in month.index:
            facility, period = meta.at[file_id, "key_facility_id"], meta.at[file_id, "key_period"]
            try:
                fy_start = f"{financial_year(period)[:4]}-04"
            except ValueError:
                continue
            rows = totals[(totals["facility_id"] == facility) & (totals["period"] >= fy_start)
                          & (totals["period"] < period)]
            if not rows.empty:
                earlier.append(rows.groupby("item_code")["value"].sum().rename(file_id))
        if earlier:
            # add() keeps NaN only where both this month and the earlier months lack the item
            fytd = month.add(pd.DataFrame(earlier), fill_value=0)
    types = dict(zip(registry["facility_id"], registry["facility_type"]))
    expected = {
        int(fid): set(expected_items(types.get(fac), per)) if fac in types else set()
        for fid, fac, per in zip(files["file_id"], files["key_facility_id"], files["key_period"])
    }
    return month, fytd, expected, present


def _side_text(elements: tuple[str, ...], catalogue: dict, hindi: bool = False, capital: bool = True,
               own: dict[str, str] | None = None) -> str:
    """The items of one side of a rule as the facility knows them: its format's codes (``own``
    maps element -> code; the CHC's 2.1 for element 2.2) with the official names."""
    names = [catalogue.get(c, (c, c))[1 if hindi else 0] or catalogue.get(c, (c, c))[0] for c in elements]
    codes = [(own or {}).get(c, c) for c in elements]
    if hindi:
        return f"मद {' + '.join(codes)} ({' + '.join(names)})"
    noun = "item" if len(codes) == 1 else "items"
    return f"{noun.capitalize() if capital else noun} {' + '.join(codes)} ({' + '.join(names)})"


def _number(value) -> str:
    return str(int(value)) if pd.notna(value) and float(value).is_integer() else str(value)


def file_check_findings(result, ruleset: RuleSet, numbers: dict, checks: pd.DataFrame,
                        catalogue: dict, own_codes: dict[int, dict[str, str]] | None = None) -> list[Finding]:
    """One finding per file and failed rule / consistency / completeness check."""
    rules = {r.id: r for r in ruleset.rules}
    consistency = {c.id: c for c in ruleset.consistency}
    shares = dict(zip(checks["file_id"], checks["completeness_share"]))
    findings = []
    for expectation_result in result.results:
        if expectation_result.success:
            continue
        config = expectation_result.expectation_config
        meta = config.meta or {}
        check_id = meta["id"]
        failed = defaultdict(int)
        for entry in expectation_result.result.get("unexpected_index_list") or []:
            failed[int(entry["file_id"])] += 1
        for file_id in failed:
            column = config.kwargs["column"]
            own = (own_codes or {}).get(file_id, {})

            def side(elements, hindi=False, capital=True, own=own):
                return _side_text(elements, catalogue, hindi, capital, own)
            if check_id in rules:
                rule = rules[check_id]
                left, right = (numbers[column][0].get(file_id), numbers[column][1].get(file_id))
                fytd = " (April to this month)" if rule.period == "financial_year_to_date" else ""
                fytd_hi = " (अप्रैल से इस माह तक)" if rule.period == "financial_year_to_date" else ""
                if rule.operator in BROKEN:
                    en, hi = BROKEN[rule.operator]
                    message = (f"{side(rule.left)} = {_number(left)}{fytd} {en} "
                               f"{side(rule.right, capital=False)} = {_number(right)}{fytd}. {ACTION_EN}")
                    message_hi = (f"{side(rule.left, True)} = {_number(left)}{fytd_hi}, "
                                  f"{side(rule.right, True)} = {_number(right)}{fytd_hi} {hi}। "
                                  f"{ACTION_HI}")
                else:
                    together = rule.operator == "compulsory_pair"
                    message = (f"{side(rule.left)} and {side(rule.right, capital=False)} "
                               f"must be {'reported together' if together else 'not both reported'}. {ACTION_EN}")
                    message_hi = (f"{side(rule.left, True)} और {side(rule.right, True)} "
                                  f"{'दोनों साथ भरे जाने चाहिए' if together else 'दोनों एक साथ नहीं भरे जा सकते'}। {ACTION_HI}")
                observed, expected = f"{_number(left)} vs {_number(right)}", f"left {rule.operator} right"
                item, severity = own.get(rule.left[0], rule.left[0]), rule.severity
            elif check_id in consistency:
                check = consistency[check_id]
                a, b = numbers[column][0].get(file_id), numbers[column][1].get(file_id)
                message = (f"{check.description}: {side(check.a)} = {_number(a)}, "
                           f"{side(check.b, capital=False)} = {_number(b)}. {ACTION_EN}")
                message_hi = (f"{side(check.a, True)} = {_number(a)}, "
                              f"{side(check.b, True)} = {_number(b)} — ये आपस में मेल नहीं खाते। "
                              f"{ACTION_HI}")
                observed, expected, item, severity = f"{_number(a)} vs {_number(b)}", check.description, own.get(check.a[0], check.a[0]), "warning"
            else:
                share = shares.get(file_id)
                message = (f"Only {share:.0%} of the items a facility of this type reports are in the file "
                           f"(at least {ruleset.min_present_share:.0%} expected); add the missing items, "
                           "with 0 where nothing happened.")
                message_hi = (f"फ़ाइल में इस प्रकार के संस्थान के केवल {share:.0%} मद हैं "
                              f"(कम से कम {ruleset.min_present_share:.0%} चाहिए); छूटे मद जोड़ें, शून्य हो तो 0 लिखें।")
                observed, expected, item, severity = f"{share:.2f}", f">= {ruleset.min_present_share}", None, "warning"
            findings.append(Finding(
                file_id=file_id, expectation_id=check_id, severity=severity, column=column, failed_rows=1,
                observed=observed, expected=expected, message=message, item_code=item, message_hi=message_hi,
                suite="hmis_file_checks",
            ))
    return findings
