"""Validation errors, with the AWS CLI's wording (``awscli/customizations/cloudtrail/validation.py``).

:class:`ValidationAbort` stops the command (the AWS CLI prints ``"\\n<message>\\n"`` on stderr and
exits 255). :class:`DigestError` and its subclasses make one digest file invalid; their message is
the full status line the command prints.
"""

from __future__ import annotations


class ValidationAbort(Exception):
    """The command cannot run (bad arguments, trail not found, no public keys)."""


class DigestError(ValueError):
    """A digest file failed to validate; the message is its status line."""


class DigestSignatureError(DigestError):
    """The signature is missing or does not verify."""

    def __init__(self, bucket: str, key: str) -> None:
        super().__init__(f"Digest file\ts3://{bucket}/{key}\tINVALID: signature verification failed")


class InvalidDigestFormat(DigestError):
    """The digest file is not gzip-compressed JSON with the required fields."""

    def __init__(self, bucket: str, key: str) -> None:
        super().__init__(f"Digest file\ts3://{bucket}/{key}\tINVALID: invalid format")


class DigestMoved(DigestError):
    """The digest names another bucket or key than where it was found."""

    def __init__(self, bucket: str, key: str) -> None:
        super().__init__(f"Digest file\ts3://{bucket}/{key}\tINVALID: has been moved from its original location")


class PublicKeyNotFound(DigestError):
    """No public key of the digest's Region has the digest's fingerprint (a forged digest)."""

    def __init__(self, bucket: str, key: str, region: str, fingerprint: str) -> None:
        super().__init__(
            f"Digest file\ts3://{bucket}/{key}\tINVALID: public key not found in region {region} "
            f"for fingerprint {fingerprint}"
        )


class PublicKeyUnloadable(DigestError):
    """The public key with the digest's fingerprint is not a DER PKCS #1 RSA key."""

    def __init__(self, bucket: str, key: str, fingerprint: str) -> None:
        super().__init__(
            f"Digest file\ts3://{bucket}/{key}\tINVALID: Unable to load PKCS #1 key with fingerprint {fingerprint}"
        )


class ChainLinkError(DigestError):
    """opentrail's addition: a digest that verifies on its own but does not match what the next
    digest in the chain says of it (previousDigestHashValue, previousDigestSignature, times)."""

    def __init__(self, bucket: str, key: str, reason: str) -> None:
        super().__init__(f"Digest file\ts3://{bucket}/{key}\tINVALID: {reason}")
