"""Terraform's AWS provider against an opentrail server, offline: the provider mirrored in
``/opt/tf-plugins`` (``OPENTRAIL_TF_PLUGIN_DIR``), ``terraform init -plugin-dir``, an isolated
environment. Tests using it are skipped where terraform or the mirrored provider is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

PLUGIN_DIR = Path(os.environ.get("OPENTRAIL_TF_PLUGIN_DIR", "/opt/tf-plugins"))
PROVIDER_VERSION = "5.100.0"

#: The ``terraform`` and ``provider "aws"`` blocks pointing the provider's clients of some services at
#: a server (``%(region)s``, ``%(key_id)s``, ``%(secret)s``, ``%(endpoints)s`` filled by
#: :meth:`Terraform.init`).
PROVIDER = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "%(version)s" }
  }
}

provider "aws" {
  region                      = "%(region)s"
  access_key                  = "%(key_id)s"
  secret_key                  = "%(secret)s"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
%(endpoints)s
  }
}
"""


def require_terraform() -> str:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH")
    if not (PLUGIN_DIR / "registry.terraform.io" / "hashicorp" / "aws" / PROVIDER_VERSION).is_dir():
        pytest.skip(f"the AWS provider {PROVIDER_VERSION} is not mirrored in {PLUGIN_DIR}")
    return terraform


class Terraform:
    """``terraform`` in ``work`` with an isolated, offline environment."""

    def __init__(self, binary: str, work: Path) -> None:
        self.binary = binary
        self.work = work
        home = work / "home"
        home.mkdir()
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "TF_DATA_DIR": str(work / "tf-data"),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "TF_CLI_CONFIG_FILE": str(home / "terraformrc"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(home / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        }
        (home / "terraformrc").write_text("")

    def init(self, resources: str, *, region: str, key: Any, url: str,
             services: tuple[str, ...] = ("cloudtrail",), **values: str) -> None:
        """Write ``main.tf`` (:data:`PROVIDER` with the provider's clients of ``services`` pointed at
        ``url``, and ``resources``, ``%%(name)s`` fields from ``values``) and run ``terraform init``
        against the mirrored provider."""
        endpoints = "\n".join(f'    {service} = "{url}"' for service in services)
        fields = {"version": PROVIDER_VERSION, "region": region, "key_id": key.access_key_id,
                  "secret": key.secret_access_key, "url": url, "endpoints": endpoints, **values}
        (self.work / "main.tf").write_text((PROVIDER + resources) % fields)
        self.run("init", "-no-color", "-plugin-dir", str(PLUGIN_DIR))

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([self.binary, *args], cwd=self.work, env=self.env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode in (0, 2), f"terraform {args[0]} failed:\n{done.stdout}\n{done.stderr}"
        return done

    def apply(self, **variables: bool) -> None:
        self.run("apply", "-auto-approve", "-no-color", *self.vars(variables))

    def plan_changes(self, **variables: bool) -> int:
        """``terraform plan -detailed-exitcode``: 0 no changes, 2 changes."""
        return self.run("plan", "-detailed-exitcode", "-no-color", *self.vars(variables)).returncode

    def destroy(self, **variables: bool) -> None:
        self.run("destroy", "-auto-approve", "-no-color", *self.vars(variables))

    def state(self) -> dict[str, Any]:
        """The attributes of ``aws_cloudtrail.main`` in the local state file."""
        state = json.loads((self.work / "terraform.tfstate").read_text())
        return state["resources"][0]["instances"][0]["attributes"]

    def state_resources(self) -> list[dict[str, Any]]:
        """Every resource in the local state file (``type``, ``name``, ``instances``)."""
        return list(json.loads((self.work / "terraform.tfstate").read_text())["resources"])

    @staticmethod
    def vars(variables: dict[str, bool]) -> list[str]:
        return [f"-var={name}={str(value).lower()}" for name, value in variables.items()]
