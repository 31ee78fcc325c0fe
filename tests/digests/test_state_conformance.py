"""DigestState (opentrail/digests/state.py) on both state backends (``state_dir``): chains, delivered
files, digests written with their files and chain in one transaction, uploads and pruning, and two
state objects on one database (two nodes) reading each other's writes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from opentrail.digests.state import DIGESTS_DB, BACKFILL, Chain, DeliveredFile, DigestState, PlannedDigest, new_chain
from opentrail.trails.model import Trail

TRAIL = Trail("111122223333", "us-east-1", "audit", "bucket", s3_key_prefix="p")
OTHER = Trail("111122223333", "us-east-1", "other", "bucket")
ASSIGN = "UPDATE files SET digest_id = (SELECT max(id) FROM digests) WHERE bucket = ? AND key = ?"


def state(state_dir: Path) -> DigestState:
    return DigestState(state_dir / DIGESTS_DB)


def delivered(key: str, arn: str = TRAIL.arn, region: str = "us-east-1", at: int = 100) -> DeliveredFile:
    return DeliveredFile("bucket", key, arn, region, "ab" * 32, 90, 80, at)


def write_digest(s: DigestState, key: str, files: list[DeliveredFile], end_time: int, chain: Chain) -> None:
    """What the digest worker writes for one digest: the digest, its files, its chain moved."""
    s.write([DigestState.add_digest(chain.arn, chain.region, "bucket", key, b"\x1f\x8bbody", {"signature": "s"}, end_time),
             *[(ASSIGN, (f.bucket, f.key)) for f in files], DigestState.put_chain(chain)])


def test_chains_are_stored_replaced_and_listed_in_order(state_dir: Path) -> None:
    s = state(state_dir)
    assert s.chains() == []
    west = new_chain(TRAIL, "us-west-2", 1000)
    east = new_chain(TRAIL, "us-east-1", 1000)
    backfill = dataclasses.replace(east, kind=BACKFILL, active=False, start_time=0)
    other = new_chain(OTHER, "us-east-1", 5)
    s.write([DigestState.put_chain(c) for c in (west, east, backfill, other)])
    closing = dataclasses.replace(east, closing_at=1500, close_reason="stop", prev_bucket="bucket", prev_key="k",
                                  prev_hash="h", prev_signature="sig", prev_end=1400)
    s.write([DigestState.put_chain(closing)])
    assert east == Chain(TRAIL.arn, "us-east-1", "regular", True, 1000, None, None, None, None, None, None, None,
                         "111122223333", "audit", "us-east-1", "bucket", "p")
    assert s.chains() == [backfill, closing, west, other]  # by (arn, region, kind)
    s.close()


def test_starting_a_chain_keeps_an_active_one_and_replaces_a_closed_one(state_dir: Path) -> None:
    s = state(state_dir)
    linked = dataclasses.replace(new_chain(TRAIL, "us-east-1", 1000), prev_bucket="bucket", prev_key="k",
                                 prev_hash="h", prev_signature="sig", prev_end=1000)
    s.write([DigestState.start_chain(linked)])
    s.write([DigestState.start_chain(new_chain(TRAIL, "us-east-1", 1200))])
    assert s.chains() == [linked]
    closed = dataclasses.replace(linked, active=False, closing_at=1100, close_reason="stop")
    s.write([DigestState.put_chain(closed)])
    restarted = new_chain(TRAIL, "us-east-1", 1300)
    s.write([DigestState.start_chain(restarted)])
    assert s.chains() == [restarted]
    s.close()


def test_files_are_recorded_once_and_pending_until_a_digest_lists_them(state_dir: Path) -> None:
    s = state(state_dir)
    late, early, west = delivered("k2", at=200), delivered("k1", at=100), delivered("k3", region="us-west-2", at=50)
    s.write([DigestState.add_file(f) for f in (late, early, west)])
    s.write([DigestState.add_file(dataclasses.replace(early, hash="cd" * 32, delivered_at=300))])  # ignored
    assert s.pending_files(TRAIL.arn, "us-east-1") == [early, late]  # by delivery time
    assert s.pending_regions() == {(TRAIL.arn, "us-east-1"), (TRAIL.arn, "us-west-2")}
    chain = new_chain(TRAIL, "us-east-1", 3600)
    write_digest(s, "digest-1", [early, late], 3600, chain)
    assert s.pending_files(TRAIL.arn, "us-east-1") == []
    assert s.pending_regions() == {(TRAIL.arn, "us-west-2")}
    assert s.file_digest_keys() == {("bucket", "k1"): "digest-1", ("bucket", "k2"): "digest-1"}
    assert s.chains() == [chain]
    s.close()


def test_digests_are_planned_uploaded_and_pruned(state_dir: Path) -> None:
    s = state(state_dir)
    chain = new_chain(TRAIL, "us-east-1", 0)
    s.write([DigestState.add_file(delivered("k1"))])
    write_digest(s, "digest-1", [delivered("k1")], 1000, chain)
    write_digest(s, "digest-2", [], 2000, chain)
    write_digest(s, "digest-3", [], 9000, chain)
    planned = s.planned_digests()
    assert [(p.key, p.end_time) for p in planned] == [("digest-1", 1000), ("digest-2", 2000), ("digest-3", 9000)]
    assert planned[0] == PlannedDigest(planned[0].id, TRAIL.arn, "us-east-1", "bucket", "digest-1", b"\x1f\x8bbody",
                                       {"signature": "s"}, 1000)
    assert planned[0].id < planned[1].id < planned[2].id
    for p in planned[:2]:
        s.mark_uploaded(p.id)
    assert s.planned_digests() == planned[2:]
    assert s.digest_count() == 3
    s.prune(1500)  # digest-1 and its file go; digest-2 ended later; digest-3 is not uploaded
    assert s.digest_count() == 2
    assert s.file_digest_keys() == {}
    s.prune(10_000)
    assert s.digest_count() == 1
    assert s.planned_digests() == planned[2:]
    s.close()


def test_two_state_objects_read_each_others_writes(state_dir: Path) -> None:
    one, two = state(state_dir), state(state_dir)
    chain = new_chain(TRAIL, "us-east-1", 10)
    one.write([DigestState.put_chain(chain), DigestState.add_file(delivered("k1"))])
    assert two.chains() == [chain]
    assert two.pending_files(TRAIL.arn, "us-east-1") == [delivered("k1")]
    write_digest(two, "digest-1", [delivered("k1")], 3610, dataclasses.replace(chain, start_time=3610))
    assert one.file_digest_keys() == {("bucket", "k1"): "digest-1"}
    assert [c.start_time for c in one.chains()] == [3610]
    one.close()
    two.close()
