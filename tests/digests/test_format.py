"""The pure digest format: keys, bytes, string to sign, signatures -- checked against the AWS CLI's
own validator classes and the User Guide's samples."""

from __future__ import annotations

import base64
import gzip

import pytest
from awscli.customizations.cloudtrail.validation import (
    DigestSignatureError,
    Sha256RSADigestValidator,
    extract_digest_key_date,
    is_backfill_digest_key,
)

from opentrail.digests import format as F

#: The three keys of the User Guide's ListPublicKeys sample response (Value, Fingerprint).
GUIDE_KEYS = {
    "8eba5db5bea9b640d1c96a77256fe7f2": "MIIBCgKCAQEAn11L2YZ9h7onug2ILi1MWyHiMRsTQjfWE+pHVRLk1QjfWhirG+lpOa8NrwQ/r7Ah5bNL6HepznOU9XTDSfmmnP97mqyc7z/upfZdS/AHhYcGaz7n6Wc/RRBU6VmiPCrAUojuSk6/GjvA8iOPFsYDuBtviXarvuLPlrT9kAd4Lb+rFfR5peEgBEkhlzc5HuWO7S0y+KunqxX6jQBnXGMtxmPBPP0FylgWGNdFtks/4YSKcgqwH0YDcawP9GGGDAeCIqPWIXDLG1jOjRRzWfCmD0iJUkz8vTsn4hq/5ZxRFE7UBAUiVcGbdnDdvVfhF9C3dQiDq3k7adQIziLT0cShgQIDAQAB",
    "8933b39ddc64d26d8e14ffbf6566fee4": "MIIBCgKCAQEApfYL2FiZhpN74LNWVUzhR+VheYhwhYm8w0n5Gf6i95ylW5kBAWKVEmnAQG7BvS5g9SMqFDQx52fW7NWV44IvfJ2xGXT+wT+DgR6ZQ+6yxskQNqV5YcXj4Aa5Zz4jJfsYjDuO2MDTZNIzNvBNzaBJ+r2WIWAJ/Xq54kyF63B6WE38vKuDE7nSd1FqQuEoNBFLPInvgggYe2Ym1Refe2z71wNcJ2kY+q0h1BSHrSM8RWuJIw7MXwF9iQncg9jYzUlNJomozQzAG5wSRfbplcCYNY40xvGd/aAmO0m+Y+XFMrKwtLCwseHPvj843qVno6x4BJN9bpWnoPo9sdsbGoiK3QIDAQAB",
    "31e8b5433410dfb61a9dc45cc65b22ff": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqlzPJbvZJ42UdcmLfPUqXYNfOs6I8lCfao/tOs8CmzPOEdtLWugB9xoIUz78qVHdKIqxbaG4jWHfJBiOSSFBM0lt8cdVo4TnRa7oG9io5pysS6DJhBBAeXsicufsiFJR+wrUNh8RSLxL4k6G1+BhLX20tJkZ/erT97tDGBujAelqseGg3vPZbTx9SMfOLN65PdLFudLP7Gat0Z9p5jw/rjpclKfo9Bfc3heeBxWGKwBBOKnFAaN9V57pOaosCvPKmHd9bg7jsQkI9Xp22IzGLsTFJZYVA3KiTAElDMu80iFXPHEq9hKNbt9e4URFam+1utKVEiLkR2disdCmPTK0VQIDAQAB",
}

END = 1439823691  # 2015-08-17T15:01:31Z
START = END - 3600


@pytest.fixture(scope="module")
def key() -> F.rsa.RSAPrivateKey:
    return F.generate_private_key()


def test_fingerprint_is_md5_of_the_der_value_as_in_the_user_guide() -> None:
    for fp, value in GUIDE_KEYS.items():
        assert F.fingerprint(base64.b64decode(value)) == fp


def test_public_key_is_der_pkcs1_rsa_2048(key: F.rsa.RSAPrivateKey) -> None:
    der = F.public_key_der(key)
    assert der[:4] == bytes.fromhex("3082010a")  # SEQUENCE of 266 bytes: RSAPublicKey, 2048-bit modulus
    assert F.load_public_key(der).key_size == 2048
    assert len(F.fingerprint(der)) == 32


def test_times_and_key_layout() -> None:
    assert F.format_time(END) == "2015-08-17T15:01:31Z"
    assert F.parse_time("2015-08-17T15:01:31Z") == END
    key = F.digest_key(None, "111122223333", "us-east-2", "your-trail-name", "us-east-2", END)
    assert key == ("AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/"
                   "111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz")
    assert extract_digest_key_date(key) == "20150817T150131Z"
    backfill = F.digest_key("p/q", "111122223333", "eu-west-1", "t_1", "us-east-2", END, backfill=True)
    assert backfill == ("p/q/AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2015/08/17/"
                        "111122223333_CloudTrail-Digest_eu-west-1_t_1_us-east-2_20150817T150131Z_backfill.json.gz")
    assert is_backfill_digest_key(backfill) and extract_digest_key_date(backfill) == "20150817T150131Z"
    assert F.parse_digest_key(backfill) == F.DigestKey("p/q", None, "111122223333", "eu-west-1", "t_1", "us-east-2", END, True)
    assert F.parse_digest_key(key.replace("/17/", "/18/")) is None
    assert F.parse_digest_key("AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/17/x.json.gz") is None
    assert F.digest_prefix(None, "111122223333", "us-east-2", "o-abc123") == "AWSLogs/o-abc123/111122223333/CloudTrail-Digest/us-east-2/"


def test_empty_starting_digest_bytes_are_the_user_guide_shape() -> None:
    d = F.Digest("111122223333", START, END, "bucket", "k.json.gz", "31e8b5433410dfb61a9dc45cc65b22ff", None)
    assert F.digest_json(d) == (
        b'{"awsAccountId":"111122223333","digestStartTime":"2015-08-17T14:01:31Z",'
        b'"digestEndTime":"2015-08-17T15:01:31Z","digestS3Bucket":"bucket","digestS3Object":"k.json.gz",'
        b'"digestPublicKeyFingerprint":"31e8b5433410dfb61a9dc45cc65b22ff","digestSignatureAlgorithm":"SHA256withRSA",'
        b'"newestEventTime":null,"oldestEventTime":null,"previousDigestS3Bucket":null,"previousDigestS3Object":null,'
        b'"previousDigestHashValue":null,"previousDigestHashAlgorithm":null,"previousDigestSignature":null,"logFiles":[]}'
    )


def test_log_files_and_chain_fields() -> None:
    files = (F.LogFileEntry("b", "l1", "aa", END - 100, END - 400), F.LogFileEntry("b", "l2", "bb", END - 50, END - 200))
    prev = F.PreviousDigest("b", "prev.json.gz", "cc", "dd", START)
    doc = F.Digest("111122223333", START, END, "b", "k", "ff", prev, files).to_json()
    assert list(doc) == list(F.FIELD_ORDER)
    assert (doc["newestEventTime"], doc["oldestEventTime"]) == ("2015-08-17T15:00:41Z", "2015-08-17T14:54:51Z")
    assert doc["logFiles"][0] == {"s3Bucket": "b", "s3Object": "l1", "hashValue": "aa", "hashAlgorithm": "SHA-256",
                                  "newestEventTime": "2015-08-17T14:59:51Z", "oldestEventTime": "2015-08-17T14:54:51Z"}
    assert [doc[k] for k in F.FIELD_ORDER[9:14]] == ["b", "prev.json.gz", "cc", "SHA-256", "dd"]


def test_string_to_sign() -> None:
    assert F.string_to_sign("2015-08-17T15:01:31Z", "b", "k", b"{}", None) == (
        b"2015-08-17T15:01:31Z\nb/k\n44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\nnull")
    assert F.string_to_sign("T", "b", "k", b"", "ab").endswith(b"\nab")


@pytest.mark.parametrize("chained", [False, True])
def test_the_aws_cli_validator_accepts_a_signed_digest(key: F.rsa.RSAPrivateKey, chained: bool) -> None:
    prev = F.PreviousDigest("b", "prev", "cc", "a1b2" * 64, START) if chained else None
    d = F.Digest("111122223333", START, END, "b", "AWSLogs/k.json.gz", "fp", prev)
    raw, signature = F.sign_digest(d, key)
    body = F.gzip_body(raw)
    assert gzip.decompress(body) == raw == F.gunzip_body(body)
    data = F.parse_digest(raw) | {"_signature": signature}
    value = base64.b64encode(F.public_key_der(key))  # as the CLI receives it (blob left base64)
    Sha256RSADigestValidator().validate("b", "AWSLogs/k.json.gz", value, data, raw)
    assert F.verify(F.public_key_der(key), F.string_to_sign(data["digestEndTime"], "b", "AWSLogs/k.json.gz", raw,
                                                             data["previousDigestSignature"]), signature)
    with pytest.raises(DigestSignatureError):
        Sha256RSADigestValidator().validate("b", "AWSLogs/k.json.gz", value, data, raw + b" ")
    assert F.signature_metadata(signature) == {"signature": signature, "signature-algorithm": "SHA256withRSA"}


def test_verify_is_false_for_tampering(key: F.rsa.RSAPrivateKey) -> None:
    der = F.public_key_der(key)
    sig = F.sign(key, b"message")
    assert F.verify(der, b"message", sig) is True
    assert F.verify(der, b"messagf", sig) is False
    assert F.verify(der, b"message", "zz") is False
    assert F.verify(b"\x30\x00", b"message", sig) is False


def test_signing_refuses_an_end_time_not_after_the_previous_one(key: F.rsa.RSAPrivateKey) -> None:
    prev = F.PreviousDigest("b", "prev", "cc", "dd", END)
    with pytest.raises(F.DigestOrderError, match="is not after the previous digest's end 2015-08-17T15:01:31Z"):
        F.sign_digest(F.Digest("1", START, END, "b", "k", "fp", prev), key)
    with pytest.raises(F.DigestOrderError, match="is not after its start"):
        F.sign_digest(F.Digest("1", END, END, "b", "k", "fp", None), key)
    assert F.signature_metadata("ab", END) == {"signature": "ab", "signature-algorithm": "SHA256withRSA",
                                               "backfill-generation-timestamp": "2015-08-17T15:01:31Z"}
