"""The digest worker over folder buckets: hourly chains, starting/final/empty/backfill digests,
each log file in exactly one digest, signatures, crash safety, Regions, key rotation."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from opentrail.digests import DigestState, DigestWorker
from opentrail.digests import format as F
from opentrail.trails import TrailSettings

from .conftest import ACCOUNT, BUCKET, HOUR, T0, Env, make_env

PREFIX = f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/us-east-1/2024/03/01/{ACCOUNT}_CloudTrail-Digest_us-east-1_main_us-east-1_"


def check_chain(env: Env, keys: list[str], region: str = "us-east-1") -> list[dict[str, Any]]:
    """Every digest in ``keys`` (oldest first) is signed by a key of ``region`` and chains to the
    one before it; returns the documents."""
    docs: list[dict[str, Any]] = []
    prev: tuple[str, bytes, str] | None = None
    for key in keys:
        doc, raw, meta = env.digest(key)
        assert meta["signature-algorithm"] == "SHA256withRSA"
        pub = {k.fingerprint: k for k in env.keys.public_keys(region, 0, 2**32)}[doc["digestPublicKeyFingerprint"]]
        message = F.string_to_sign(doc["digestEndTime"], BUCKET, key, raw, doc["previousDigestSignature"])
        assert F.verify(pub.der, message, meta["signature"])
        assert (doc["digestS3Bucket"], doc["digestS3Object"]) == (BUCKET, key)
        if prev is None:
            assert doc["previousDigestS3Object"] is None
        else:
            assert doc["previousDigestS3Object"] == prev[0]
            assert doc["previousDigestHashValue"] == F.sha256_hex(prev[1])
            assert doc["previousDigestSignature"] == prev[2]
            assert doc["digestStartTime"] == docs[-1]["digestEndTime"]
        prev = (key, raw, meta["signature"])
        docs.append(doc)
    return docs


def test_hourly_chain_lists_every_log_file_once(env: Env) -> None:
    env.trail()
    env.run(0)
    env.ingest(T0 - 100, T0 + 5)
    env.run(600, every=60)
    env.ingest(T0 + 700)
    env.run(HOUR - 600 + 2 * HOUR, every=60)  # to T0 + 3h: three periods, the last one empty
    keys = env.digest_keys()
    assert keys == [PREFIX + "20240301T110000Z.json.gz", PREFIX + "20240301T120000Z.json.gz",
                    PREFIX + "20240301T130000Z.json.gz"]
    docs = check_chain(env, keys)
    first, second, third = docs
    assert (first["digestStartTime"], first["digestEndTime"]) == ("2024-03-01T10:00:00Z", "2024-03-01T11:00:00Z")
    assert first["previousDigestHashAlgorithm"] is None and second["previousDigestHashAlgorithm"] == "SHA-256"
    logs = env.log_keys()
    assert len(logs) == 2
    assert [f["s3Object"] for f in first["logFiles"]] == logs
    for entry in first["logFiles"]:
        assert entry["hashValue"] == F.sha256_hex(gzip.decompress(env.storage.get_object(BUCKET, entry["s3Object"]).body))
        assert entry["hashAlgorithm"] == "SHA-256" and entry["s3Bucket"] == BUCKET
    assert [(f["oldestEventTime"], f["newestEventTime"]) for f in first["logFiles"]] == [
        ("2024-03-01T09:58:20Z", "2024-03-01T10:00:05Z"), ("2024-03-01T10:11:40Z", "2024-03-01T10:11:40Z")]
    assert (first["oldestEventTime"], first["newestEventTime"]) == ("2024-03-01T09:58:20Z", "2024-03-01T10:11:40Z")
    assert second["logFiles"] == third["logFiles"] == [] and second["newestEventTime"] is None
    assert set(env.digest_state.file_digest_keys()) == {(BUCKET, k) for k in logs}
    status = env.trails.get_trail(ACCOUNT, "us-east-1", "main").status
    assert (status.latest_digest_delivery_time, status.latest_digest_delivery_error) == (T0 + 3 * HOUR, None)


def test_stop_logging_writes_a_final_digest_after_delivery_caught_up(env: Env) -> None:
    env.trail()
    env.run(HOUR + 60, every=60)
    env.ingest(T0 + HOUR + 61)
    env.trails.stop_logging(ACCOUNT, "us-east-1", "main")  # the event was acknowledged before: it is delivered
    env.digests.step()
    assert len(env.digest_keys()) == 1  # delivery has not uploaded it yet: no final digest
    env.run(10)
    keys = env.digest_keys()
    assert keys[1] == PREFIX + "20240301T110102Z.json.gz"
    final = check_chain(env, keys)[1]
    assert final["digestStartTime"] == "2024-03-01T11:00:00Z"
    assert [f["s3Object"] for f in final["logFiles"]] == env.log_keys()
    env.run(3 * HOUR, every=300)
    assert len(env.digest_keys()) == 2  # a stopped trail gets no more digests
    env.trails.start_logging(ACCOUNT, "us-east-1", "main")
    env.run(HOUR, every=300)
    keys = env.digest_keys()
    assert len(keys) == 3
    restarted, _, _ = env.digest(keys[2])
    assert restarted["previousDigestS3Object"] is None  # a starting digest
    assert restarted["digestStartTime"] == "2024-03-01T14:01:10Z"


def test_late_files_go_into_backfill_digests(tmp_path: Path) -> None:
    env = make_env(tmp_path, final_wait_s=0)
    env.trail()
    env.run(60, every=60)
    env.ingest(T0 + 60)
    env.trails.stop_logging(ACCOUNT, "us-east-1", "main")
    env.digests.step()  # final digest at once (final_wait_s=0), before delivery uploaded the file
    assert [env.digest(k)[0]["logFiles"] for k in env.digest_keys()] == [[]]
    env.run(10)  # delivered now: late
    env.ingest(T0 + 70)  # not taken: logging is off
    env.run(100, every=10)
    keys = env.digest_keys()
    assert len(keys) == 2 and keys[1].endswith("_20240301T100103Z_backfill.json.gz")
    doc, raw, meta = env.digest(keys[1])
    assert meta["backfill-generation-timestamp"] == "2024-03-01T10:01:03Z"
    assert doc["previousDigestS3Object"] is None  # the first of its backfill chain
    # it covers the late file's delivery (10:01:02) and ends when written, one second later
    assert (doc["digestStartTime"], doc["digestEndTime"]) == ("2024-03-01T10:01:02Z", "2024-03-01T10:01:03Z")
    assert [f["s3Object"] for f in doc["logFiles"]] == env.log_keys()
    check_chain(env, [keys[1]])
    assert set(env.digest_state.file_digest_keys().values()) == {keys[1]}
    env.close()


def test_disabling_validation_closes_the_chain_and_stops_recording(env: Env) -> None:
    env.trail()
    env.run(120, every=60)
    env.trails.update_trail(ACCOUNT, "us-east-1", "main", TrailSettings(enable_log_file_validation=False))
    env.run(0)
    assert env.digest_keys() == [PREFIX + "20240301T100200Z.json.gz"]
    env.ingest(T0 + 130)
    env.run(2 * HOUR, every=300)
    assert len(env.log_keys()) == 1 and len(env.digest_keys()) == 1
    assert env.digest_state.file_digest_keys() == {}


def test_delete_trail_writes_a_final_digest(env: Env) -> None:
    env.trail()
    env.run(30)
    env.ingest(T0 + 30)
    env.run(5)
    env.trails.delete_trail(ACCOUNT, "us-east-1", "main")
    env.run(1)
    keys = env.digest_keys()
    assert keys == [PREFIX + "20240301T100035Z.json.gz"]
    assert [f["s3Object"] for f in check_chain(env, keys)[0]["logFiles"]] == env.log_keys()


def test_downtime_catches_up_period_by_period_and_key_rotation_keeps_the_chain(env: Env) -> None:
    env.trail()
    env.run(HOUR, every=600)
    old = env.keys.current("us-east-1")
    env.clock.now += 3 * HOUR  # the server was down
    new = env.keys.rotate("us-east-1")
    env.run(0)
    keys = env.digest_keys()
    assert [k[-24:-8] for k in keys] == ["20240301T110000Z", "20240301T120000Z", "20240301T130000Z", "20240301T140000Z"]
    docs = check_chain(env, keys)
    assert [d["digestPublicKeyFingerprint"] for d in docs] == [old.fingerprint] + [new.fingerprint] * 3
    assert {k.fingerprint for k in env.keys.public_keys("us-east-1", T0, T0 + 4 * HOUR)} == {old.fingerprint, new.fingerprint}


def test_multi_region_trail_digests_each_region_with_its_key(env: Env) -> None:
    env.trail(is_multi_region_trail=True)
    env.run(60, every=60)
    env.ingest(T0 + 60, region="eu-west-1")
    env.run(HOUR + 2, every=1)
    eu = [k for k in env.digest_keys() if "/eu-west-1/" in k]
    assert eu == [f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/eu-west-1/2024/03/01/"
                  f"{ACCOUNT}_CloudTrail-Digest_eu-west-1_main_us-east-1_20240301T110102Z.json.gz"]
    doc = check_chain(env, eu, region="eu-west-1")[0]
    assert doc["digestStartTime"] == "2024-03-01T10:01:02Z"
    assert [f["s3Object"] for f in doc["logFiles"]] == env.log_keys()
    assert env.keys.current("eu-west-1").fingerprint != env.keys.current("us-east-1").fingerprint


def test_failed_uploads_are_reported_and_retried_with_the_same_bytes(env: Env, tmp_path: Path) -> None:
    env.trail()
    env.run(HOUR - 1, every=600)
    (tmp_path / "buckets" / BUCKET).rename(tmp_path / "gone")
    env.run(1)
    status = env.trails.get_trail(ACCOUNT, "us-east-1", "main").status
    assert (status.latest_digest_delivery_time, status.latest_digest_delivery_error) == (None, "NoSuchBucket")
    planned = env.digest_state.planned_digests()
    assert [p.key for p in planned] == [PREFIX + "20240301T110000Z.json.gz"]
    # a restart: a new worker over the same database uploads the planned digest
    (tmp_path / "gone").rename(tmp_path / "buckets" / BUCKET)
    env.digest_state.close()
    state = DigestState(tmp_path / "digests.db")
    worker = DigestWorker(env.trails, env.storage, env.keys, state, clock=env.clock, interval_s=HOUR)
    env.clock.now += 1
    worker.step()
    assert env.digest_keys() == [PREFIX + "20240301T110000Z.json.gz"]
    assert env.storage.get_object(BUCKET, env.digest_keys()[0]).body == planned[0].body
    status = env.trails.get_trail(ACCOUNT, "us-east-1", "main").status
    assert (status.latest_digest_delivery_time, status.latest_digest_delivery_error) == (T0 + HOUR + 1, None)
    env.digest_state = state


def test_trails_without_validation_get_no_digests_and_no_hashing(env: Env) -> None:
    env.trail(enable_log_file_validation=False)
    env.run(0)
    env.ingest(T0)
    env.run(2 * HOUR, every=600)
    assert len(env.log_keys()) == 1 and env.digest_keys() == []
    assert env.digest_state.pending_regions() == set()


def test_uploaded_digests_and_their_files_are_forgotten_after_a_week(env: Env, monkeypatch: Any) -> None:
    from opentrail.digests import worker

    assert worker.KEEP_S == 7 * 86400
    monkeypatch.setattr(worker, "KEEP_S", 3 * HOUR)  # a week, scaled down
    env.trail()
    env.ingest(T0)
    env.run(HOUR, every=600)
    assert len(env.digest_state.file_digest_keys()) == 1
    env.run(3 * HOUR, every=HOUR)  # T0 + 4h: the first digest ended 3 hours ago, not before that
    assert len(env.digest_state.file_digest_keys()) == 1
    env.run(HOUR, every=HOUR)
    assert env.digest_state.file_digest_keys() == {}
    assert env.digest_state.digest_count() == 4  # ends 12:00 .. 15:00 are kept
    assert len(env.digest_keys()) == 5  # the objects themselves stay
