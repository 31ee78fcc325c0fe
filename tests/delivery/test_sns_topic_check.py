"""CreateTrail/UpdateTrail check SnsTopicName against the SNS endpoint (moto's server), as AWS does."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import botocore.exceptions
import pytest

from opentrail.delivery import SnsTopics
from opentrail.endpoints import EndpointTimeouts
from opentrail.objectstore import LocalFolderStorage
from opentrail.trails import TrailSettings
from opentrail.trails.errors import InsufficientSnsTopicPolicyException, TrailNotFoundException
from opentrail.trails.service import TrailService

from .servers import ACCOUNT, MOTO_ENV, HangingEndpoint, Moto, Opentrail, free_port

BUCKET = "trail-bucket"
MESSAGE = "SNS Topic does not exist or the topic policy is incorrect!"


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    m = Moto(tmp_path_factory.mktemp("moto"))
    yield m
    m.stop()


def _error(call: Any, **kw: Any) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call(**kw)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def test_create_and_update_trail_check_the_topic_on_the_sns_endpoint(moto: Moto, tmp_path: Path) -> None:
    moto.client("s3").create_bucket(Bucket=BUCKET)
    topic = moto.client("sns").create_topic(Name="trail-topic")["TopicArn"]  # in moto's own account
    missing_arn = topic.rsplit(":", 1)[0] + ":no-such-topic"
    srv = Opentrail(tmp_path / "data", "--s3-endpoint-url", moto.url, "--sns-endpoint-url", moto.url)
    try:
        ct = srv.cloudtrail()
        trail = ct.create_trail(Name="with-topic", S3BucketName=BUCKET, SnsTopicName=topic)
        assert (trail["SnsTopicName"], trail["SnsTopicARN"]) == (topic, topic)
        # a name is the caller's topic: arn:aws:sns:us-east-1:<opentrail account>:trail-topic, not moto's
        assert _error(ct.create_trail, Name="by-name", S3BucketName=BUCKET, SnsTopicName="trail-topic") == (
            "InsufficientSnsTopicPolicyException", MESSAGE)
        assert _error(ct.create_trail, Name="by-arn", S3BucketName=BUCKET, SnsTopicName=missing_arn) == (
            "InsufficientSnsTopicPolicyException", MESSAGE)
        assert [t["Name"] for t in ct.describe_trails()["trailList"]] == ["with-topic"]
        assert _error(ct.update_trail, Name="with-topic", SnsTopicName=missing_arn) == (
            "InsufficientSnsTopicPolicyException", MESSAGE)
        assert ct.get_trail(Name="with-topic")["Trail"]["SnsTopicARN"] == topic
        ct.create_trail(Name="no-topic", S3BucketName=BUCKET)
        assert ct.update_trail(Name="no-topic", SnsTopicName=topic)["SnsTopicARN"] == topic
        assert "SnsTopicARN" not in ct.update_trail(Name="no-topic", SnsTopicName="")  # clearing is not checked
        assert _error(ct.update_trail, Name="unknown-trail", SnsTopicName=missing_arn)[0] == "TrailNotFoundException"
    finally:
        srv.stop()


def test_unreachable_or_hanging_sns_endpoint_accepts_the_trail(moto: Moto, tmp_path: Path) -> None:
    moto.client("s3").create_bucket(Bucket=BUCKET)
    hanging = HangingEndpoint(moto.port, hanging=True)
    down = Opentrail(tmp_path / "down", "--s3-endpoint-url", moto.url,
                     "--sns-endpoint-url", f"http://127.0.0.1:{free_port()}")
    slow = Opentrail(tmp_path / "slow", "--s3-endpoint-url", moto.url, "--sns-endpoint-url", hanging.url,
                     "--destination-read-timeout-s", "0.3")
    try:
        for srv in (down, slow):
            trail = srv.cloudtrail().create_trail(Name="main", S3BucketName=BUCKET, SnsTopicName="trail-topic")
            assert trail["SnsTopicARN"] == f"arn:aws:sns:us-east-1:{ACCOUNT}:trail-topic"
        assert "SNS topic arn:aws:sns:us-east-1:111122223333:trail-topic not checked" in down.log.read_text()
        assert "Read timeout on endpoint URL" in slow.log.read_text()
        assert hanging.held == 2
    finally:
        down.stop()
        slow.stop()
        hanging.close()


class Topics:
    """A checker that records the ARNs it is asked about."""

    def __init__(self, answer: bool | None) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def topic_exists(self, topic_arn: str) -> bool | None:
        self.asked.append(topic_arn)
        return self.answer


def test_service_builds_the_arn_from_the_callers_account_and_region(tmp_path: Path) -> None:
    storage = LocalFolderStorage(tmp_path / "buckets")
    storage.create_bucket(BUCKET)
    topics = Topics(False)
    service = TrailService(tmp_path, storage, lambda: 1_700_000_000.0, sns_topics=topics)
    try:
        with pytest.raises(InsufficientSnsTopicPolicyException) as info:
            service.create_trail(ACCOUNT, "eu-west-1", "main", TrailSettings(s3_bucket_name=BUCKET, sns_topic_name="t1"))
        assert info.value.message == MESSAGE
        with pytest.raises(TrailNotFoundException):  # lookup errors before the topic is asked about
            service.update_trail(ACCOUNT, "eu-west-1", "main", TrailSettings(sns_topic_name="t2"))
        topics.answer = None  # SNS could not be asked: accepted
        trail = service.create_trail(ACCOUNT, "eu-west-1", "main", TrailSettings(s3_bucket_name=BUCKET, sns_topic_name="t1"))
        assert trail.sns_topic_arn == f"arn:aws:sns:eu-west-1:{ACCOUNT}:t1"
        service.update_trail(ACCOUNT, "eu-west-1", "main", TrailSettings(sns_topic_name="arn:aws:sns:us-west-2:999999999999:t3"))
        assert topics.asked == [f"arn:aws:sns:eu-west-1:{ACCOUNT}:t1", f"arn:aws:sns:eu-west-1:{ACCOUNT}:t1",
                                "arn:aws:sns:us-west-2:999999999999:t3"]
    finally:
        service.close()


def test_sns_topics_answers_against_moto(moto: Moto, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in MOTO_ENV.items():
        monkeypatch.setenv(name, value)
    topic = moto.client("sns").create_topic(Name="checked-topic")["TopicArn"]
    topics = SnsTopics(moto.url, EndpointTimeouts(1.0, 2.0))
    try:
        assert topics.topic_exists(topic) is True
        assert topics.topic_exists(topic + "-missing") is False
        assert SnsTopics(f"http://127.0.0.1:{free_port()}", EndpointTimeouts(1.0, 1.0)).topic_exists(topic) is None
    finally:
        topics.close()
