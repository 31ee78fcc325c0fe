"""The README's "five-minute tour" runs as written and prints what it says.

The ```sh blocks of the tour section are split into commands (backslash continuations joined,
comment lines left out) and run one after the other in one bash process, from a temporary folder
laid out like the repository: ``.venv`` (a link to this checkout's), ``opentrail-data`` (the data
directory of a server this test starts with ``opentrail serve`` on a free port, in place of
``bash scripts/run.sh``) and ``../shared`` (a link to the shared datasets). The only substitution:
the README's endpoint ``http://127.0.0.1:4588`` becomes the test server's URL. The datasets are
``../shared/datasets`` beside the checkout (or ``$OPENTRAIL_SHARED_DIR``); the test is skipped
without them or without the ``aws`` command in ``.venv/bin``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.paths import SHARED
from tests.test_e2e_cli import Server

ROOT = Path(__file__).resolve().parents[1]
INVICTUS = SHARED / "datasets" / "cloudtrail" / "invictus-ir-aws_dataset" / "CloudTrail"
README_URL = "http://127.0.0.1:4588"
MARK = "@@tour-step "

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not INVICTUS.is_dir(), reason=f"datasets not found in {SHARED}"),
    pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "aws").exists(), reason="no aws command in .venv/bin"),
]


def tour_commands(readme: str) -> list[str]:
    """The commands of the tour section's ```sh blocks, continuations joined, comments left out."""
    section = readme.split("## A five-minute tour with the AWS CLI", 1)[1].split("\n### ", 1)[0]
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for command in block.replace("\\\n", " ").splitlines():
            if command.strip() and not command.lstrip().startswith("#"):
                commands.append(command.strip())
    return commands


def _records() -> list[dict]:  # type: ignore[type-arg]
    return [r for f in sorted(INVICTUS.glob("*.json")) for r in json.loads(f.read_text())["Records"]]


def test_tour_commands_are_found() -> None:
    commands = tour_commands((ROOT / "README.md").read_text())
    assert commands[0].startswith("export AWS_SHARED_CREDENTIALS_FILE=")
    assert any(c.startswith(".venv/bin/opentrail import ") for c in commands)
    assert any("AttributeValue=ConsoleLogin" in c for c in commands)


def test_readme_tour_runs_as_written(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "shared").symlink_to(SHARED)
    server = Server(repo / "opentrail-data")
    try:
        commands = tour_commands((ROOT / "README.md").read_text())
        script = ["set -uo pipefail", f"cd {repo}"]
        for i, command in enumerate(commands):
            script += [f"echo '{MARK}{i}'; echo '{MARK}{i}' >&2", command.replace(README_URL, server.url),
                       f"echo \"{MARK}{i} exit $?\""]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(PATH=f"{ROOT / '.venv' / 'bin'}:{env['PATH']}", TZ="UTC",
                   AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"), AWS_DEFAULT_REGION="us-east-1")
        proc = subprocess.run(["bash", "-c", "\n".join(script)], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=300)
    finally:
        server.stop()
    out = _split(proc.stdout, len(commands))
    err = _split(proc.stderr, len(commands))
    for i, command in enumerate(commands):
        assert out[i].endswith(f"{MARK}{i} exit 0\n"), f"{command!r} failed:\n{out[i]}\n{err[i]}"

    def output(part: str) -> str:
        """What the first command containing ``part`` printed on stdout."""
        i = next(i for i, c in enumerate(commands) if part in c)
        return out[i].rsplit(MARK, 1)[0]

    # the first lookup finds nothing, the second finds the first
    assert json.loads(out[2].rsplit(MARK, 1)[0])["Events"] == []
    [first] = json.loads(out[3].rsplit(MARK, 1)[0])["Events"]
    assert first["EventName"] == "LookupEvents"

    records = _records()
    imported = output(".venv/bin/opentrail import ")
    assert "records imported: 2900\n" in imported
    assert ("  123837392027: 2,900 events — read them with: opentrail create-access-key --data-dir opentrail-data"
            " --account-id 123837392027 --profile acct-123837392027, then AWS_PROFILE=acct-123837392027\n") in imported

    logins = sorted((r["eventTime"], r["userIdentity"]["userName"]) for r in records if r["eventName"] == "ConsoleLogin")
    assert len(logins) == 2
    assert output("AttributeValue=ConsoleLogin").split() == [user for _, user in reversed(logins)]  # newest first

    benjamin = sorted(r["eventName"] for r in records if r["userIdentity"].get("userName") == "benjamin"
                      and "2023-07-10T12:00:00Z" <= r["eventTime"] <= "2023-07-10T12:30:00Z")
    assert len(benjamin) > 5
    assert sorted(output("AttributeValue=benjamin").split()) == benjamin

    delivered = output("find opentrail-data/buckets/my-trail-logs").split()
    assert delivered and all(p.endswith(".json.gz") and "/CloudTrail/us-east-1/" in p for p in delivered)
    assert output("get-trail-status").strip() == "true"
    assert len(json.loads(output("list-public-keys"))) == 1
    validate = [i for i, c in enumerate(commands) if "opentrail validate-logs" in c][0]
    assert "No digests found\n" in out[validate]
    assert "this trail's first one is due at " in err[validate]

    # Lake: the store holds the two trail calls made after it was created
    assert json.loads(output("get-query-results")) == [
        [{"eventName": "DescribeTrails"}, {"n": "1"}], [{"eventName": "GetTrailStatus"}, {"n": "1"}]]

    # Lake integrations: the audit event sent through the channel, queried back
    assert json.loads(output("put-audit-events")) == []
    channel = next(out[i] for i, c in enumerate(commands) if c.startswith("CHANNEL=")).rsplit(MARK, 1)[0]
    assert channel == ""
    rows = json.loads(output('--query-id "$AUDIT_QUERY" --query QueryResultRows'))
    assert [r[:2] for r in rows] == [[{"eventName": "RefundOrder"}, {"principalId": "alice"}]]
    assert rows[0][2]["channelARN"].startswith("arn:aws:cloudtrail:us-east-1:") and ":channel/" in rows[0][2]["channelARN"]

    # EventBridge: the rule's file target got the StopLogging call, once, in its envelope
    grep = next(i for i, c in enumerate(commands) if c.startswith("grep -o") and "tampering.jsonl" in c)
    assert out[grep].rsplit(MARK, 1)[0].split("\n")[:-1] == [
        '"detail-type":"AWS API Call via CloudTrail"', '"eventName":"StopLogging"']

    # Insights: the two unusual periods of the example history, each a Start and an End, newest first
    assert re.fullmatch(r"\d{5} records of account 111122223333 in us-east-1, 8 days to \S+: insights-history.json.gz\n",
                        output("insights example-history"))
    assert output("put-insight-selectors") == ""
    states = next(i for i, c in enumerate(commands) if "--event-category insight --output text" in c)
    assert out[states].rsplit(MARK, 1)[0].splitlines() == [
        'GetSecretValue\t"state":"End"', 'GetSecretValue\t"state":"Start"',
        'RunInstances\t"state":"End"', 'RunInstances\t"state":"Start"']

    # IAM: the auditor reads, and is refused StopLogging with AWS's message
    account = re.fullmatch(r"arn:aws:iam::(\d{12}):user/auditor\n", output("create-user --user-name auditor"))
    assert account is not None
    acct = account.group(1)
    assert output("AWS_PROFILE=auditor aws sts get-caller-identity") == f"arn:aws:iam::{acct}:user/auditor\n"
    assert output("AWS_PROFILE=auditor aws cloudtrail get-trail-status") == "true\n"
    refused = next(i for i, c in enumerate(commands) if "AWS_PROFILE=auditor aws cloudtrail stop-logging" in c)
    assert out[refused].rsplit(MARK, 1)[0] == "refused, as it should be\n"
    assert (f"An error occurred (AccessDeniedException) when calling the StopLogging operation: User: "
            f"arn:aws:iam::{acct}:user/auditor is not authorized to perform: cloudtrail:StopLogging on resource: "
            f"arn:aws:cloudtrail:us-east-1:{acct}:trail/main because no identity-based policy allows the "
            f"cloudtrail:StopLogging action") in err[refused]


def _split(text: str, n: int) -> list[str]:
    """Per step, what it printed (after its start marker, up to the next step's)."""
    parts: list[str] = []
    for i in range(n):
        start = text.find(f"{MARK}{i}\n")
        end = text.find(f"{MARK}{i + 1}\n") if i + 1 < n else len(text)
        parts.append(text[start + len(f"{MARK}{i}\n"): end if end >= 0 else len(text)] if start >= 0 else "")
    return parts
