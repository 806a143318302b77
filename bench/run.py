"""`make bench` (python -m bench.run): measure, print a table beside the targets, write bench/results.json.

    python -m bench.run                  everything (about 5 minutes on 2 cores)
    python -m bench.run --skip package   leave out a part: init, calls, closing, sweep, package, large, local
    python -m bench.run --runs 3         fewer cold starts per function
    python -m bench.run --instructions   cold starts also counted in instructions (valgrind; ~15 min)

Parts: cold starts (bench.coldstart), DynamoDB round trips per action and the webhook's
wall time (bench.scenarios, under moto), sweep reads at 20,000 and 200,000 seats,
artefact sizes (bench.package), and the local server's peak memory and speed with a
1000-seat purchase over two identical rounds (bench.local_server). No AWS account is used:
moto emulates the account.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
TABLE = "gift-plans-bench"
CLOCK_START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _environment() -> None:
    """What the tests' conftest sets, before any giftplans import (models read the table name at import)."""
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "TABLE_NAME": TABLE,
            "MAIL_FROM": "gifts@example.com",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "GiftPlans",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "true",  # the handlers' EMF lines would bury the table
        }
    )
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "STRIPE_API_BASE"):
        os.environ.pop(name, None)


@contextmanager
def emulated_account() -> Iterator[None]:
    """A fresh moto account with the table as template.yaml defines it, and the clock frozen at the start."""
    import boto3
    from giftplans import clock, settings
    from giftplans.store import get_store
    from moto import mock_aws

    from local.dynamodb import apply as dynamodb_requests_atomic
    from local.template import table_definition

    dynamodb_requests_atomic()  # as the tests and the local server run moto: no table copy per transaction
    with mock_aws():
        settings.get.cache_clear()
        get_store.cache_clear()
        boto3.client("dynamodb").create_table(**table_definition(table_name=TABLE))
        boto3.client("sesv2").create_email_identity(EmailIdentity="gifts@example.com")
        clock.freeze(CLOCK_START)
        try:
            yield
        finally:
            clock.reset()
            get_store.cache_clear()


# ---- the parts ----------------------------------------------------------------------------------------


def measure_init(results: dict[str, Any], runs: int, count_instructions: bool) -> None:
    from bench import coldstart
    from local import template

    if count_instructions and shutil.which("valgrind") is None:
        raise SystemExit("bench: --instructions needs valgrind on PATH (Debian: apt install valgrind)")
    deps = coldstart.install_layer_dependencies(ROOT / ".bench" / "layer-deps")
    jobs = [f.job for f in template.functions()]
    init = coldstart.init_ms(jobs, deps, runs)
    results["init_ms"] = init
    results["init_ratio"] = {job: round(init[job] / init[coldstart.BASELINE], 2) for job in jobs}
    results["init_ratio_target"] = {job: coldstart.ratio_target(job) for job in jobs}
    if count_instructions:  # callgrind: the same INIT, counted in instructions (load-independent; slow)
        counts = coldstart.instruction_counts(jobs, deps)
        results["init_instructions"] = counts
        base = counts[coldstart.BASELINE]
        results["init_instructions_ratio"] = {job: round(counts[job] / base, 2) for job in jobs}
    else:
        results.pop("init_instructions", None)  # never a count from another tree beside today's ms
        results.pop("init_instructions_ratio", None)


def measure_calls(results: dict[str, Any]) -> None:
    from bench import scenarios

    measured = scenarios.Measured()
    for n, seats in enumerate((1, 100, 1000), start=1):
        with emulated_account():
            calls, seconds = scenarios.deliver_paid_checkout(seats, n)
            measured.record(f"checkout_webhook_paid_{seats}", calls, seconds)
    with emulated_account():
        scenarios.seat_actions(measured)
    with emulated_account():
        scenarios.invite_list(measured, 1000)
    units: dict[str, int] = {}
    for quantity in (3, 1000):
        with emulated_account():
            units.update(scenarios.write_units_at(quantity))
    results["write_units"] = units
    results["write_unit_ratio"] = scenarios.write_unit_ratios(units)
    results["write_unit_ratio_target"] = scenarios.UNIT_RATIO_TARGET
    # figures of other parts (the sweep's, the closing's) are kept
    sweep = {k: v for k, v in results.get("ddb_calls", {}).items() if k.startswith(OTHER_PARTS_KEYS)}
    results["ddb_calls"] = {**measured.ddb_calls, **sweep}
    results["ddb_operations"] = measured.operations
    results.setdefault("scan_calls_by_part", {})["calls"] = measured.scan_calls
    results["webhook_1000_seats_s"] = round(measured.seconds["checkout_webhook_paid_1000"], 2)


OTHER_PARTS_KEYS = ("sweep_", "refund_", "expire_")


def measure_closing(results: dict[str, Any]) -> None:
    """A full refund of 1000 seats and the sweep's expiry of 1000 (bench.scenarios)."""
    from bench import scenarios

    measured = scenarios.Measured()
    with emulated_account():
        scenarios.refund(measured, 1000)
    with emulated_account():
        scenarios.expire(measured, 1000)
    results.setdefault("ddb_calls", {}).update(measured.ddb_calls)
    results.setdefault("ddb_operations", {}).update(measured.operations)
    results.setdefault("scan_calls_by_part", {})["closing"] = measured.scan_calls


def measure_sweep(results: dict[str, Any], large: bool) -> None:
    from bench import scenarios
    from bench.filler import write_into_moto

    sizes = [("200_of_20000", 10, 20, 19_800)]
    if large:
        sizes.append(("2000_of_200000", 20, 100, 198_000))
    results.setdefault("sweep_items_read", {})
    results.setdefault("sweep_detail", {})
    scans = 0
    for key, purchases, seats_each, filler in sizes:
        with emulated_account():
            began = time.perf_counter()
            figures = scenarios.sweep_scale(purchases, seats_each, filler, write_into_moto(TABLE))
        results["sweep_items_read"][key] = figures.items_read
        results["sweep_detail"][key] = {
            "due_seats": figures.due_seats,
            "due_purchases": figures.due_purchases,
            "table_seats": figures.table_seats,
            "requests": len(figures.calls),
            "scan_calls": figures.calls.count("Scan"),
            "within_target": scenarios.sweep_within_target(figures),
            "sweep_s": round(figures.seconds, 2),
            "setup_and_sweep_s": round(time.perf_counter() - began, 1),
        }
        scans += figures.calls.count("Scan")
        if key == "200_of_20000":
            results.setdefault("ddb_calls", {})["sweep_200_due_of_20000"] = len(figures.calls)
    results.setdefault("scan_calls_by_part", {})["sweep"] = scans


def measure_local(results: dict[str, Any]) -> None:
    from bench import local_server

    results["local_server"] = local_server.measure()


def measure_package(results: dict[str, Any]) -> None:
    from bench.package import package_mb

    sizes, how = package_mb()
    results["package_mb"] = sizes
    results["package_built_with"] = how


# ---- the table ----------------------------------------------------------------------------------------


def table(results: dict[str, Any]) -> str:
    from bench.scenarios import target

    lines = []
    if "init_ms" in results:
        lines += ["", f"{'cold start (INIT, CPU ms, median)':<36}{'ms':>8}{'ratio':>8}{'target':>9}  ok"]
        lines.append(f"{'baseline: boto3.client(dynamodb)':<36}{results['init_ms']['baseline']:>8}")
        counted = results.get("init_instructions_ratio", {})
        for job, ratio in results["init_ratio"].items():
            goal = results["init_ratio_target"][job]
            by_count = f"  (instructions: {counted[job]})" if job in counted else ""
            lines.append(
                f"{job:<36}{results['init_ms'][job]:>8}{ratio:>8}{'<= ' + str(goal):>9}  "
                f"{'yes' if ratio <= goal else 'NO'}{by_count}"
            )
    if "ddb_calls" in results:
        lines += ["", f"{'DynamoDB round trips per action':<36}{'calls':>8}  {'target':<26}ok"]
        for key, n in results["ddb_calls"].items():
            most, text = target(key)
            ok = "-" if most is None else ("yes" if n <= most else "NO")
            lines.append(f"{key:<36}{n:>8}  {text:<26}{ok}")
        lines.append(
            f"{'scan_calls (whole run)':<36}{results['scan_calls']:>8}  {'0':<26}"
            f"{'yes' if results['scan_calls'] == 0 else 'NO'}"
        )
    if "write_units" in results:
        lines += ["", f"{'write units per action (3 / 1000 seats)':<44}{'3':>6}{'1000':>6}{'ratio':>7}  ok"]
        for action, ratio in results["write_unit_ratio"].items():
            units = results["write_units"]
            lines.append(
                f"{action:<44}{units[action + '_3']:>6}{units[action + '_1000']:>6}{ratio:>7}  "
                f"{'yes' if ratio <= results['write_unit_ratio_target'] else 'NO'}"
            )
    if "sweep_items_read" in results:
        lines += ["", f"{'sweep items read':<36}{'read':>8}  {'due seats (purchases)':<26}ok"]
        for key, n in results["sweep_items_read"].items():
            d = results["sweep_detail"][key]
            lines.append(
                f"{key:<36}{n:>8}  {str(d['due_seats']) + ' (' + str(d['due_purchases']) + ')':<26}"
                f"{'yes' if d['within_target'] else 'NO'}"
            )
    if "webhook_1000_seats_s" in results:
        lines += ["", f"webhook, 1000 seats, under moto: {results['webhook_1000_seats_s']} s (trend figure)"]
    if "local_server" in results:
        local = results["local_server"]
        lines += [
            "",
            f"local server, {local['seats']}-seat purchase, {local['invitations']} invitations, full refund "
            f"(address space capped at {local['address_space_cap_mb']} MB)",
            f"{'round':<8}{'peak RSS MB':>12}{'fulfil s':>10}{'invite+mail s':>15}{'refund s':>10}",
        ]
        for n, r in enumerate(local["rounds"], start=1):
            lines.append(
                f"{n:<8}{r['peak_rss_mb']:>12}{r['fulfil_s']:>10}{r['invite_and_mail_s']:>15}{r['refund_s']:>10}"
            )
        lines.append(
            f"peak {local['peak_rss_mb']} MB (target < {local['peak_target_mb']}), second round / first "
            f"{local['second_round_vs_first']} (target <= {1 + local['flat_tolerance']}): "
            f"{'yes' if local['within_target'] else 'NO'}"
        )
    if "package_mb" in results:
        lines += [
            "",
            f"{'artefact (' + results['package_built_with'] + ')':<60}",
            f"{'':<20}{'unzipped MB':>12}{'zipped MB':>11}",
        ]
        for name, size in results["package_mb"].items():
            lines.append(f"{name:<20}{size['unzipped_mb']:>12}{size['zipped_mb']:>11}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["init", "calls", "closing", "sweep", "package", "large", "local"],
    )
    parser.add_argument("--runs", type=int, default=5, help="cold starts per function (median)")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count each cold start's instructions with valgrind (callgrind; ~1 min per function)",
    )
    args = parser.parse_args(argv)
    _environment()
    sys.path[:0] = [str(ROOT / "layers" / "common"), str(ROOT)]

    # Parts left out keep their figures from the last run (each part says when it was measured).
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update({"python": sys.version.split()[0], "cpus": os.cpu_count()})
    steps: list[tuple[str, Callable[[], None]]] = [
        ("init", lambda: measure_init(results, args.runs, args.instructions)),
        ("calls", lambda: measure_calls(results)),
        ("closing", lambda: measure_closing(results)),
        ("sweep", lambda: measure_sweep(results, "large" not in args.skip)),
        ("package", lambda: measure_package(results)),
        ("local", lambda: measure_local(results)),
    ]
    for name, step in steps:
        if name in args.skip:
            continue
        began = time.perf_counter()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        step()
        results.setdefault("part_seconds", {})[name] = round(time.perf_counter() - began, 1)
        if not isinstance(results.get("measured_at"), dict):
            results["measured_at"] = {}
        results["measured_at"][name] = datetime.now(UTC).isoformat(timespec="seconds")
        results["scan_calls"] = sum(results.get("scan_calls_by_part", {}).values())
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")  # after each part: a failure keeps the rest
    print(table(results))
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
