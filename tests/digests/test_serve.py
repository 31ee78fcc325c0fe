"""`opentrail serve` wires digests: a trail with validation on gets signed digests in its folder
bucket (signature beside it under .metadata/), ListPublicKeys answers the key that signed them,
and `opentrail rotate-digest-key` rotates while the server runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from delivery.servers import Opentrail, wait_for  # tests/ is on sys.path (pytest rootdir-relative packages)
from opentrail.digests import format as F

BUCKET = "validated"


def test_serve_writes_signed_digests_to_a_folder_bucket(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "buckets" / BUCKET).mkdir(parents=True)
    srv = Opentrail(data, "--digest-interval-s", "2", "--delivery-interval-s", "0.2")
    try:
        ct = srv.cloudtrail()
        ct.create_trail(Name="main", S3BucketName=BUCKET, EnableLogFileValidation=True)
        ct.start_logging(Name="main")
        bucket = data / "buckets" / BUCKET
        found = wait_for(lambda: len(list(bucket.rglob("*_CloudTrail-Digest_*.json.gz"))) >= 2, timeout=20)
        assert found, srv.log.read_text()
        first, second = sorted(bucket.rglob("*_CloudTrail-Digest_*.json.gz"))[:2]
        key = str(second.relative_to(bucket))
        raw = F.gunzip_body(second.read_bytes())
        doc = F.parse_digest(raw)
        meta = orjson.loads((data / "buckets" / ".metadata" / BUCKET / (key + ".json")).read_bytes())
        assert meta["signature-algorithm"] == "SHA256withRSA"
        assert doc["previousDigestS3Object"] == str(first.relative_to(bucket))
        keys = ct.list_public_keys()["PublicKeyList"]
        (pub,) = [k for k in keys if k["Fingerprint"] == doc["digestPublicKeyFingerprint"]]
        assert F.verify(pub["Value"], F.string_to_sign(doc["digestEndTime"], BUCKET, key, raw,
                                                      doc["previousDigestSignature"]), meta["signature"])
        status = ct.get_trail_status(Name="main")
        assert "LatestDigestDeliveryTime" in status and "LatestDigestDeliveryError" not in status
        out = subprocess.run([sys.executable, "-m", "opentrail.cli", "rotate-digest-key", "--data-dir", str(data),
                              "--region", "us-east-1"], capture_output=True, text=True, check=True)
        new = out.stdout.strip()
        assert wait_for(lambda: any(F.parse_digest(F.gunzip_body(p.read_bytes()))["digestPublicKeyFingerprint"] == new
                                    for p in bucket.rglob("*_CloudTrail-Digest_*.json.gz")), timeout=20)
        assert {new, pub["Fingerprint"]} <= {k["Fingerprint"] for k in ct.list_public_keys()["PublicKeyList"]}
    finally:
        srv.stop()
