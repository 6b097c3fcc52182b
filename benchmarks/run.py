"""Benchmark the pipeline at a named scale: ``python -m benchmarks.run --scale state``.

Phases, all in one process and on one generated month:

1. ``tasks``       — the functions the DAG's tasks call (``hmis.pipeline.monthly``) on a fresh warehouse:
   end to end. First, so Great Expectations is imported inside the validate task.
2. ``incremental`` — a second day on which 1 % of facilities sent a new file.
3. ``stages``      — each stage function of the pipeline called directly on one connection.
4. ``baselines``   — raw COPY, ``to_sql`` and per-facility GX on the rows the stages loaded.
5. ``airflow``     — the same month through ``hmis_dev.airflow_runtime.run_dag`` (``dag.test()``); by
   default at district scale only, to measure Airflow's own cost per task.

The warehouse is a dedicated embedded PostgreSQL under ``benchmarks/.work/bench-pg``,
stopped at the end. The results go to ``benchmarks/results/<scale>-<date>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import date
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
# HMIS_BENCH_WORK gives a long run (national) its own scratch folder and server, so a
# shorter one can run beside it.
WORK = Path(os.environ.get("HMIS_BENCH_WORK") or BENCH_DIR / ".work")
RESULTS = BENCH_DIR / "results"
PHASES = ("stages", "baselines", "tasks", "incremental", "airflow")
# The functions of hmis.pipeline.monthly the DAG's tasks call, in dependency order.
TASK_ORDER = ("prepare", "discover", "parse", "validate", "load", "update_compliance", "build_marts",
              "export_marts", "notify_officers", "summarise")
# Stages whose time is spent inside PostgreSQL: profiled with auto_explain, not cProfile alone.
SQL_STAGES = ("load", "marts")
EXPLAIN_MIN_MS = 300
STAGES = ("migrate", "sync_reference", "sync_formats", "discover", "parse", "validate", "load", "compliance", "marts")


def _environment(scale_dir: Path, landing: Path) -> None:
    """Point the pipeline and Airflow at the benchmark's scratch folders (before any import
    of Airflow, which reads its configuration once)."""
    os.environ["HMIS_HOME"] = str(ROOT)
    os.environ["HMIS_VAR_DIR"] = str(scale_dir / "var")
    os.environ["HMIS_LANDING_URL"] = str(landing)
    # One month of data: the daily run's other open months would only add empty periods.
    os.environ["HMIS_OPEN_PERIODS"] = "1"
    os.environ["AIRFLOW_HOME"] = str(WORK / "airflow")
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
    os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"


def _fresh_database(server) -> None:
    import psycopg2
    from psycopg2 import sql

    admin = psycopg2.connect(host="127.0.0.1", port=server.port, user="postgres", dbname="postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(server.database)))
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(server.database)))
    finally:
        admin.close()



def _say(text: str) -> None:
    print(text, flush=True)


# --------------------------------------------------------------------------- phases


def _explain_slow_statements(conn) -> None:
    """Have the server log the analysed plan of every statement of this session slower than
    ``EXPLAIN_MIN_MS`` (auto_explain, superuser only) into its postgres.log."""
    with conn.cursor() as cur:
        cur.execute("LOAD 'auto_explain'")
        cur.execute("SET auto_explain.log_min_duration = %s", (EXPLAIN_MIN_MS,))
        cur.execute("SET auto_explain.log_analyze = on")
        cur.execute("SET auto_explain.log_nested_statements = on")
    conn.commit()


def _slow_plans(log_path: Path, since: int) -> str:
    """The auto_explain entries written to the server log after byte ``since``."""
    with log_path.open("rb") as handle:
        handle.seek(since)
        text = handle.read().decode("utf-8", "replace")
    keep, lines = False, []
    for line in text.splitlines():
        if "duration:" in line and "plan:" in line:
            keep = True
        elif line[:4].isdigit() and "LOG:" in line:
            keep = False
        if keep:
            # Query texts carry arrays of thousands of file ids; the start says enough.
            lines.append(line if len(line) <= 400 else line[:400] + " …")
    return "\n".join(lines) + "\n"


def _suite_runner(settings, with_docs: bool):
    """The validation runner built as ``hmis.pipeline.monthly.validate`` builds it: rules on
    the data elements of the official formats."""
    from hmis.quality.rules import RULES_FILE, load_rules
    from hmis.quality.runner import SuiteRunner
    from hmis.reference.formats import load_catalogue

    elements = {item.element for item in load_catalogue().elements()}
    ruleset = load_rules(settings.expectations_dir / RULES_FILE, elements)
    return SuiteRunner(settings.expectations_dir, ruleset, settings.data_docs_dir if with_docs else None)


def run_stages(spec, generated, as_of, profile: list[str], results: dict) -> None:
    """Each stage function called directly, in pipeline order, on one connection."""
    from benchmarks.measure import measure, profile_report
    from hmis.compliance import status as compliance
    from hmis.ingest import stages as ingest
    from hmis.marts import build as marts
    from hmis.pipeline.run import run_key
    from hmis.platform.landing import open_store
    from hmis.platform.settings import load_settings
    from hmis.platform.warehouse import connect, migrate
    from hmis.reference.format_tables import sync_formats
    from hmis.reference.formats import load_catalogue
    from hmis.reference.registry import read_registry, sync_reference

    settings = load_settings()
    store = open_store(settings.landing_url)
    run_id, periods = run_key(as_of), [spec.period]
    profiles: dict[str, list] = {}
    steps = []

    def timed(name, fn, **kwargs):
        profiled = name in profile
        step = measure(name, fn, profile_to=profiles.setdefault(name, []) if profiled else None, **kwargs)
        if profiled:
            step.note = (step.note + " (under cProfile)").strip()
        steps.append(step)
        _say(f"  {name:<16} {step.seconds:8.2f} s  {step.result if isinstance(step.result, dict) else ''}")
        return step

    server_log = WORK / "bench-pg" / "postgres.log"
    log_offset = server_log.stat().st_size if server_log.exists() else 0
    conn = connect()
    sql_profiled = [name for name in profile if name in SQL_STAGES]
    if sql_profiled:
        _explain_slow_statements(conn)
    try:
        timed("migrate", lambda: migrate(conn))
        timed("sync_reference", lambda: sync_reference(conn, store, as_of), rows=lambda r: r["facilities"])
        # The official formats' tables, as the prepare task writes them: the load places codes by them.
        timed("sync_formats", lambda: sync_formats(conn, load_catalogue(), periods),
              rows=lambda r: r["format_items"], note="rows = format items")
        timed("discover", lambda: ingest.discover(conn, store, periods, as_of, run_id),
              rows=generated.rows, files=lambda r: r["new_files"], note="rows = rows in the files found")
        timed("parse", lambda: ingest.parse_discovered(conn, store, run_id, as_of, settings.max_file_bytes,
                                                       settings.batch_files),
              rows=lambda r: r["rows_staged"], files=lambda r: r["parsed_files"])
        runner_step = timed("gx_suite_runner", lambda: _suite_runner(settings, with_docs=True),
                            note="GX context + suites (GX already imported); once per validate task")
        runner = runner_step.result
        runner_step.result = None
        docs = settings.data_docs_dir
        timed("validate", lambda: ingest.validate_parsed(conn, store, runner, run_id, as_of,
                                                         settings.batch_files,
                                                         str(docs / "index.html") if docs else None),
              rows=generated.rows, files=lambda r: r["accepted_files"] + r["rejected_files"],
              note=f"batches of {settings.batch_files} files; 2 GX suites per batch"
                   + ("; Data Docs on" if docs else "; Data Docs off"))
        timed("load", lambda: ingest.load_accepted(conn, run_id, as_of), rows=lambda r: r["rows_loaded"],
              files=lambda r: r["loaded_files"])
        timed("compliance", lambda: compliance.refresh_status(conn, read_registry(conn), periods, as_of,
                                                              settings.due_day),
              rows=lambda r: sum(r.values()), note="rows = facility statuses")
        load_rows = steps[-2].rows
        timed("marts", lambda: marts.rebuild(conn, periods, as_of), rows=load_rows, note="rows = facts read")
    finally:
        conn.close()
    results["stages"] = [s.as_dict() for s in steps]
    statuses = steps[-2].result
    expected = {"on_time": generated.outcomes["on_time"], "late": generated.outcomes["late"],
                "missing": generated.outcomes["missing"], "rejected": generated.outcomes["rejected"]}
    results["check"] = {"statuses": statuses, "generator_outcomes": expected,
                        "consistent": all(statuses.get(k, 0) == v for k, v in expected.items())}
    if not results["check"]["consistent"]:
        _say(f"  WARNING: statuses {statuses} differ from the generator's outcomes {expected}")
    results["profiles"] = {}
    if sql_profiled:
        path = RESULTS / f"{spec.name}-{date.today().isoformat()}-explain-{'-'.join(sql_profiled)}.txt"
        path.write_text(_slow_plans(WORK / "bench-pg" / "postgres.log", log_offset), encoding="utf-8")
        results["profiles"]["slow_sql"] = str(path.relative_to(ROOT))
        _say(f"  plans of statements slower than {EXPLAIN_MIN_MS} ms written to {path}")
    for name, collected in profiles.items():
        path = RESULTS / f"{spec.name}-{date.today().isoformat()}-profile-{name}.txt"
        path.write_text(profile_report(collected[0]), encoding="utf-8")
        results["profiles"][name] = str(path.relative_to(ROOT))
        _say(f"  profile of {name} written to {path}")


def run_baselines(spec, server, generated, results: dict, to_sql_rows: int, gx_sample: int) -> None:
    from benchmarks import baselines
    from hmis.platform.settings import load_settings
    from hmis.platform.warehouse import connect

    settings = load_settings()
    landing = Path(settings.landing_url)
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT key FROM ingest.file WHERE status = 'loaded' ORDER BY key")
            paths = [landing / key for (key,) in cur.fetchall()]
        conn.rollback()
        baselines.create_tables(conn)
        measured = []
        for table in ("copy_plain", "copy_keyed"):
            measured.append(baselines.raw_copy(conn, paths, table))
            _say(f"  {measured[-1].name:<40} {measured[-1].seconds:8.2f} s")
        rows = measured[0].rows
        measured.append(baselines.to_sql(server, paths, rows, to_sql_rows))
        _say(f"  {measured[-1].name:<40} {measured[-1].seconds:8.2f} s"
             + (" (extrapolated)" if measured[-1].extrapolated else ""))
        runner = _suite_runner(settings, with_docs=False)
        per_file, one_batch = baselines.gx_per_facility(conn, runner, paths, len(paths), rows,
                                                        gx_sample, settings.max_file_bytes)
        measured += [per_file, one_batch]
        _say(f"  {per_file.name:<40} {per_file.seconds:8.2f} s" + (" (extrapolated)" if per_file.extrapolated else ""))
    finally:
        conn.close()
    results["baselines"] = [b.as_dict() for b in measured]
    stage = {s["name"]: s for s in results["stages"]}
    ours = stage["validate"]["seconds"] + stage["load"]["seconds"]
    ingest_total = sum(stage[n]["seconds"] for n in ("discover", "parse", "validate", "load"))
    copy_plain, copy_keyed, to_sql_b = measured[0], measured[1], measured[2]
    results["ratios"] = {
        "load_validate_seconds": ours,
        "ingest_seconds": ingest_total,
        "load_validate_vs_raw_copy": ours / copy_plain.seconds,
        "load_validate_vs_keyed_copy": ours / copy_keyed.seconds,
        "ingest_vs_raw_copy": ingest_total / copy_plain.seconds,
        "load_validate_vs_to_sql": ours / to_sql_b.seconds,
        "load_validate_vs_gx_per_facility": ours / per_file.seconds,
        "validate_vs_gx_per_facility": stage["validate"]["seconds"] / per_file.seconds,
    }


def run_tasks(as_of, label: str, new_rows: int) -> dict:
    """The task functions of ``hmis.pipeline.monthly`` in DAG order; their sum is end to end.

    Run first in the process, so the validate task pays for importing Great Expectations
    as it does in its own Airflow worker process. ``new_rows`` is the number of rows in the
    files that arrived, for the rows column.
    """
    from benchmarks.measure import measure
    from hmis.pipeline import monthly as tasks
    from hmis.pipeline.run import Run

    steps = []
    staged = built = None
    run = Run.at(as_of)  # built once, as each Airflow task builds it from its context
    for name in TASK_ORDER:
        fn = getattr(tasks, name, None)
        if fn is None:
            continue
        if name == "export_marts":
            if not built or not built.get("changed"):
                _say(f"  {label} {name:<18}  skipped: no mart changed (as Airflow skips it)")
                continue
            step = measure(name, lambda fn=fn, periods=built["periods"]: fn(run, periods))
        else:
            step = measure(name, lambda fn=fn: fn(run))
        result = step.result if isinstance(step.result, dict) else {}
        if name == "discover":
            step.rows, step.files = new_rows, result.get("new_files")
        elif name == "parse":
            staged = step.rows = result.get("rows_staged")
            step.files = result.get("parsed_files")
        elif name == "validate":
            step.rows = staged
            step.files = result.get("accepted_files", 0) + result.get("rejected_files", 0)
        elif name == "load":
            step.rows = result.get("rows_loaded")
            step.files = result.get("loaded_files")
        elif name == "update_compliance":
            step.rows = sum(v for v in result.values() if isinstance(v, int))
            step.note = "rows = facility statuses"
        elif name == "build_marts":
            built = result
            step.note = (f"{result.get('blocks', 0)} block-period(s) in {len(result['changed'])} district-period(s) rebuilt"
                         if "changed" in result else "")
        if name == "summarise":
            step.result = None  # the summary is kept in ingest.run; too long for the table
        steps.append(step)
        _say(f"  {label} {name:<18} {step.seconds:8.2f} s")
    total = sum(s.seconds for s in steps)
    return {"seconds": total, "peak_rss_mib": max(s.peak_rss_mib for s in steps),
            "steps": [s.as_dict() for s in steps]}


def run_airflow(settings, as_of, direct: dict, results: dict) -> None:
    """The same month through real Airflow once; compare with the direct task calls."""
    from hmis_dev.airflow_runtime import configure_airflow, ensure_airflow_db, output_to, run_dag

    home = configure_airflow(settings, Path(os.environ["AIRFLOW_HOME"]))
    log_path = WORK / "airflow-run.log"
    started = time.perf_counter()
    with output_to(log_path):
        ensure_airflow_db(home)
    migrate_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with output_to(log_path):
        dag_run = run_dag(settings, as_of)
    wall = time.perf_counter() - started
    instances = {ti.task_id: ti for ti in dag_run.get_task_instances()}
    durations = {tid: (ti.end_date - ti.start_date).total_seconds() if ti.end_date and ti.start_date else None
                 for tid, ti in instances.items()}
    states = {tid: str(ti.state) for tid, ti in instances.items()}
    count = len(instances) or 9
    results["airflow"] = {
        "state": str(dag_run.state),
        "task_states": states,
        "airflow_db_migrate_seconds": migrate_seconds,
        "run_dag_seconds": wall,
        "direct_task_calls_seconds": direct["seconds"],
        "overhead_seconds": wall - direct["seconds"],
        "overhead_per_task_seconds": (wall - direct["seconds"]) / count,
        "task_instance_seconds": durations,
        "note": "run_dag = DagBag parse + dag.test() in-process; airflow db migrate is one-off and excluded",
    }
    _say(f"  run_dag {wall:.1f} s vs direct {direct['seconds']:.1f} s: "
         f"{(wall - direct['seconds']) / count:.2f} s per task; state {dag_run.state}")


def dag_structure(settings) -> dict:
    from hmis_dev.airflow_runtime import configure_airflow, load_dag

    configure_airflow(settings, Path(os.environ["AIRFLOW_HOME"]))
    dag = load_dag(settings)
    mapped = [t.task_id for t in dag.tasks if getattr(t, "is_mapped", False)]
    return {"dag_id": dag.dag_id, "tasks": len(dag.tasks), "task_ids": sorted(t.task_id for t in dag.tasks),
            "mapped_tasks": len(mapped)}


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    from benchmarks.generator import SCALES

    parser.add_argument("--scale", choices=tuple(SCALES), required=True)
    parser.add_argument("--keep", action="store_true",
                        help="keep the generated landing store and the warehouse's files in benchmarks/.work")
    parser.add_argument("--skip", action="append", default=[], choices=PHASES, help="skip a phase (repeatable)")
    parser.add_argument("--airflow", action="store_true", help="also run the airflow phase above district scale")
    parser.add_argument("--profile", action="append", default=[], choices=STAGES,
                        help="run this stage under cProfile and write the report (repeatable)")
    parser.add_argument("--to-sql-rows", type=int, default=150_000, help="to_sql sample size (rows)")
    parser.add_argument("--gx-sample", type=int, default=50, help="files validated one by one with GX")
    parser.add_argument("--output", type=Path, help="results file (default results/<scale>-<date>.json)")
    args = parser.parse_args(argv)

    from benchmarks.generator import expected_rows_per_file, run_dates

    spec = SCALES[args.scale]
    scale_dir = WORK / spec.name
    landing = scale_dir / "landing"
    _environment(scale_dir, landing)

    from benchmarks.generator import generate, write_revisions
    from benchmarks.measure import measure
    from benchmarks.report import baseline_table, machine, step_table, target_table, targets
    from hmis.platform.settings import load_settings
    from hmis_dev.services import postgres
    from hmis_dev.services.smtp_sink import SmtpSink

    skip = set(args.skip)
    if spec.name != "district" and not args.airflow:
        skip.add("airflow")
    as_of, next_day = run_dates(spec)
    settings = load_settings()
    results: dict = {"scale": spec.name, "date": date.today().isoformat(), "machine": machine(),
                     "as_of": as_of.isoformat(), "phases_skipped": sorted(skip)}
    _say(f"benchmark {spec.name}: {spec.facilities:,} facilities in their official formats "
         f"(~{expected_rows_per_file(spec):.0f} rows per file), period {spec.period}, run {as_of.isoformat()}")

    if landing.exists():
        shutil.rmtree(landing)
    gen_step = measure("generate", lambda: generate(spec, landing), rows=lambda g: g.rows, files=lambda g: g.files,
                       note="numpy + numpy.strings, one write per file")
    generated = gen_step.result
    gen_step.result = generated.as_dict()
    results["generated"] = generated.as_dict()
    results["generate"] = gen_step.as_dict()
    _say(f"generated {generated.files:,} files, {generated.rows:,} rows, {generated.bytes / 1e6:,.0f} MB "
         f"in {gen_step.seconds:.1f} s ({generated.outcomes})")
    _say("  by type: " + ", ".join(f"{t} {s['files']:,} x {s['rows_per_file']}"
                                   for t, s in generated.by_type.items() if s["files"]))

    pg_dir = WORK / "bench-pg"
    server = postgres.start(pg_dir, database="bench")
    os.environ["AIRFLOW_CONN_HMIS_WAREHOUSE"] = server.airflow_conn_json()
    sink = SmtpSink(scale_dir / "mail")
    sink.start()
    os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = sink.airflow_conn_json()
    try:
        if "tasks" not in skip:
            _say("phase tasks (hmis.pipeline.monthly, DAG order)")
            _fresh_database(server)
            results["e2e"] = run_tasks(as_of, "full", generated.rows)
            if "incremental" not in skip:
                _say("phase incremental (1 % of facilities send a new file)")
                revisions = write_revisions(spec, landing, 0.01)
                try:
                    revised_rows = sum(path.read_bytes().count(b"\n") - 1 for path in revisions)
                    incremental = run_tasks(next_day, "incr", revised_rows)
                finally:
                    for path in revisions:
                        path.unlink(missing_ok=True)
                incremental["new_files"] = len(revisions)
                incremental["share_of_full"] = incremental["seconds"] / results["e2e"]["seconds"]
                results["incremental"] = incremental
        if "stages" not in skip:
            _say("phase stages (direct calls)")
            _fresh_database(server)
            run_stages(spec, generated, as_of, args.profile, results)
            if "baselines" not in skip:
                _say("phase baselines (same rows)")
                run_baselines(spec, server, generated, results, args.to_sql_rows, args.gx_sample)
        if "airflow" not in skip and "e2e" in results:
            _say("phase airflow (run_dag once, dag.test())")
            _fresh_database(server)
            run_airflow(settings, as_of, results["e2e"], results)
        results["dag"] = dag_structure(settings)
    finally:
        sink.stop()
        postgres.stop(pg_dir)
        if not args.keep:
            shutil.rmtree(scale_dir, ignore_errors=True)
            shutil.rmtree(pg_dir, ignore_errors=True)

    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = targets(spec.name, results)
    output = args.output or RESULTS / f"{spec.name}-{results['date']}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")

    _say("")
    _say(step_table("generator (not part of the pipeline)", [results["generate"]]))
    if "stages" in results:
        _say("")
        _say(step_table("stages, called directly", results["stages"]))
    if "baselines" in results:
        _say("")
        _say(baseline_table(results["baselines"]))
        _say("ratios: " + ", ".join(f"{k} {v:.2f}" for k, v in results["ratios"].items()))
    if "e2e" in results:
        _say("")
        _say(step_table(f"end to end through hmis.pipeline.monthly: {results['e2e']['seconds']:.1f} s",
                        results["e2e"]["steps"]))
    if "incremental" in results:
        _say("")
        _say(step_table(f"incremental day, {results['incremental']['new_files']} new files: "
                        f"{results['incremental']['seconds']:.1f} s", results["incremental"]["steps"]))
    if "airflow" in results:
        a = results["airflow"]
        _say("")
        _say(f"Airflow: run_dag {a['run_dag_seconds']:.1f} s vs direct calls {a['direct_task_calls_seconds']:.1f} s "
             f"-> {a['overhead_per_task_seconds']:.2f} s per task ({a['state']}); "
             f"one-off airflow db migrate {a['airflow_db_migrate_seconds']:.1f} s")
    _say("")
    _say(target_table(results["targets"]))
    _say(f"\nresults: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
