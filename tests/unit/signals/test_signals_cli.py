"""``hmis signals``: a series file in, the EARS verdicts out, mistakes as one line and exit 2."""

import argparse
import csv
import io

import pytest

from hmis.cli.signals import main, register

pytestmark = pytest.mark.unit

# Area A (months, October missing): values worked out in tests/unit/test_ears.py.
MONTHLY = """area,period,count
A,2026-01,2
A,2026-02,4
A,2026-03,6
A,2026-04,4
A,2026-05,2
A,2026-06,4
A,2026-07,6
A,2026-08,10
A,2026-09,9
A,2026-11,10
"""
# Area W: ISO weeks across a year end (2026 has 53 weeks), flat at 1 then 2.
WEEK_ROWS = "".join(f"W,{week},{count}\n" for week, count in [
    ("2026-W49", 1), ("2026-W50", 1), ("2026-W51", 1), ("2026-W52", 1), ("2026-W53", 1), ("2027-W01", 1),
    ("2027-W02", 1), ("2027-W03", 1), ("2027-W04", 2)])
WEEKLY = "area,period,count\n" + WEEK_ROWS


def run(tmp_path, text: str, *options: str, capsys=None):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text(text, encoding="utf-8")
    code = main(["signals", "--input", str(source), "--output", str(target), *options])
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8")))) if target.exists() else None
    return code, rows


def test_monthly_and_weekly_round_trip_with_reference_defaults(tmp_path):
    code, rows = run(tmp_path, MONTHLY + WEEK_ROWS)
    assert code == 0
    assert list(rows[0]) == ["area", "period", "count", "expected", "sd", "upper_bound", "alarm"]
    by_area = {}
    for row in rows:
        by_area.setdefault(row["area"], []).append(row)
    # C1 evaluates from the 8th period: August, September, October (missing), November.
    assert [r["period"] for r in by_area["A"]] == ["2026-08", "2026-09", "2026-10", "2026-11"]
    august = by_area["A"][0]
    assert (august["count"], august["expected"], august["alarm"]) == ("10", "4", "true")
    assert float(august["upper_bound"]) == pytest.approx(9.046328224516841, abs=1e-12)
    october, november = by_area["A"][2], by_area["A"][3]
    assert october["count"] == "" and october["alarm"] == ""  # no data, no verdict
    assert november["upper_bound"] == "" and november["alarm"] == ""  # October is in its baseline
    # Weeks: the 8th week is 2027-W03 (flat baseline: 1 is not above 1), then W04 (2) alarms.
    assert [(r["period"], r["upper_bound"], r["alarm"]) for r in by_area["W"]] == [
        ("2027-W03", "1", "false"), ("2027-W04", "1", "true")]


def test_options_change_method_and_parameters(tmp_path):
    code, rows = run(tmp_path, MONTHLY, "--method", "C2")
    assert code == 0 and [r["period"] for r in rows] == ["2026-10", "2026-11"]
    # November's C2 baseline is February-August (t-9 .. t-3): mean 36/7.
    assert float(rows[1]["expected"]) == pytest.approx(36 / 7)
    code, rows = run(tmp_path, WEEKLY, "--min-sigma", "1")
    assert code == 0 and [r["alarm"] for r in rows] == ["false", "false"]
    assert float(rows[0]["upper_bound"]) == pytest.approx(4.090232306167813)
    code, rows = run(tmp_path, WEEKLY, "--baseline", "3", "--alpha", "0.05")
    assert code == 0 and rows[0]["period"] == "2026-W52"


def test_areas_too_short_are_skipped_with_a_note(tmp_path, capsys):
    code, rows = run(tmp_path, MONTHLY + "B,2026-01,1\nB,2026-02,1\n")
    assert code == 0 and {r["area"] for r in rows} == {"A"}
    assert "area 'B' has 2 period(s), too few for C1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("area,period\nA,2026-01\n", (), "lacks column(s) count"),
        ("area,period,count\nA,2026-13,1\n", (), "neither YYYY-MM"),
        ("area,period,count\nA,2026-W54,1\n", (), "has no week 54"),
        ("area,period,count\nA,2026-01,-3\n", (), "0 or more"),
        ("area,period,count\nA,2026-01,many\n", (), "not a number"),
        ("area,period,count\nA,2026-01,1\nA,2026-01,2\n", (), "twice"),
        ("area,period,count\nA,2026-01,1\nA,2026-W02,2\n", (), "mixes months and ISO weeks"),
        ("area,period,count\nA,2026-01,1\n", (), "no area has the 8 consecutive periods"),
        ("", (), "empty"),
        (MONTHLY, ("--baseline", "2"), "at least 3"),
        (MONTHLY, ("--alpha", "2"), "between 0 and 1"),
        (MONTHLY, ("--min-sigma", "-1"), "0 or more"),
    ],
)
def test_mistakes_are_one_line_on_stderr_and_exit_2(tmp_path, capsys, text, options, message):
    code, _ = run(tmp_path, text, *options)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("hmis signals: ") and message in err


def test_missing_input_file(tmp_path, capsys):
    assert main(["signals", "--input", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "o.csv")]) == 2
    assert capsys.readouterr().err == f"hmis signals: input file {tmp_path / 'nope.csv'} does not exist\n"


def test_bad_method_is_refused_by_the_parser(tmp_path):
    with pytest.raises(SystemExit) as stopped:
        main(["signals", "--method", "C4", "--input", "x", "--output", "y"])
    assert stopped.value.code == 2


def test_register_adds_the_subcommand_to_any_parser(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="hmis")
    register(parser.add_subparsers(dest="command", required=True))
    source = tmp_path / "in.csv"
    source.write_text(MONTHLY, encoding="utf-8")
    args = parser.parse_args(["signals", "--input", str(source), "--output", "-"])
    # No method given: C1 for a series file (every method for a --warehouse listing).
    assert (args.method, args.baseline, args.alpha, args.min_sigma) == (None, 7, None, 0.0)
    assert args.func(args) == 0
    assert capsys.readouterr().out.startswith("area,period,count,expected,sd,upper_bound,alarm\nA,2026-08,10,4,")


# Area P: flat at 4, then 20 in the 8th month twice: once complete, once provisional.
def _marked(completeness: str) -> str:
    rows = "".join(f"P,2026-{month:02d},4,\n" for month in range(1, 8))
    return "area,period,count,completeness\n" + rows + f"P,2026-08,20,{completeness}\n"


def test_a_provisional_period_is_judged_but_never_alarmed(tmp_path):
    code, complete = run(tmp_path, _marked("complete"))
    assert code == 0
    assert list(complete[0]) == ["area", "period", "count", "expected", "sd", "upper_bound", "alarm",
                                 "would_alarm", "completeness"]
    assert [(r["alarm"], r["would_alarm"], r["completeness"]) for r in complete] == [("true", "true", "complete")]
    code, provisional = run(tmp_path, _marked("provisional"))
    assert code == 0
    assert [(r["alarm"], r["would_alarm"], r["completeness"]) for r in provisional] == [
        ("false", "true", "provisional")]
    assert provisional[0]["upper_bound"] == complete[0]["upper_bound"]  # judged the same way


def test_an_empty_completeness_reads_as_complete_and_a_wrong_one_is_refused(tmp_path, capsys):
    code, rows = run(tmp_path, _marked(""))
    assert code == 0 and rows[0]["completeness"] == "complete" and rows[0]["alarm"] == "true"
    code, _ = run(tmp_path, _marked("nearly"))
    err = capsys.readouterr().err
    assert code == 2 and "line 9: completeness 'nearly' must be provisional, complete or empty" in err


def test_warehouse_options_go_with_warehouse(tmp_path, capsys):
    source = tmp_path / "in.csv"
    source.write_text(MONTHLY, encoding="utf-8")
    assert main(["signals", "--input", str(source), "--period", "2026-11"]) == 2
    assert "--district and --period go with --warehouse" in capsys.readouterr().err
    assert main(["signals", "--warehouse", "--period", "November"]) == 2
    assert "is not a month YYYY-MM" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["signals", "--warehouse", "--input", str(source)])
