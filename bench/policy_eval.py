"""Policy evaluation speed: one request against 10 attached policies of 20 statements each.

    python3 bench/policy_eval.py [--requests 20000]

Pure CPU, in process, no I/O. The policy set is built to look like real attached policies: per
policy, 12 statements for other services (exact action lists), 4 CloudTrail statements with
wildcard actions, ``${aws:username}`` resources and conditions (aws:RequestedRegion, aws:SourceIp,
aws:SecureTransport, aws:PrincipalTag), 2 Deny statements (a ``NotAction`` MFA guard with
``BoolIfExists``, a ``cloudtrail:Delete*``/``StopLogging`` deny with ``ArnNotLike``) and 2
``Action: "*"`` statements with a date condition. Requests cycle over 24 actions (CloudTrail, S3,
EC2, IAM, Logs) and 3 resources. Measures, in microseconds per evaluation:

- *parse*: parsing + validating the 10 documents (once per principal, then cached);
- *cold*: an evaluation whose action is new to the compiled set (builds the per-action index);
- *warm*: evaluations against the cached :class:`CompiledPolicySet` (the steady state; target
  <= 50 us), p50/p99 over single calls and the mean of a tight loop;
- *warm + SCPs + boundary*: the same with a two-level SCP chain and a permissions boundary;
- *worst case*: 200 statements that all cover the action (``Action: "*"``), each with a condition
  that fails, so every one is checked.

Prints the figures and the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.timing import fastest, percentile  # noqa: E402
from opentrail.access import CompiledPolicySet, PolicySet, Principal, Request, evaluate, parse_policy  # noqa: E402

A = "111122223333"
NOW = datetime(2026, 12, 2, 17, 0, tzinfo=timezone.utc)
OTHER = ["s3:GetObject", "s3:PutObject", "ec2:DescribeInstances", "ec2:RunInstances", "iam:GetUser",
         "iam:ListRoles", "logs:PutLogEvents", "logs:CreateLogStream", "sqs:SendMessage", "sns:Publish",
         "kms:Decrypt", "dynamodb:GetItem"]
ACTIONS = ["cloudtrail:GetTrail", "cloudtrail:GetTrailStatus", "cloudtrail:DescribeTrails",
           "cloudtrail:ListTrails", "cloudtrail:LookupEvents", "cloudtrail:DeleteTrail",
           "cloudtrail:StopLogging", "cloudtrail:StartLogging", "cloudtrail:UpdateTrail",
           "cloudtrail:PutEventSelectors", "cloudtrail:AddTags", "cloudtrail:CreateTrail",
           *OTHER]
RESOURCES = [f"arn:aws:cloudtrail:us-east-1:{A}:trail/alice-main", f"arn:aws:cloudtrail:eu-west-1:{A}:trail/org",
             "*"]


def policy_doc(n: int) -> dict[str, Any]:
    st: list[dict[str, Any]] = []
    for i in range(12):
        st.append({"Effect": "Allow", "Action": [OTHER[i], OTHER[(i + n) % 12].replace(":", ":Batch")],
                   "Resource": f"arn:aws:{OTHER[i].split(':')[0]}:*:{A}:thing-{n}-{i}/*"})
    for verb in ("Get*", "Describe*", "List*", "*Trail*"):
        st.append({"Effect": "Allow", "Action": f"cloudtrail:{verb}",
                   "Resource": [f"arn:aws:cloudtrail:*:{A}:trail/${{aws:username}}-*", f"arn:aws:cloudtrail:*:{A}:trail/team{n}-*"],
                   "Condition": {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"], "aws:PrincipalTag/team": "ops"},
                                 "IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.0/24"]},
                                 "Bool": {"aws:SecureTransport": "true"}}})
    st.append({"Effect": "Deny", "NotAction": ["iam:*MFA*", "sts:GetSessionToken", "iam:GetUser"], "Resource": "*",
               "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}, "StringEquals": {"aws:PrincipalTag/strict": "yes"}}})
    st.append({"Effect": "Deny", "Action": ["cloudtrail:Delete*", "cloudtrail:StopLogging"], "Resource": "*",
               "Condition": {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{A}:role/Admin*"}}})
    st.append({"Effect": "Allow", "Action": "*", "Resource": "*",
               "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}})
    st.append({"Effect": "Allow", "Action": "*", "Resource": "*",
               "Condition": {"StringEquals": {"aws:PrincipalTag/break-glass": "on"}}})
    return {"Version": "2012-10-17", "Statement": st}


def worst_doc(n: int) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/k": f"v{n}-{i}"}}}
        for i in range(20)]}


def requests(count: int) -> list[Request]:
    alice = Principal.user(A, "alice", userid="AIDAEXAMPLE", tags={"team": "ops"})
    return [Request(alice, ACTIONS[i % len(ACTIONS)], NOW, (RESOURCES[i % len(RESOURCES)],), source_ip="203.0.113.7",
                    secure_transport=True, requested_region="us-east-1", mfa_present=True) for i in range(count)]


def per_call(compiled: CompiledPolicySet, reqs: list[Request]) -> tuple[float, float, float]:
    """(p50, p99, mean of a tight loop) in microseconds per evaluation."""
    for r in reqs[:200]:
        evaluate(r, compiled)
    samples = []
    for r in reqs:
        t0 = time.perf_counter()
        evaluate(r, compiled)
        samples.append(time.perf_counter() - t0)
    cpu, _wall = fastest(3, lambda: [evaluate(r, compiled) for r in reqs])
    return percentile(samples, 50) * 1e6, percentile(samples, 99) * 1e6, cpu / len(reqs) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=20000)
    args = ap.parse_args()
    docs = [policy_doc(n) for n in range(10)]
    cpu, _ = fastest(5, lambda: [parse_policy(d) for d in docs])
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}  (cpus: {os.cpu_count()})")
    print(f"policies: 10 x {len(docs[0]['Statement'])} statements; requests: {args.requests}")
    print(f"parse + validate 10 documents: {cpu * 1e3:.2f} ms")
    identity = tuple(parse_policy(d) for d in docs)
    reqs = requests(args.requests)

    cold = []
    for _ in range(20):
        compiled = CompiledPolicySet(PolicySet(identity=identity))
        t0 = time.perf_counter()
        evaluate(reqs[0], compiled)
        cold.append(time.perf_counter() - t0)
    print(f"cold (first request of an action): p50 {percentile(cold, 50) * 1e6:.1f} us")

    allowed = sum(evaluate(r, CompiledPolicySet(PolicySet(identity=identity))).allowed for r in reqs[: len(ACTIONS) * 3])
    p50, p99, mean = per_call(CompiledPolicySet(PolicySet(identity=identity)), reqs)
    print(f"warm: p50 {p50:.1f} us, p99 {p99:.1f} us, mean {mean:.1f} us  ({allowed}/{len(ACTIONS) * 3} allowed)")

    scps = ((parse_policy({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}, "scp"),),
            (parse_policy({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["cloudtrail:*", "s3:*", "ec2:*", "iam:*", "logs:*"], "Resource": "*"},
                                                                  {"Effect": "Deny", "Action": "cloudtrail:StopLogging", "Resource": "*"}]}, "scp"),))
    boundary = parse_policy({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["cloudtrail:*", "s3:*"], "Resource": "*"}]})
    p50, p99, mean = per_call(CompiledPolicySet(PolicySet(identity=identity, scps=scps, boundary=boundary)), reqs)
    print(f"warm + 2 SCP levels + boundary: p50 {p50:.1f} us, p99 {p99:.1f} us, mean {mean:.1f} us")

    worst = tuple(parse_policy(worst_doc(n)) for n in range(10))
    p50, p99, mean = per_call(CompiledPolicySet(PolicySet(identity=worst)), reqs)
    print(f"worst case (200 statements all covering the action): p50 {p50:.1f} us, p99 {p99:.1f} us, mean {mean:.1f} us")


if __name__ == "__main__":
    main()
