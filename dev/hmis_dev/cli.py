"""The development commands of ``hmis``: demo, demo data, local runs and the embedded services.

Registered through the ``hmis.commands`` entry point of ``hmis-pipeline-dev``; they are not
part of the production image.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from hmis.cli.errors import UsageError
from hmis.pipeline.run import latest_scheduled_run
from hmis.platform.embedded import start_embedded_services
from hmis.platform.settings import load_settings
from hmis.reference.periods import REPORTING_TZ
from hmis_dev.airflow_runtime import run_dag
from hmis_dev.demo.generator import generate
from hmis_dev.demo.runner import run_demo
from hmis_dev.services import postgres


def _parse_moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"cannot read {text!r} as a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    if moment.tzinfo is None:
        if len(text) == 10:  # a bare date means that day's scheduled run
            moment = moment.replace(hour=6)
        moment = moment.replace(tzinfo=REPORTING_TZ)
    return moment


def cmd_generate(args) -> int:
    settings = load_settings()
    landing = Path(args.landing) if args.landing else settings.var_dir / "landing"
    as_of = _parse_moment(args.as_of) or latest_scheduled_run(datetime.now(REPORTING_TZ))
    truth = generate(landing, as_of, months=args.months, seed=args.seed)
    truth_path = settings.var_dir / "demo" / "truth.json"
    truth.save(truth_path)
    print(f"wrote demo data for {', '.join(truth.periods)} (as of {as_of.isoformat()}) to {landing}")
    print(f"what the generator intended: {truth_path}")
    return 0


def cmd_run(args) -> int:
    settings = load_settings()
    start_embedded_services(settings)
    logical_date = _parse_moment(args.date) or latest_scheduled_run(datetime.now(REPORTING_TZ))
    dag_run = run_dag(settings, logical_date)
    state = str(getattr(dag_run, "state", "unknown"))
    print(f"hmis_monthly run for {logical_date.isoformat()}: {state}")
    return 0 if state.endswith("success") else 1


def cmd_demo(args) -> int:
    return run_demo(load_settings(), _parse_moment(args.as_of), args.months, args.seed)


def cmd_services(args) -> int:
    settings = load_settings()
    data_dir = settings.var_dir / "pg"
    if args.action == "start":
        server = postgres.start(data_dir)
        print(f"warehouse running: {server.dsn}")
    elif args.action == "stop":
        print("warehouse stopped" if postgres.stop(data_dir) else "warehouse was not running")
    else:
        running = postgres.is_running(data_dir)
        print(f"warehouse: {'running' if running else 'stopped'} ({data_dir})")
    return 0


def register(sub) -> None:
    """Add the development commands to the ``hmis`` command's subparsers."""
    demo = sub.add_parser("demo", help="generate Hisar demo data and run the pipeline end to end")
    demo.add_argument("--as-of", help="logical date of the run (default: the latest 06:00 IST)")
    demo.add_argument("--months", type=int, default=3, help="complete months of data (default 3)")
    demo.add_argument("--seed", type=int, default=2026, help="random seed of the demo data")
    demo.set_defaults(func=cmd_demo)

    gen = sub.add_parser("generate", help="write the deterministic Hisar demo data set")
    gen.add_argument("--landing", help="landing folder (default var/landing)")
    gen.add_argument("--as-of", help="moment the data is generated for (default: latest 06:00 IST)")
    gen.add_argument("--months", type=int, default=3)
    gen.add_argument("--seed", type=int, default=2026)
    gen.set_defaults(func=cmd_generate)

    run = sub.add_parser("run", help="run the pipeline DAG once (also for a past date: backfill)")
    run.add_argument("--date", help="logical date, e.g. 2026-11-06 (default: the latest 06:00 IST)")
    run.set_defaults(func=cmd_run)

    services = sub.add_parser("services", help="start, stop or show the embedded warehouse")
    services.add_argument("action", choices=["start", "stop", "status"])
    services.set_defaults(func=cmd_services)
