"""The boto3 calls the fidelity test makes through the proxy, one per (eventSource, eventName)
that a real CloudTrail record in ``tests/proxy/reference/`` shows (see test_fidelity.py)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any, Callable

from botocore.exceptions import ClientError

BUCKET = "fidelity-bucket"
ROLE_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                             "Resource": "*"}]})
BUCKET_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "Trail", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetObject",
     "Resource": f"arn:aws:s3:::{BUCKET}/*"}]})


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def _s3(c: Callable[[str], Any]) -> None:
    s3 = c("s3")
    s3.create_bucket(Bucket=BUCKET, ACL="private")
    s3.list_buckets()
    s3.put_object(Bucket=BUCKET, Key="notes/a.txt", Body=b"hello world")
    s3.get_object(Bucket=BUCKET, Key="notes/a.txt")["Body"].read()
    s3.copy_object(Bucket=BUCKET, Key="notes/b.txt", CopySource={"Bucket": BUCKET, "Key": "notes/a.txt"})
    s3.list_objects_v2(Bucket=BUCKET, Prefix="notes/")
    s3.get_bucket_acl(Bucket=BUCKET)
    s3.get_bucket_location(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.get_bucket_versioning(Bucket=BUCKET)
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "audited", "Value": "true"}]})
    s3.get_bucket_tagging(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=BUCKET_POLICY)
    s3.get_bucket_policy(Bucket=BUCKET)
    s3.delete_bucket_policy(Bucket=BUCKET)
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.get_bucket_encryption(Bucket=BUCKET)
    s3.delete_bucket_encryption(Bucket=BUCKET)
    s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.get_public_access_block(Bucket=BUCKET)
    s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": [
        {"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 1}}]})
    s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)
    for call in (s3.get_bucket_logging, s3.get_bucket_request_payment, s3.get_bucket_accelerate_configuration,
                 s3.get_bucket_cors, s3.get_bucket_website):
        try:
            call(Bucket=BUCKET)
        except ClientError:
            pass
    try:
        s3.get_object(Bucket=BUCKET, Key="missing.txt")
    except ClientError:
        pass
    s3.delete_object(Bucket=BUCKET, Key="notes/b.txt")
    s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "notes/a.txt"}], "Quiet": True})
    s3.create_bucket(Bucket=BUCKET + "-gone")
    s3.delete_bucket(Bucket=BUCKET + "-gone")


def _iam(c: Callable[[str], Any]) -> None:
    iam = c("iam")
    iam.create_user(UserName="fid-user")
    iam.get_user()
    iam.list_users()
    key = iam.create_access_key(UserName="fid-user")["AccessKey"]
    iam.list_access_keys(UserName="fid-user")
    iam.delete_access_key(UserName="fid-user", AccessKeyId=key["AccessKeyId"])
    policy = iam.create_policy(PolicyName="fid-policy", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.attach_user_policy(UserName="fid-user", PolicyArn=policy)
    iam.create_login_profile(UserName="fid-user", Password="Sup3r-Secret!", PasswordResetRequired=False)
    iam.put_user_policy(UserName="fid-user", PolicyName="inline", PolicyDocument=POLICY)
    iam.create_role(RoleName="fid-role", AssumeRolePolicyDocument=ROLE_POLICY)
    iam.get_role(RoleName="fid-role")
    iam.attach_role_policy(RoleName="fid-role", PolicyArn=policy)
    iam.create_group(GroupName="fid-group")
    iam.add_user_to_group(GroupName="fid-group", UserName="fid-user")
    try:
        iam.get_user(UserName="fid-nobody")
    except ClientError:
        pass


def _sts(c: Callable[[str], Any]) -> None:
    sts = c("sts")
    sts.get_caller_identity()
    sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/fid-role", RoleSessionName="fid-session",
                    DurationSeconds=900)
    sts.get_session_token()
    sts.get_federation_token(Name="fid-fed", Policy=POLICY)


def _lambda(c: Callable[[str], Any]) -> None:
    iam, lam = c("iam"), c("lambda")
    role = iam.create_role(RoleName="fid-lambda-role", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
    lam.create_function(FunctionName="fid-fn", Runtime="python3.12", Role=role, Handler="index.handler",
                        Code={"ZipFile": _zip()})
    lam.get_function(FunctionName="fid-fn")
    lam.list_functions()
    lam.add_permission(FunctionName="fid-fn", StatementId="fid", Action="lambda:InvokeFunction",
                       Principal="s3.amazonaws.com")
    lam.update_function_code(FunctionName="fid-fn", ZipFile=_zip())
    lam.update_function_configuration(FunctionName="fid-fn", Timeout=30)
    lam.delete_function(FunctionName="fid-fn")


def _ec2(c: Callable[[str], Any]) -> None:
    ec2 = c("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ec2.describe_vpcs(VpcIds=[vpc])
    sub = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="fid-sg", Description="fidelity", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.create_key_pair(KeyName="fid-key")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    inst = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                             SubnetId=sub)["Instances"][0]["InstanceId"]
    ec2.describe_instances(InstanceIds=[inst])
    ec2.create_tags(Resources=[inst], Tags=[{"Key": "team", "Value": "audit"}])
    ec2.stop_instances(InstanceIds=[inst])
    ec2.terminate_instances(InstanceIds=[inst])


def _kms(c: Callable[[str], Any]) -> None:
    kms = c("kms")
    key = kms.create_key(Description="fidelity")["KeyMetadata"]["KeyId"]
    context = {"PARAMETER_ARN": "arn:aws:ssm:us-east-1:123456789012:parameter/fid"}
    blob = kms.encrypt(KeyId=key, Plaintext=b"secret", EncryptionContext=context,
                       EncryptionAlgorithm="SYMMETRIC_DEFAULT")["CiphertextBlob"]
    kms.decrypt(CiphertextBlob=blob, EncryptionContext=context, EncryptionAlgorithm="SYMMETRIC_DEFAULT")
    kms.generate_data_key(KeyId=key, KeySpec="AES_256")
    kms.disable_key(KeyId=key)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)


def _secrets(c: Callable[[str], Any]) -> None:
    sm = c("secretsmanager")
    sm.create_secret(Name="fid-secret", SecretString="s3cr3t")
    sm.describe_secret(SecretId="fid-secret")
    sm.get_secret_value(SecretId="fid-secret")
    sm.put_secret_value(SecretId="fid-secret", SecretString="n3w")
    sm.list_secrets()
    sm.delete_secret(SecretId="fid-secret", ForceDeleteWithoutRecovery=True)


def _ssm(c: Callable[[str], Any]) -> None:
    ssm = c("ssm")
    ssm.put_parameter(Name="/fid/param", Value="v", Type="SecureString")
    ssm.get_parameter(Name="/fid/param", WithDecryption=True)
    ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": ["/fid/param"]}],
                            Shared=False)
    ssm.delete_parameter(Name="/fid/param")


def _dynamodb(c: Callable[[str], Any]) -> None:
    ddb = c("dynamodb")
    ddb.create_table(TableName="fid-table", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.describe_table(TableName="fid-table")


def _logs(c: Callable[[str], Any]) -> None:
    logs = c("logs")
    logs.create_log_group(logGroupName="fid-group")
    logs.describe_log_groups(logGroupNamePrefix="fid-")
    logs.delete_log_group(logGroupName="fid-group")


def _sqs(c: Callable[[str], Any]) -> None:
    sqs = c("sqs")
    url = sqs.create_queue(QueueName="fid-queue")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "60"})


#: Every group of calls, in the order they run.
CALLS: tuple[Callable[[Callable[[str], Any]], None], ...] = (
    _s3, _iam, _sts, _lambda, _ec2, _kms, _secrets, _ssm, _dynamodb, _logs, _sqs)
