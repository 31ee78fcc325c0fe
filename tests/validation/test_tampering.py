"""Each tampering case, one at a time, on a local folder and on moto's S3 server: exact lines and
exit codes of validate-logs (the AWS CLI's wording where it has a case, opentrail's otherwise)."""

from __future__ import annotations

import gzip

import orjson
import pytest

from opentrail.digests import format as F

from .chain import ARN, HOUR, REGION, T0, KeyRing, TrailFiles, when
from .conftest import Backend, run_validation

HEADER = f"Validating log files for trail {ARN} between 2026-01-04T22:00:00Z and 2026-01-05T06:00:00Z\n\n"
REQUESTED = "Results requested for 2026-01-04T22:00:00Z to 2026-01-05T06:00:00Z\n"


def summary(digests: tuple[int, int], logs: tuple[int, int], found: tuple[int, int] = (T0 - HOUR // 2, T0 + 4 * HOUR + HOUR // 2)) -> str:
    text = REQUESTED + f"Results found for {when(found[0])} to {when(found[1])}:\n"
    for (valid, invalid), name in ((digests, "digest"), (logs, "log")):
        total = valid + invalid
        if total:
            text += f"\n{valid}/{total} {name} files valid"
            if invalid:
                text += f", {invalid}/{total} {name} files INVALID"
    return text + "\n"


def line(backend: Backend, key: str, status: str, kind: str = "Digest file") -> str:
    return f"{kind}\ts3://{backend.bucket}/{key}\t{status}"


def errors(*lines: str) -> str:
    return "".join(f"{text}\n\n" for text in lines)


def test_untouched_chain_is_valid_verbose(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    digests = trail.hourly(5)
    result = run_validation(backend, ring, verbose=True)
    expected = []
    for digest in reversed(digests):
        expected.append(line(backend, digest.key, "valid"))
        expected.extend(line(backend, key, "valid", "Log file") for key in digest.log_keys)
    assert result.err == ""
    assert result.out == HEADER + "".join(f"{text}\n" for text in expected) + "\n" + summary((5, 0), (10, 0))
    assert result.code == 0


def test_log_file_modified(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    digests = trail.hourly(5)
    key = digests[2].log_keys[1]
    raw = gzip.decompress(backend.body(key)).replace(b"GetObject", b"PutObject")
    backend.replace(key, gzip.compress(raw))
    result = run_validation(backend, ring)
    assert result.err == errors(line(backend, key, "INVALID: hash value doesn't match", "Log file"))
    assert result.out == HEADER + summary((5, 0), (9, 1))
    assert result.code == 1


def test_log_file_deleted(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    digests = trail.hourly(5)
    key = digests[0].log_keys[0]
    backend.remove(key)
    result = run_validation(backend, ring)
    assert result.err == errors(line(backend, key, "INVALID: not found", "Log file"))
    assert result.out == HEADER + summary((5, 0), (9, 1))
    assert result.code == 1


def test_gzip_member_appended_to_log_file(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    digests = trail.hourly(5)
    key = digests[3].log_keys[0]
    backend.replace(key, backend.body(key) + gzip.compress(b'{"Records":[{"eventName":"Forged"}]}'))
    result = run_validation(backend, ring)
    assert result.err == errors(line(backend, key, "INVALID: unexpected data after end of compressed stream", "Log file"))
    assert result.out == HEADER + summary((5, 0), (9, 1))
    assert result.code == 1


def test_log_file_not_gzip(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    digests = trail.hourly(5)
    key = digests[1].log_keys[0]
    backend.replace(key, b'{"Records":[]}')
    result = run_validation(backend, ring)
    assert result.err == errors(line(backend, key, "INVALID: invalid format", "Log file"))
    assert result.code == 1


def test_log_file_added(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    trail.hourly(5)
    added, _ = trail.log_file(T0 + HOUR + 1200)  # inside the third digest's hour, listed by none
    result = run_validation(backend, ring)
    assert result.err == errors(line(backend, added, "INVALID: not listed in any digest file", "Log file"))
    assert result.out == HEADER + summary((5, 0), (10, 1))
    assert result.code == 1


def test_log_file_after_the_last_digest_is_not_reported(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    trail.hourly(5)
    trail.log_file(T0 + 4 * HOUR + HOUR // 2 + 120)  # delivered after the newest digest: not digested yet
    result = run_validation(backend, ring)
    assert (result.code, result.err) == (0, "")


def test_digest_modified(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    digests = trail.hourly(5)
    doc = orjson.loads(digests[2].raw)
    doc["logFiles"] = doc["logFiles"][:1]  # hide a log file from validation
    backend.replace(digests[2].key, F.gzip_body(orjson.dumps(doc)))
    result = run_validation(backend, ring)
    assert result.err == errors(line(backend, digests[2].key, "INVALID: signature verification failed"))
    assert result.out == HEADER + summary((4, 1), (8, 0))
    assert result.code == 1


def test_digest_deleted(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    digests = trail.hourly(5)
    backend.remove(digests[2].key)
    result = run_validation(backend, ring)
    assert result.err == errors(line(backend, digests[2].key, "INVALID: not found"))
    assert result.out == HEADER + summary((4, 1), (8, 0))
    assert result.code == 1


def test_two_consecutive_digests_deleted(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    """aws-cli issue 7054: the AWS CLI reports only the first of them."""
    digests = trail.hourly(5)
    backend.remove(digests[3].key)
    backend.remove(digests[2].key)
    result = run_validation(backend, ring)
    folder = f"s3://{backend.bucket}/AWSLogs/123456789012/CloudTrail-Digest/{REGION}/"
    assert result.err == errors(
        line(backend, digests[3].key, "INVALID: not found"),
        f"Digest files\t{folder}\tINVALID: 1 more not found between 2026-01-05T01:30:00Z and 2026-01-05T03:30:00Z",
    )
    assert result.out == HEADER + summary((3, 2), (6, 0))
    assert result.code == 1


def test_three_consecutive_digests_deleted(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    digests = trail.hourly(5)
    for digest in digests[1:4]:
        backend.remove(digest.key)
    result = run_validation(backend, ring)
    folder = f"s3://{backend.bucket}/AWSLogs/123456789012/CloudTrail-Digest/{REGION}/"
    assert result.err == errors(
        line(backend, digests[3].key, "INVALID: not found"),
        f"Digest files\t{folder}\tINVALID: 2 more not found between 2026-01-05T00:30:00Z and 2026-01-05T03:30:00Z",
    )
    assert result.out == HEADER + summary((2, 3), (4, 0))
    assert result.code == 1


def test_digest_signature_metadata_changed(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    digests = trail.hourly(5)
    metadata = backend.metadata(digests[1].key)
    metadata["signature"] = digests[0].signature  # a real signature, of another digest
    backend.replace(digests[1].key, backend.body(digests[1].key), metadata)
    result = run_validation(backend, ring)
    assert result.err == errors(line(backend, digests[1].key, "INVALID: signature verification failed"))
    assert result.out == HEADER + summary((4, 1), (8, 0))
    assert result.code == 1


def test_digest_signature_metadata_removed(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    digests = trail.hourly(5)
    backend.replace(digests[4].key, backend.body(digests[4].key), {})
    result = run_validation(backend, ring)
    assert result.err == errors(line(backend, digests[4].key, "INVALID: signature verification failed"))
    assert result.out == HEADER + summary((4, 1), (8, 0), found=(T0 - HOUR // 2, T0 + 3 * HOUR + HOUR // 2))
    assert result.code == 1


def test_digest_moved(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    digests = trail.hourly(5)
    # the previous hour's digest, body and signature, put where this hour's was
    backend.replace(digests[2].key, backend.body(digests[1].key), backend.metadata(digests[1].key))
    result = run_validation(backend, ring)
    assert result.err == errors(line(backend, digests[2].key, "INVALID: has been moved from its original location"))
    assert result.out == HEADER + summary((4, 1), (8, 0))
    assert result.code == 1


def test_forged_digest_with_an_unknown_key(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    digests = trail.hourly(5)
    forger = F.generate_private_key()
    forged = trail.digest(digests[4].start, digests[4].end, [], signer=forger, previous=digests[3])
    fingerprint = F.fingerprint(F.public_key_der(forger))
    result = run_validation(backend, ring)
    assert result.err == errors(
        line(backend, forged.key, f"INVALID: public key not found in region {REGION} for fingerprint {fingerprint}")
    )
    assert result.out == HEADER + summary((4, 1), (8, 0), found=(T0 - HOUR // 2, T0 + 3 * HOUR + HOUR // 2))
    assert result.code == 1


def test_forged_digest_off_the_chain(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    """A digest nothing points to is never read by the AWS CLI."""
    digests = trail.hourly(5)
    forger = F.generate_private_key()
    planted = trail.digest(T0 + HOUR, T0 + HOUR + 900, [], signer=forger, chain=False)
    fingerprint = F.fingerprint(F.public_key_der(forger))
    result = run_validation(backend, ring)
    assert planted.key not in {d.key for d in digests}
    assert result.err == errors(
        line(backend, planted.key, f"INVALID: public key not found in region {REGION} for fingerprint {fingerprint}")
    )
    assert result.out == HEADER + summary((5, 1), (10, 0))
    assert result.code == 1


def test_validly_signed_digest_off_the_chain(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    trail.hourly(5)
    extra = trail.digest(T0 + HOUR, T0 + HOUR + 900, [], chain=False)
    result = run_validation(backend, ring)
    assert result.err == errors(line(backend, extra.key, "INVALID: not part of the digest chain"))
    assert result.code == 1


def test_reordered_chain(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    """All four digests verify on their own; the chain goes D -> B -> C -> A."""
    a = trail.digest(T0, T0 + HOUR, [trail.log_file(T0 + 60)], chain=False)
    c = trail.digest(T0 + 2 * HOUR, T0 + 3 * HOUR, [trail.log_file(T0 + 2 * HOUR + 60)], previous=a)
    b = trail.digest(T0 + HOUR, T0 + 2 * HOUR, [trail.log_file(T0 + HOUR + 60)], previous=c)
    d = trail.digest(T0 + 3 * HOUR, T0 + 4 * HOUR, [trail.log_file(T0 + 3 * HOUR + 60)], previous=b)
    result = run_validation(backend, ring)
    assert result.err == errors(
        line(backend, b.key, f"INVALID: digest chain broken: ends at 2026-01-05T02:00:00Z but the next digest file "
                             f"s3://{backend.bucket}/{d.key} starts at 2026-01-05T03:00:00Z"),
        line(backend, c.key, "INVALID: not part of the digest chain"),
    )
    assert result.out == HEADER + summary((2, 2), (2, 0), found=(T0, T0 + 4 * HOUR))
    assert result.code == 1


def test_previous_digest_replaced_by_another_valid_one(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    """The digest at the previous key verifies, but is not the one the next digest hashed."""
    digests = trail.hourly(3)
    doc = orjson.loads(digests[1].raw)
    doc["logFiles"] = []
    raw = orjson.dumps(doc)
    signature = F.sign(trail.signer, F.string_to_sign(doc["digestEndTime"], backend.bucket, digests[1].key, raw,
                                                     doc["previousDigestSignature"]))
    backend.replace(digests[1].key, F.gzip_body(raw), F.signature_metadata(signature))
    result = run_validation(backend, ring)
    assert result.err.startswith(errors(
        line(backend, digests[1].key, f"INVALID: hash value doesn't match previousDigestHashValue of "
                                      f"s3://{backend.bucket}/{digests[2].key}"),
    ))
    assert result.code == 1


def test_key_rotation_mid_chain(backend: Backend) -> None:
    ring = KeyRing()
    first = ring.add(T0 - 48 * HOUR, T0 + 2 * HOUR)
    second = ring.add(T0 + 2 * HOUR, T0 + 48 * HOUR)
    trail = TrailFiles(backend.objects, backend.bucket, first)
    trail.hourly(3)
    trail.signer = second
    trail.hourly(2)
    assert len({d.raw.split(b'"digestPublicKeyFingerprint":"')[1][:32] for d in trail.digests}) == 2
    result = run_validation(backend, ring)
    assert (result.code, result.err) == (0, "")
    assert result.out == HEADER + summary((5, 0), (10, 0))


def test_logging_stopped_and_started_again(backend: Backend, ring: KeyRing, trail: TrailFiles) -> None:
    trail.hourly(2)  # 23:30 - 01:30
    trail.hourly(2, restart_at=T0 + 3 * HOUR)  # a new starting digest at 03:00
    result = run_validation(backend, ring)
    assert result.err == errors("No log files were delivered by CloudTrail between 2026-01-05T01:30:00Z and 2026-01-05T03:00:00Z")
    assert result.out == HEADER + summary((4, 0), (8, 0), found=(T0 - HOUR // 2, T0 + 5 * HOUR))
    assert result.code == 0


def test_no_digests(backend: Backend, ring: KeyRing) -> None:
    ring.add(T0 - HOUR, T0 + HOUR)
    result = run_validation(backend, ring)
    assert result.code == 0  # the AWS CLI's exit code and output; stderr says when digests come
    assert result.out == HEADER + REQUESTED + "No digests found\n"
    assert result.err == (
        "No digest file yet: digest files cover an hour of deliveries each (serve --digest-interval-s, default 3600);"
        " this trail's first one is due within an hour of the server seeing the trail log with validation on."
        " For one a minute, run the server with: opentrail serve --digest-interval-s 60\n")


@pytest.mark.parametrize("start,end,message", [
    ("2026-01-05T10:00:00Z", "2026-01-05T09:00:00Z", "Invalid time range specified: start-time must occur before end-time"),
    ("yesterday-ish", None, "Unable to parse date value: yesterday-ish"),
])
def test_bad_arguments_exit_255(backend: Backend, ring: KeyRing, start: str, end: str | None, message: str) -> None:
    import io

    from opentrail.validation import ValidateLogsArgs, validate_logs

    out, err = io.StringIO(), io.StringIO()
    code = validate_logs(ValidateLogsArgs(ARN, start, end, s3_bucket=backend.bucket), stdout=out, stderr=err,
                         keys=ring, storage=backend.storage)
    assert (code, out.getvalue(), err.getvalue()) == (255, "", f"\n{message}\n")


def test_no_public_keys_exit_255(backend: Backend, trail: TrailFiles) -> None:
    trail.hourly(1)
    result = run_validation(backend, KeyRing())
    assert result.code == 255
    assert result.err == "\nNo public keys found between 2026-01-04T22:00:00Z and 2026-01-05T08:00:00Z\n"
    assert result.out == HEADER
