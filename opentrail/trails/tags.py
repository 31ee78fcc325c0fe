"""Tag rules for trails (botocore model ``Tag``/``TagsList``; AWS quota: 50 tags per resource).

Keys 1-128 characters, values up to 256, no key given twice in one request, no ``aws:`` prefix
(reserved by AWS). Tags are ``(key, value)`` pairs, value None when not given.
"""

from __future__ import annotations

from .errors import InvalidTagParameterException, TagsLimitExceededException

MAX_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256

Tags = tuple[tuple[str, str | None], ...]


def check_tags(tags: Tags) -> None:
    """Raise InvalidTagParameterException for a bad key or value or a repeated key."""
    seen: set[str] = set()
    for key, value in tags:
        if not 1 <= len(key) <= MAX_KEY:
            raise InvalidTagParameterException(f"Tag key must be between 1 and {MAX_KEY} characters: {key}")
        if key.lower().startswith("aws:"):
            raise InvalidTagParameterException(f"Tag keys cannot start with the reserved prefix aws:: {key}")
        if value is not None and len(value) > MAX_VALUE:
            raise InvalidTagParameterException(f"Tag value must be at most {MAX_VALUE} characters: {key}")
        if key in seen:
            raise InvalidTagParameterException(f"Tag key {key} is specified more than once.")
        seen.add(key)


def merge_tags(current: Tags, new: Tags) -> Tags:
    """``current`` with ``new`` added or overwritten; TagsLimitExceededException over 50."""
    merged = dict(current)
    merged.update(new)
    if len(merged) > MAX_TAGS:
        raise TagsLimitExceededException.for_limit(MAX_TAGS)
    return tuple(merged.items())


def remove_tags(current: Tags, removed: Tags) -> Tags:
    """``current`` without the keys of ``removed`` (when a value is given it must match)."""
    drop = {k for k, v in removed if v is None or dict(current).get(k) == v}
    return tuple((k, v) for k, v in current if k not in drop)
