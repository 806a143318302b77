"""Send the mail parked while SES was in trouble, for a time window (docs/runbook.md "SES outage").

    python -m tools.redrive --from 2026-03-01T00:00:00Z --to 2026-03-02T00:00:00Z        # local server
    python -m tools.redrive --from ... --function gift-plans-mailer                    # deployed: invoke it
    python -m tools.redrive --from ... --direct                                        # deployed: from here

`make redrive FROM=... TO=...` runs the first. Without --to the window ends now; without --from
it starts three days before its end (as the mailer's 15-minute schedule does).

- default: POST the window to the local server's `/_local/redrive` (`--url`, default
  http://127.0.0.1:$PORT, PORT=3000), which runs the mailer's redrive there;
- `--function NAME`: invoke the deployed mailer with `{"redrive": {...}}` (boto3, your AWS
  credentials), again and again while a run stops for lack of time;
- `--direct`: run the redrive in this process against TABLE_NAME and SES (boto3), with no
  Lambda time limit: for a backlog too big for 15-minute runs.

Every way is idempotent through the mail markers: run it twice, or while the schedule runs,
and each notice is still sent once. Prints each run's report (JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

MAX_RUNS = 100  # a deployed redrive goes on while a run ran out of time; never for ever


def _window(args: argparse.Namespace) -> dict[str, str]:
    return {name: value for name, value in (("from", args.since), ("to", args.until)) if value}


def local(url: str, window: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - a loopback URL the developer passes
        f"{url.rstrip('/')}/_local/redrive",
        data=json.dumps(window).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as answer:  # noqa: S310 # nosec B310
            return dict(json.loads(answer.read()))
    except urllib.error.HTTPError as refused:  # a bad window: the server's {"error": ...}
        return dict(json.loads(refused.read()))


def deployed(function: str, window: dict[str, str]) -> list[dict[str, Any]]:
    import boto3

    client = boto3.client("lambda")
    reports: list[dict[str, Any]] = []
    for _ in range(MAX_RUNS):
        answer = client.invoke(FunctionName=function, Payload=json.dumps({"redrive": window}).encode())
        report = json.loads(answer["Payload"].read())
        reports.append(report)
        if answer.get("FunctionError") or report.get("stopped") != "out_of_time":
            break
    return reports


def direct(window: dict[str, str]) -> dict[str, Any]:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.join(root, "layers", "common"))
    from giftplans import clock
    from giftplans.outbox import redrive, sending

    start, end = redrive.window(window, clock.now())
    return redrive.redrive(start, end, sending.SesSender()).as_json()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.redrive", description=__doc__.split("\n")[0])
    parser.add_argument("--from", dest="since", help="ISO instant, e.g. 2026-03-01T00:00:00Z")
    parser.add_argument("--to", dest="until", help="ISO instant; default: now")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('PORT', '3000')}")
    where.add_argument("--function", help="the deployed mailer's name, e.g. gift-plans-mailer")
    where.add_argument("--direct", action="store_true", help="run it here against TABLE_NAME and SES")
    args = parser.parse_args(argv)
    window = _window(args)
    if args.function:
        reports = deployed(args.function, window)
    elif args.direct:
        reports = [direct(window)]
    else:
        reports = [local(args.url, window)]
    for report in reports:
        print(json.dumps(report, sort_keys=True))
    return 0 if all("error" not in r and "errorMessage" not in r for r in reports) else 1


if __name__ == "__main__":
    raise SystemExit(main())
