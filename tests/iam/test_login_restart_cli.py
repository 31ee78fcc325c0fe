"""Login profiles (hashed passwords, never answered or recorded), a restart that keeps every IAM
entity and key, an access-keys file made before IAM existed (migrated on open), and the stock AWS
CLI (create-user, attach-user-policy, create-access-key, then sts get-caller-identity as that user)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from opentrail.api.iam_login_handlers import verify_password
from opentrail.auth.accounts import AccountStore

from .conftest import ACCOUNT, IamServer, error_of, running


def test_login_profiles(srv: IamServer) -> None:
    iam = srv.client()
    iam.create_user(UserName="ann")
    profile = iam.create_login_profile(UserName="ann", Password="First-Pass-1", PasswordResetRequired=True)
    assert (profile["LoginProfile"]["UserName"], profile["LoginProfile"]["PasswordResetRequired"]) == ("ann", True)
    assert "Password" not in profile["LoginProfile"]
    assert error_of(iam.create_login_profile, UserName="ann", Password="Other-Pass-2") == (
        "EntityAlreadyExists", "Login Profile for user ann already exists.", 409)
    assert verify_password(srv.iam, ACCOUNT, "ann", "First-Pass-1")
    assert not verify_password(srv.iam, ACCOUNT, "ann", "first-pass-1")
    assert not verify_password(srv.iam, ACCOUNT, "nobody", "First-Pass-1")
    iam.update_login_profile(UserName="ann", Password="Second-Pass-2", PasswordResetRequired=False)
    assert iam.get_login_profile(UserName="ann")["LoginProfile"]["PasswordResetRequired"] is False
    assert verify_password(srv.iam, ACCOUNT, "ann", "Second-Pass-2")
    assert not verify_password(srv.iam, ACCOUNT, "ann", "First-Pass-1")
    stored = sqlite3.connect(srv.data_dir / "iam.db").execute("SELECT password_hash FROM login_profiles").fetchall()
    assert len(stored) == 1 and stored[0][0].startswith("scrypt$") and "Second-Pass-2" not in stored[0][0]
    assert error_of(iam.create_login_profile, UserName="ann", Password="short")[0] == "EntityAlreadyExists"
    iam.delete_login_profile(UserName="ann")
    assert error_of(iam.get_login_profile, UserName="ann") == (
        "NoSuchEntity", "Login Profile for User ann cannot be found.", 404)
    assert error_of(iam.create_login_profile, UserName="ann", Password="short") == (
        "PasswordPolicyViolation", "Password should have a minimum length of 8", 400)
    records = json.dumps([srv.recorded(n) for n in ("CreateLoginProfile", "UpdateLoginProfile")])
    assert "First-Pass-1" not in records and "Second-Pass-2" not in records and "short" not in records
    assert os.stat(srv.data_dir / "iam.db").st_mode & 0o777 == 0o600


def test_restart_keeps_everything(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with running(data_dir) as srv:
        iam = srv.client()
        user = iam.create_user(UserName="keep", Path="/p/")["User"]
        key = iam.create_access_key(UserName="keep")["AccessKey"]
        arn = iam.create_policy(PolicyName="pol", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))[
            "Policy"]["Arn"]
        iam.attach_user_policy(UserName="keep", PolicyArn=arn)
        iam.create_group(GroupName="grp")
        iam.add_user_to_group(GroupName="grp", UserName="keep")
        root = srv.key
    with running(data_dir, root) as again:
        iam = again.client()
        assert iam.get_user(UserName="keep")["User"] == user
        assert again.client("sts", key=key).get_caller_identity()["UserId"] == user["UserId"]
        assert iam.list_attached_user_policies(UserName="keep")["AttachedPolicies"] == [
            {"PolicyName": "pol", "PolicyArn": arn}]
        assert [u["UserName"] for u in iam.get_group(GroupName="grp")["Users"]] == ["keep"]


def test_old_accounts_file_is_migrated(tmp_path: Path) -> None:
    """An accounts.db written before IAM (no user_id / user_path columns) opens and its keys work."""
    path = tmp_path / "accounts.db"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE accounts (account_id TEXT PRIMARY KEY, is_admin INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
        CREATE TABLE access_keys (access_key_id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(account_id),
            user_name TEXT, secret_access_key TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'Active', created_at TEXT NOT NULL);
        INSERT INTO accounts VALUES ('111122223333', 1, '2024-01-01T00:00:00Z');
        INSERT INTO access_keys VALUES ('AKIAOLDOLDOLDOLDOLD1', '111122223333', NULL, 'secret', 'Active', '2024-01-01T00:00:00Z');
    """)
    conn.commit()
    conn.close()
    store = AccountStore(path)
    try:
        key = store.find_key("AKIAOLDOLDOLDOLDOLD1")
        assert key is not None and (key.user_name, key.user_id, key.user_path, key.status) == (None, None, "/", "Active")
        store.set_key_status("AKIAOLDOLDOLDOLDOLD1", "Inactive")
        assert store.find_key("AKIAOLDOLDOLDOLDOLD1").status == "Inactive"  # type: ignore[union-attr]
    finally:
        store.close()


def test_key_status_seen_across_processes(tmp_path: Path) -> None:
    """A key deactivated through another connection (another process) is refused at once."""
    first = AccountStore(tmp_path / "accounts.db")
    second = AccountStore(tmp_path / "accounts.db")
    try:
        key = first.create_access_key(ACCOUNT)
        assert first.find_key(key.access_key_id).status == "Active"  # type: ignore[union-attr]  (now cached)
        second.set_key_status(key.access_key_id, "Inactive")
        assert first.find_key(key.access_key_id).status == "Inactive"  # type: ignore[union-attr]
        second.delete_key(key.access_key_id)
        assert first.find_key(key.access_key_id) is None
    finally:
        first.close()
        second.close()


def aws(srv: IamServer, key: Any, *args: str) -> Any:
    if shutil.which("aws") is None:
        pytest.skip("the AWS CLI is not installed")
    key_id, secret = (key["AccessKeyId"], key["SecretAccessKey"]) if isinstance(key, dict) else (
        key.access_key_id, key.secret_access_key)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_MAX_ATTEMPTS": "1", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    done = subprocess.run(["aws", "--endpoint-url", srv.url, "--output", "json", *args], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_aws_cli(srv: IamServer) -> None:
    user = aws(srv, srv.key, "iam", "create-user", "--user-name", "auditor", "--path", "/audit/")["User"]
    aws(srv, srv.key, "iam", "attach-user-policy", "--user-name", "auditor", "--policy-arn",
        "arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess")
    key = aws(srv, srv.key, "iam", "create-access-key", "--user-name", "auditor")["AccessKey"]
    ident = aws(srv, key, "sts", "get-caller-identity")
    assert ident == {"UserId": user["UserId"], "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/audit/auditor"}
    attached = aws(srv, srv.key, "iam", "list-attached-user-policies", "--user-name", "auditor")
    assert attached["AttachedPolicies"] == [{"PolicyName": "AWSCloudTrail_ReadOnlyAccess",
                                            "PolicyArn": "arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess"}]
    role = aws(srv, srv.key, "iam", "create-role", "--role-name", "ci", "--assume-role-policy-document", json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}))["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
