"""`opentrail create-access-key --profile NAME` writes a profile the stock AWS CLI uses at once."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from opentrail.settings import Settings

from .conftest import OTHER_ACCOUNT, start_server


def test_profile_is_written_beside_the_admin_one_and_works_with_the_aws_cli(tmp_path: Path) -> None:
    for server in start_server(tmp_path, Settings()):
        creds = server.data_dir / "credentials"
        creds.write_text("[opentrail]\naws_access_key_id = AKIAKEEP\naws_secret_access_key = keep\n")
        made = subprocess.run(
            [sys.executable, "-m", "opentrail.cli", "create-access-key", "--data-dir", str(server.data_dir),
             "--account-id", OTHER_ACCOUNT, "--profile", f"acct-{OTHER_ACCOUNT}"],
            capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        key = json.loads(made.stdout)["AccessKey"]
        assert made.stderr == (f"profile 'acct-{OTHER_ACCOUNT}' written to {creds}. Use it with:\n"
                               f"  export AWS_SHARED_CREDENTIALS_FILE={creds.resolve()} AWS_PROFILE=acct-{OTHER_ACCOUNT}\n")
        assert stat.S_IMODE(creds.stat().st_mode) == 0o600
        assert creds.read_text() == (
            "[opentrail]\naws_access_key_id = AKIAKEEP\naws_secret_access_key = keep\n\n"
            f"[acct-{OTHER_ACCOUNT}]\naws_access_key_id = {key['AccessKeyId']}\n"
            f"aws_secret_access_key = {key['SecretAccessKey']}\nregion = us-east-1\n\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_SHARED_CREDENTIALS_FILE=str(creds), AWS_PROFILE=f"acct-{OTHER_ACCOUNT}",
                   AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_ENDPOINT_URL_CLOUDTRAIL=server.url)
        aws = subprocess.run([sys.executable, "-m", "awscli", "cloudtrail", "lookup-events", "--output", "json"],
                             env=env, capture_output=True, text=True, timeout=120)
        assert aws.returncode == 0, aws.stderr
        assert json.loads(aws.stdout) == {"Events": []}  # the new account's history, empty so far
        server.store.flush()
        [call] = server.store.read_since(0, 10)
        assert (call.account_id, json.loads(call.record)["userIdentity"]["accessKeyId"]) == (OTHER_ACCOUNT, key["AccessKeyId"])


def test_bad_profile_name_is_refused(tmp_path: Path) -> None:
    made = subprocess.run(
        [sys.executable, "-m", "opentrail.cli", "create-access-key", "--data-dir", str(tmp_path),
         "--account-id", OTHER_ACCOUNT, "--profile", "a]b"], capture_output=True, text=True, timeout=60)
    assert made.returncode == 2
    assert "Error: Invalid value for --profile: use 1-64 letters, digits and . _ @ + -" in made.stderr
    assert not (tmp_path / "credentials").exists()
