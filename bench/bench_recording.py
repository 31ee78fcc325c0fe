"""Per-call cost of recording an API call and validating its request, in microseconds.

    python3 bench/bench_recording.py

Builds and reads the record of one LookupEvents call (what every API call pays before its record
is handed to the store) and validates its request against the botocore model, best of 5 rounds
of 20,000. Compare revisions by running it from a `git archive` of each.
"""

from __future__ import annotations

import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opentrail.api.recording import CallInfo, call_record  # noqa: E402
from opentrail.auth.sigv4 import Caller  # noqa: E402
from opentrail.events.record import read_record  # noqa: E402

CALLER = Caller("111122223333", "AKIAEXAMPLE000000001", None, "us-east-1", True)
INFO = CallInfo("127.0.0.1", "aws-cli/1.32 Python/3.11 botocore/1.34", "127.0.0.1:4588")
PARAMS = {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}],
          "MaxResults": 50, "StartTime": 1688990400}
N = 20_000


def record_once() -> None:
    read_record(call_record(caller=CALLER, operation="LookupEvents", params=PARAMS, response=None, error_code=None,
                            error_message=None, request_id="6f1e2f7a-8a4e-4c55-9d0c-1b2a3c4d5e6f",
                            event_time=1.7e9, info=INFO))


def main() -> None:
    record_us = min(timeit.repeat(record_once, number=N, repeat=5)) / N * 1e6
    out = f"record build + read: {record_us:.2f} us"
    try:
        from opentrail.api.validation import validate_request
    except ImportError:
        pass
    else:
        check_us = min(timeit.repeat(lambda: validate_request("LookupEvents", PARAMS), number=N, repeat=5)) / N * 1e6
        out += f", validate_request: {check_us:.2f} us"
    print(out)


if __name__ == "__main__":
    main()
