"""AccountStore and bootstrap: key formats, admin account, credentials file, environment seeding."""

from __future__ import annotations

import configparser
import re
import stat
from pathlib import Path

import pytest

from opentrail.auth.accounts import (
    AccountStore,
    BootstrapError,
    InvalidAccountIdError,
    bootstrap,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_accounts_and_admin(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "accounts.db")
    assert mode(tmp_path / "accounts.db") == 0o600
    assert store.admin_account_id() is None
    root = store.create_access_key("123456789012")
    user = store.create_access_key("210987654321", user_name="bob")
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", root.access_key_id)
    assert len(root.secret_access_key) == 40
    assert store.admin_account_id() == "123456789012"
    found = store.find_key(user.access_key_id)
    assert found is not None
    assert (found.account_id, found.user_name, found.is_admin) == ("210987654321", "bob", False)
    assert found.secret_access_key == user.secret_access_key
    assert user.secret_access_key not in repr(found)
    assert store.find_key("AKIANOPE") is None
    assert store.admin_credentials() == (root.access_key_id, root.secret_access_key)
    with pytest.raises(InvalidAccountIdError):
        store.create_access_key("12345")
    generated = store.create_account()
    assert re.fullmatch(r"[1-9][0-9]{11}", generated)
    store.close()


def test_iam_json_shape(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "accounts.db")
    key = store.create_access_key("123456789012", user_name="bob")
    body = key.to_iam_json()
    assert list(body["AccessKey"]) == ["UserName", "AccessKeyId", "SecretAccessKey", "Status", "CreateDate"]
    assert body["AccessKey"]["UserName"] == "bob"
    assert body["AccessKey"]["Status"] == "Active"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["AccessKey"]["CreateDate"])
    store.close()


def test_bootstrap_generates_credentials_once(tmp_path: Path) -> None:
    first = bootstrap(tmp_path, {})
    assert first.created is True
    assert first.credentials_path == tmp_path / "credentials"
    assert mode(tmp_path / "credentials") == 0o600
    cfg = configparser.ConfigParser()
    cfg.read(tmp_path / "credentials")
    assert cfg["opentrail"]["aws_access_key_id"] == first.access_key_id
    assert cfg["opentrail"]["region"] == "us-east-1"
    store = AccountStore(tmp_path / "accounts.db")
    assert store.find_key(first.access_key_id).secret_access_key == cfg["opentrail"]["aws_secret_access_key"]
    store.close()
    again = bootstrap(tmp_path, {})
    assert (again.account_id, again.access_key_id, again.created) == (first.account_id, first.access_key_id, False)


def test_bootstrap_from_environment(tmp_path: Path) -> None:
    env = {"OPENTRAIL_ACCOUNT_ID": "123456789012", "OPENTRAIL_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
           "OPENTRAIL_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    boot = bootstrap(tmp_path, env)
    assert (boot.account_id, boot.access_key_id, boot.credentials_path, boot.created) == (
        "123456789012", "AKIAIOSFODNN7EXAMPLE", None, True)
    assert not (tmp_path / "credentials").exists()
    assert bootstrap(tmp_path, env).created is False
    with pytest.raises(BootstrapError):
        bootstrap(tmp_path, {**env, "OPENTRAIL_SECRET_ACCESS_KEY": "other"})
    with pytest.raises(BootstrapError):
        bootstrap(tmp_path / "x", {"OPENTRAIL_ACCOUNT_ID": "123456789012"})
