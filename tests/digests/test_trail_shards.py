"""Trail shards (:mod:`opentrail.shards`, the unit of several nodes' trail work): a trail's
shard is the CRC-32 of its ARN modulo 4; the delivery and digest workers of one shard (what one
node runs while it holds that shard's lease) deliver, digest and recover the trails of their shard
only, and leave every other trail's cursors, plans, chains and digests alone -- on both state
backends (``state_dir``)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest

from opentrail.delivery import DeliveryWorker
from opentrail.digests import DigestWorker, delivery_caught_up
from opentrail.objectstore import ObjectStorage, StorageUnavailable
from opentrail.shards import SHARDS, owned_by, shard_of
from tests.digests.conftest import ACCOUNT, BUCKET, Env, make_env

T0 = 1_700_000_000


@pytest.mark.parametrize(("arn", "shard"), [  # zlib.crc32 of the ARN's UTF-8 bytes, modulo 4
    ("arn:aws:cloudtrail:us-east-1:123456789012:trail/main", 3),  # 3185467935
    ("arn:aws:cloudtrail:us-east-1:123456789012:trail/alpha", 1),  # 389375857
    ("arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-wide", 0),  # 4287936872
])
def test_a_trails_shard_is_the_crc32_of_its_arn_modulo_4(arn: str, shard: int) -> None:
    assert SHARDS == 4
    assert shard_of(arn) == shard
    assert [s for s in range(4) if owned_by(s)(arn)] == [shard]


def test_every_trail_is_in_exactly_one_shard_and_a_shard_outside_the_count_is_refused() -> None:
    arns = [f"arn:aws:cloudtrail:eu-west-1:{n:012d}:trail/t{n}" for n in range(400)]
    owners = [[s for s in range(SHARDS) if owned_by(s)(arn)] for arn in arns]
    assert all(len(o) == 1 for o in owners)
    assert {o[0] for o in owners} == {0, 1, 2, 3}  # 400 trails reach every shard
    with pytest.raises(ValueError, match="shard 4 is not in 0..3"):
        owned_by(4)
    with pytest.raises(ValueError):
        owned_by(-1)


class _Down:
    """Storage whose uploads fail (the shard's node cannot reach S3); reads go through."""

    def __init__(self, inner: ObjectStorage) -> None:
        self._inner = inner

    def put_object(self, *args: Any, **kwargs: Any) -> None:
        raise StorageUnavailable("down", code="ServiceUnavailable")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _arn(name: str) -> str:
    return f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{name}"


def _shard_workers(env: Env, shard: int, storage: Any = None) -> tuple[DeliveryWorker, DigestWorker]:
    storage = storage or env.storage
    owns = owned_by(shard)
    digests = DigestWorker(env.trails, storage, env.keys, env.digest_state, clock=env.clock, interval_s=10,
                           delivery_caught_up=delivery_caught_up(env.state), owns=owns)
    delivery = DeliveryWorker(env.store, env.trails, storage, env.state, clock=env.clock, interval_s=2.0,
                              on_delivered=digests.recorder.record_log_file, owns=owns)
    return delivery, digests


def _run(env: Env, workers: list[tuple[DeliveryWorker, DigestWorker]], seconds: int) -> None:
    for _ in range(seconds):
        for delivery, digests in workers:
            delivery.step()
            digests.step()
        env.clock.now += 1


def _ids(env: Env, prefix: str) -> list[str]:
    return [r["eventID"] for k in env.log_keys() if k.startswith(prefix + "/")
            for r in _records(env, k)]


def _records(env: Env, key: str) -> list[dict[str, Any]]:
    return orjson.loads(gzip.decompress(env.storage.get_object(BUCKET, key).body))["Records"]


def test_each_shards_workers_deliver_and_digest_their_own_trail_and_recover_only_their_own_plans(
        state_dir: Path) -> None:
    env = make_env(state_dir)
    try:
        a_name = "alpha"
        b_name = next(f"beta-{i}" for i in range(100) if shard_of(_arn(f"beta-{i}")) != shard_of(_arn(a_name)))
        a, b = env.trail(a_name, s3_key_prefix="a"), env.trail(b_name, s3_key_prefix="b")
        sa, sb = shard_of(a), shard_of(b)
        assert (a, b) == (_arn(a_name), _arn(b_name)) and sa != sb
        env.ingest(T0, T0 + 1, T0 + 2)
        ids = [r["eventID"] for r in _records_of_store(env)]

        # shard B cannot upload: its plan waits in the state; shard A delivers and digests its trail
        shard_a, shard_b = _shard_workers(env, sa), _shard_workers(env, sb, _Down(env.storage))
        _run(env, [shard_a, shard_b], 12)
        assert _ids(env, "a") == ids and _ids(env, "b") == []
        assert shard_b[0].pending_files() == 1
        assert {p.arn for p in env.state.pending_plans()} == {b}
        assert set(env.state.read_seqs()) == {a, b}  # each worker saved its own trail's cursor
        a_digests = [k for k in env.digest_keys() if k.startswith("a/")]
        assert a_digests and env.digest_keys() == a_digests  # B's chain has nothing uploaded yet
        listed = [f["s3Object"] for k in a_digests for f in env.digest(k)[0]["logFiles"]]
        assert listed and all(key.startswith("a/") for key in listed)
        assert {c.arn for c in env.digest_state.chains()} == {a, b}
        # while shard B's node is away, shard A's workers leave B's chain and digests alone
        b_chains = [c for c in env.digest_state.chains() if c.arn == b]
        b_written = [d.key for d in env.digest_state.planned_digests() if d.arn == b]
        assert b_written  # signed and stored, waiting for the upload
        _run(env, [shard_a], 12)
        assert [c for c in env.digest_state.chains() if c.arn == b] == b_chains
        assert [d.key for d in env.digest_state.planned_digests() if d.arn == b] == b_written

        # a node restarts shard A's work: it has no plan to redo (B's is not A's) and delivers nothing twice
        restarted_a = _shard_workers(env, sa)
        assert restarted_a[0].pending_files() == 0
        # shard B moves to a node that reaches S3: it uploads B's planned file, once
        moved_b = _shard_workers(env, sb)
        assert moved_b[0].pending_files() == 1
        _run(env, [restarted_a, moved_b], 12)
        assert _ids(env, "a") == ids and _ids(env, "b") == ids
        assert env.state.pending_plans() == []
        b_digests = [k for k in env.digest_keys() if k.startswith("b/")]
        b_listed = [f["s3Object"] for k in b_digests for f in env.digest(k)[0]["logFiles"]]
        assert len(b_listed) == 1 and b_listed[0].startswith("b/")
        # every delivered file is listed in one digest of its own trail's chain
        assert sorted(env.digest_state.file_digest_keys().items()) == sorted(
            [((BUCKET, k), d) for d in a_digests + b_digests for k in
             [f["s3Object"] for f in env.digest(d)[0]["logFiles"]]])
    finally:
        env.close()


def _records_of_store(env: Env) -> list[dict[str, Any]]:
    cols = env.store.read_columns(0, 100)
    return [orjson.loads(r) for r in cols.records]
