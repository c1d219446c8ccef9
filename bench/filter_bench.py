"""Benchmark ``lambdakit.filtering`` against moto's matcher and a hand-written predicate.

A fixed corpus: 20 event-filter patterns of realistic shape (EventBridge rules on AWS service
events, CloudTrail, custom application events, and Lambda FilterCriteria on SQS, DynamoDB and
Kinesis records), each with events generated from a fixed seed (``random.Random``): every event is
built to match the pattern, then half of them are perturbed (a field changed, removed, or moved
to another array element) so that about half match. Each library compiles a pattern once,
outside the timed loops; a timed loop is ``sum(map(match, events))`` over the whole event list
(timeit-style: garbage collection off while it runs), and each figure is the median of several
runs, lambdakit's and the peer's runs alternating.

Rows:

1. One per pattern, lambdakit (``compile_pattern(p).matches(event)``) against moto
   (``moto.events.models.EventPattern.load(pattern_json).matches_event(event)``), in events
   evaluated per second. moto is slow, so it is timed on the first events of each corpus
   (``moto_events``). Target: lambdakit's time per event <= 0.1x moto's (10x the throughput).
   A pattern that moto's ``load`` or ``matches_event`` raises on is "unsupported by moto" (no
   target).
2. The 3-field pattern ``{"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change
   Notification"], "detail": {"state": ["running", "stopped"]}}`` against a hand-written Python
   predicate for it (the floor). Target: lambdakit's time <= 2x the predicate's.

Checks (a failure stops the run with exit status 1): on every corpus, lambdakit matches between
30% and 70% of the events, gives on every event the answer the generator built it for (each
perturbation is one that breaks the match under AWS's semantics), and gives the same answers
from run to run; on the 3-field corpus lambdakit agrees with the hand-written predicate on every
event. moto's answers are compared
with lambdakit's on every event of each corpus, and the disagreements are reported in the notes,
not checked: moto's matcher departs from AWS's semantics in places (it does not look inside
arrays of objects, for instance). The notes also give each corpus's match fraction and any
regular-expression or JSON calls lambdakit makes while matching (counted with cProfile on a
sample; there should be none).

Run with ``make bench`` or ``.venv/bin/python bench/filter_bench.py``; ``--quick`` is a smaller
smoke run (a few seconds), ``--markdown`` prints the table as Markdown for the docs. Exits
non-zero only when a correctness check fails; a missed target is reported, not fatal.
"""

from __future__ import annotations

import cProfile
import gc
import json
import pstats
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from _report import Row, arguments, check, print_header, render

from lambdakit.filtering import compile_pattern

Event = dict[str, Any]
Matcher = Callable[[Any], bool]
Perturbation = tuple[str | None, Callable[[random.Random, Any], Any]]

SEED = 20240611
ACCOUNT = "123456789012"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
PROFILE_EVENTS = 500  # events per corpus matched under cProfile, looking for regex/JSON calls
HEADER = ["case", "lambdakit", "peer", "ratio (lk/peer time)", "target", "met?"]


@dataclass(frozen=True)
class Sizes:
    events: int  # per pattern, matched by lambdakit and the predicate
    moto_events: int  # the first events of each corpus, timed with moto
    reps: int  # timed runs per library and pattern (medians)


FULL = Sizes(events=10_000, moto_events=1_000, reps=7)
QUICK = Sizes(events=2_000, moto_events=200, reps=3)


# --- building events -----------------------------------------------------------------------------


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE: Any = _Delete()


def one_of(*choices: Any) -> Callable[[random.Random, Any], Any]:
    """A perturbation: replace the field with one of ``choices``."""
    return lambda rng, old: rng.choice(choices)


def delete(rng: random.Random, old: Any) -> Any:
    """A perturbation: remove the field."""
    return DELETE


def set_path(event: Any, path: str, change: Callable[[random.Random, Any], Any], rng: Any) -> None:
    """Replace (or remove) the value at dotted ``path``; integer segments index lists."""
    *parents, last = path.split(".")
    node = event
    for segment in parents:
        node = node[int(segment)] if isinstance(node, list) else node[segment]
    new = change(rng, node.get(last))
    if new is DELETE:
        node.pop(last, None)
    else:
        node[last] = new


def hexid(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(4 * digits):0{digits}x}"


def uuid(rng: random.Random) -> str:
    h = hexid(rng, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def timestamp(rng: random.Random) -> str:
    return (
        f"2024-06-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
        f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"
    )


def public_ip(rng: random.Random) -> str:
    first = rng.choice((3, 18, 34, 52, 54, 203))
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def instance_id(rng: random.Random) -> str:
    return f"i-{hexid(rng, 17)}"


def envelope(
    rng: random.Random,
    source: str,
    detail_type: str,
    detail: dict[str, Any],
    resources: list[str] | None = None,
) -> Event:
    """An EventBridge event as delivered to a rule."""
    return {
        "version": "0",
        "id": uuid(rng),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": timestamp(rng),
        "region": rng.choice(REGIONS),
        "resources": resources if resources is not None else [],
        "detail": detail,
    }


def cloudtrail(
    rng: random.Random,
    source: str,
    event_source: str,
    event_name: str,
    *,
    detail_type: str = "AWS API Call via CloudTrail",
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    issuer: str | None = None,
    ip: str | None = None,
) -> Event:
    """A CloudTrail record delivered through EventBridge, its identity an assumed role unless
    ``issuer`` is None and the coin says IAM user."""
    role = issuer or rng.choice(("ci-deployer", "ops-oncall", "data-pipeline"))
    identity: dict[str, Any] = {
        "type": "AssumedRole",
        "principalId": f"AROA{hexid(rng, 16).upper()}:{role}-session",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{role}-session",
        "accountId": ACCOUNT,
        "accessKeyId": f"ASIA{hexid(rng, 16).upper()}",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": f"AROA{hexid(rng, 16).upper()}",
                "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                "accountId": ACCOUNT,
                "userName": role,
            },
            "attributes": {"creationDate": timestamp(rng), "mfaAuthenticated": "false"},
        },
    }
    region = rng.choice(REGIONS)
    detail = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": timestamp(rng),
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": ip or public_ip(rng),
        "userAgent": rng.choice(("aws-cli/2.15.30", "Boto3/1.34.0", "console.amazonaws.com")),
        "requestParameters": request,
        "responseElements": response,
        "requestID": uuid(rng),
        "eventID": uuid(rng),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    return envelope(rng, source, detail_type, detail)


# --- the corpus ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A pattern, a builder of events that match it, and ways to make one not match."""

    name: str
    pattern: dict[str, Any]
    make: Callable[[random.Random], Event]
    perturbations: list[Perturbation]

    def corpus(self, count: int) -> tuple[list[Event], list[bool]]:
        """``count`` events, and whether each was built to match (every perturbation is
        meant to break the match)."""
        rng = random.Random(f"{SEED}:{self.name}")
        events, labels = [], []
        for _ in range(count):
            event = self.make(rng)
            perturb = rng.random() < 0.5
            if perturb:
                path, change = rng.choice(self.perturbations)
                if path is None:
                    change(rng, event)
                else:
                    set_path(event, path, change, rng)
            events.append(event)
            labels.append(not perturb)
        return events, labels


EC2_STATE = {
    "source": ["aws.ec2"],
    "detail-type": ["EC2 Instance State-change Notification"],
    "detail": {"state": ["running", "stopped"]},
}
EC2_STATES = ("running", "stopped")


def ec2_predicate(event: Any) -> bool:
    """The 3-field pattern written by hand, as one would for events of this shape."""
    if event.get("source") != "aws.ec2":
        return False
    if event.get("detail-type") != "EC2 Instance State-change Notification":
        return False
    detail = event.get("detail")
    return type(detail) is dict and detail.get("state") in EC2_STATES


def make_ec2_state(rng: random.Random) -> Event:
    instance = instance_id(rng)
    region = rng.choice(REGIONS)
    return envelope(
        rng,
        "aws.ec2",
        "EC2 Instance State-change Notification",
        {"instance-id": instance, "state": rng.choice(EC2_STATES)},
        [f"arn:aws:ec2:{region}:{ACCOUNT}:instance/{instance}"],
    )


def s3_object_created(rng: random.Random, bucket: str, key: str) -> Event:
    return envelope(
        rng,
        "aws.s3",
        "Object Created",
        {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {
                "key": key,
                "size": rng.randint(1, 50_000_000),
                "etag": hexid(rng, 32),
                "version-id": hexid(rng, 32),
                "sequencer": hexid(rng, 18).upper(),
            },
            "request-id": hexid(rng, 16).upper(),
            "requester": ACCOUNT,
            "source-ip-address": public_ip(rng),
            "reason": rng.choice(("PutObject", "CompleteMultipartUpload")),
        },
        [f"arn:aws:s3:::{bucket}"],
    )


def make_s3_prefix(rng: random.Random) -> Event:
    key = f"incoming/{rng.choice(('alice', 'bob', 'carol'))}/{hexid(rng, 12)}.csv"
    return s3_object_created(rng, "acme-uploads", key)


def make_s3_suffix(rng: random.Random) -> Event:
    ext = rng.choice((".jpg", ".jpeg", ".png"))
    bucket = rng.choice(("acme-media", "acme-uploads"))
    return s3_object_created(rng, bucket, f"photos/{rng.randint(2019, 2024)}/{hexid(rng, 10)}{ext}")


IAM_WRITES = (
    "CreateUser",
    "DeleteUser",
    "AttachUserPolicy",
    "PutUserPolicy",
    "CreateAccessKey",
    "UpdateAssumeRolePolicy",
)


def make_iam_call(rng: random.Random) -> Event:
    user = f"svc-{hexid(rng, 6)}"
    return cloudtrail(
        rng,
        "aws.iam",
        "iam.amazonaws.com",
        rng.choice(IAM_WRITES),
        request={"userName": user},
        response={"user": {"userName": user, "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}"}},
    )


def make_order(rng: random.Random) -> Event:
    return envelope(
        rng,
        "com.acme.orders",
        "OrderPlaced",
        {
            "orderId": f"ord-{hexid(rng, 10)}",
            "customer": {"id": f"cus-{hexid(rng, 8)}", "tier": rng.choice(("gold", "silver"))},
            "amount": round(rng.uniform(100, 4999.99), 2),
            "quantity": rng.randint(1, 20),
            "currency": rng.choice(("USD", "EUR")),
            "channel": rng.choice(("web", "mobile", "store")),
        },
    )


def make_asg(rng: random.Random) -> Event:
    instance = instance_id(rng)
    group = f"{rng.choice(('prod', 'web', 'batch'))}-asg-{rng.randint(1, 40)}"
    detail_type = rng.choice(
        (
            "EC2 Instance Launch Successful",
            "EC2 Instance Terminate Successful",
            "EC2 Instance-launch Lifecycle Action",
        )
    )
    return envelope(
        rng,
        "aws.autoscaling",
        detail_type,
        {
            "StatusCode": "InProgress",
            "AutoScalingGroupName": group,
            "ActivityId": uuid(rng),
            "Details": {"Availability Zone": "us-east-1b", "Subnet ID": f"subnet-{hexid(rng, 8)}"},
            "RequestId": uuid(rng),
            "EC2InstanceId": instance,
            "StatusMessage": "",
            "Cause": "At 2024-06-07T12:00:00Z an instance was started in response to a "
            "difference between desired and actual capacity.",
            "StartTime": timestamp(rng),
            "EndTime": timestamp(rng),
        },
        [f"arn:aws:autoscaling:us-east-1:{ACCOUNT}:autoScalingGroup:{uuid(rng)}:{group}"],
    )


def make_guardduty(rng: random.Random) -> Event:
    return envelope(
        rng,
        "aws.guardduty",
        "GuardDuty Finding",
        {
            "schemaVersion": "2.0",
            "accountId": ACCOUNT,
            "id": hexid(rng, 32),
            "type": "UnauthorizedAccess:EC2/SSHBruteForce",
            "severity": rng.choice((7, 7.5, 8, 8.9)),
            "resource": {
                "resourceType": "Instance",
                "instanceDetails": {
                    "instanceId": instance_id(rng),
                    "instanceType": rng.choice(("t3.micro", "m5.large")),
                    "tags": [{"key": "team", "value": "web"}],
                },
            },
            "service": {
                "serviceName": "guardduty",
                "archived": False,
                "count": rng.randint(1, 50),
                "action": {"actionType": "NETWORK_CONNECTION"},
            },
        },
    )


def make_console_login(rng: random.Random) -> Event:
    ip = rng.choice(
        (
            f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        )
    )
    return cloudtrail(
        rng,
        "aws.signin",
        "signin.amazonaws.com",
        "ConsoleLogin",
        detail_type="AWS Console Sign In via CloudTrail",
        response={"ConsoleLogin": "Success"},
        ip=ip,
    )


def make_tag_change(rng: random.Random) -> Event:
    name = rng.choice(("orders", "billing", "search", "auth"))
    region = rng.choice(REGIONS)
    arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:prod-{name}-{hexid(rng, 4)}"
    return envelope(
        rng,
        "aws.tag",
        "Tag Change on Resource",
        {
            "changed-tag-keys": ["owner"],
            "service": "lambda",
            "resource-type": "function",
            "version": rng.randint(1, 30),
            "tags": {"owner": rng.choice(("team-a", "team-b")), "env": "prod"},
        },
        [arn],
    )


def make_failed_login(rng: random.Random) -> Event:
    event = cloudtrail(
        rng,
        "aws.signin",
        "signin.amazonaws.com",
        rng.choice(("ConsoleLogin", "consolelogin", "CONSOLELOGIN")),
        detail_type=rng.choice(
            ("AWS Console Sign In via CloudTrail", "AWS CONSOLE SIGN IN VIA CLOUDTRAIL")
        ),
        response={"ConsoleLogin": rng.choice(("Failure", "FAILURE", "failure"))},
    )
    event["detail"]["errorMessage"] = "Failed authentication"
    return event


def make_alarm(rng: random.Random) -> Event:
    if rng.random() < 0.5:
        name, value = f"{rng.choice(('web', 'db', 'queue'))}-latency-{rng.randint(1, 9)}", "ALARM"
    else:
        name, value = (
            f"critical-{rng.choice(('disk', 'cpu'))}-{rng.randint(1, 9)}",
            "INSUFFICIENT_DATA",
        )
    return envelope(
        rng,
        "aws.cloudwatch",
        "CloudWatch Alarm State Change",
        {
            "alarmName": name,
            "state": {
                "value": value,
                "reason": "Threshold Crossed: 1 datapoint was greater than the threshold (80.0).",
                "timestamp": timestamp(rng),
            },
            "previousState": {"value": "OK", "timestamp": timestamp(rng)},
            "configuration": {"description": "p99 latency", "metrics": []},
        },
        [f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{name}"],
    )


def alarm_back_to_insufficient(rng: random.Random, event: Event) -> None:
    event["detail"]["alarmName"] = "web-latency-1"
    event["detail"]["state"]["value"] = "INSUFFICIENT_DATA"


def make_bucket_policy(rng: random.Random) -> Event:
    bucket = f"acme-{rng.choice(('data', 'logs', 'backups'))}"
    return cloudtrail(
        rng,
        "aws.s3",
        "s3.amazonaws.com",
        rng.choice(("PutBucketPolicy", "DeleteBucketPolicy", "PutBucketAcl")),
        request={"bucketName": bucket, "Host": f"{bucket}.s3.amazonaws.com"},
        issuer=rng.choice(("OrganizationAccountAccessRole", "admin-break-glass")),
    )


def spot_arn(number: int) -> str:
    return f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0a1b2c3d4e5f6{number:04d}"


WATCHED_INSTANCES = [spot_arn(n) for n in range(8)]


def make_spot_warning(rng: random.Random) -> Event:
    arn = rng.choice(WATCHED_INSTANCES)
    return envelope(
        rng,
        "aws.ec2",
        rng.choice(
            ("EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation")
        ),
        {"instance-id": arn.rpartition("/")[2], "instance-action": "terminate"},
        [arn],
    )


def make_sqs_record(rng: random.Random) -> Event:
    body = {
        "type": rng.choice(("order.created", "order.updated")),
        "order": {
            "id": f"ord-{hexid(rng, 10)}",
            "total": round(rng.uniform(50.01, 900), 2),
            "channel": rng.choice(("web", "mobile")),
            "lines": rng.randint(1, 6),
        },
        "sentAt": timestamp(rng),
    }
    return {
        "messageId": uuid(rng),
        "receiptHandle": "AQEB" + hexid(rng, 40),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(rng.randint(1_700_000_000_000, 1_800_000_000_000)),
            "SenderId": f"AIDA{hexid(rng, 16).upper()}",
            "ApproximateFirstReceiveTimestamp": str(
                rng.randint(1_700_000_000_000, 1_800_000_000_000)
            ),
        },
        "messageAttributes": {},
        "md5OfBody": hexid(rng, 32),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders",
        "awsRegion": "us-east-1",
    }


def make_dynamodb_record(rng: random.Random) -> Event:
    pk = f"ACCOUNT#{hexid(rng, 8)}"
    return {
        "eventID": hexid(rng, 32),
        "eventName": rng.choice(("INSERT", "MODIFY")),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": rng.randint(1_700_000_000, 1_800_000_000),
            "Keys": {"pk": {"S": pk}},
            "NewImage": {
                "pk": {"S": pk},
                "status": {"S": "ACTIVE"},
                "plan": {"S": rng.choice(("pro", "enterprise"))},
                "seats": {"N": str(rng.randint(1, 500))},
            },
            "SequenceNumber": str(rng.getrandbits(64)),
            "SizeBytes": rng.randint(50, 400),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/accounts/stream/2024-06-01",
    }


def make_kinesis_record(rng: random.Random) -> Event:
    return {
        "kinesisSchemaVersion": "1.0",
        "partitionKey": hexid(rng, 8),
        "sequenceNumber": str(rng.getrandbits(96)),
        "data": {
            "sensor": f"rack-{rng.randint(1, 99)}",
            "temperature": round(rng.uniform(30.5, 60), 1),
            "unit": "C",
            "readAt": timestamp(rng),
        },
        "approximateArrivalTimestamp": rng.uniform(1.7e9, 1.8e9),
        "eventSource": "aws:kinesis",
        "eventSourceARN": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/telemetry",
    }


def make_codebuild(rng: random.Random) -> Event:
    project = f"{rng.choice(('api', 'web', 'worker'))}-prod-{rng.choice(('build', 'deploy'))}"
    return envelope(
        rng,
        "aws.codebuild",
        "CodeBuild Build State Change",
        {
            "build-status": rng.choice(("FAILED", "STOPPED")),
            "project-name": project,
            "build-id": f"arn:aws:codebuild:us-east-1:{ACCOUNT}:build/{project}:{uuid(rng)}",
            "current-phase": "COMPLETED",
            "version": "1",
        },
        [f"arn:aws:codebuild:us-east-1:{ACCOUNT}:build/{project}:{uuid(rng)}"],
    )


def make_api_request(rng: random.Random) -> Event:
    return envelope(
        rng,
        "com.acme.api",
        "Request Completed",
        {
            "status": rng.choice((500, 502, 503, 504)),
            "method": rng.choice(("GET", "POST", "PUT")),
            "path": f"/api/v1/{rng.choice(('orders', 'users', 'carts'))}/{rng.randint(1, 99999)}",
            "latencyMs": rng.randint(1, 3000),
            "requestId": uuid(rng),
        },
    )


GPU_TYPES = ("p4d.24xlarge", "p5.48xlarge")


def make_run_instances(rng: random.Random) -> Event:
    items = [
        {
            "instanceId": instance_id(rng),
            "imageId": f"ami-{hexid(rng, 17)}",
            "instanceType": rng.choice(("m5.large", "c6g.xlarge", "t3.micro")),
            "placement": {"availabilityZone": "us-east-1a", "tenancy": "default"},
        }
        for _ in range(rng.randint(1, 3))
    ]
    rng.choice(items)["instanceType"] = rng.choice(GPU_TYPES)
    return cloudtrail(
        rng,
        "aws.ec2",
        "ec2.amazonaws.com",
        "RunInstances",
        request={"instanceType": "mixed", "minCount": 1, "maxCount": len(items)},
        response={"reservationId": f"r-{hexid(rng, 17)}", "instancesSet": {"items": items}},
    )


def no_gpu(rng: random.Random, event: Event) -> None:
    for item in event["detail"]["responseElements"]["instancesSet"]["items"]:
        item["instanceType"] = "m5.large"


def finding(rng: random.Random, label: str, status: str, state: str) -> dict[str, Any]:
    return {
        "SchemaVersion": "2018-10-08",
        "Id": f"arn:aws:securityhub:us-east-1:{ACCOUNT}:finding/{uuid(rng)}",
        "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/guardduty",
        "Title": "EC2 instance is communicating with a known malicious IP",
        "Severity": {"Label": label, "Normalized": {"CRITICAL": 90, "HIGH": 70}.get(label, 30)},
        "Workflow": {"Status": status},
        "RecordState": state,
        "Resources": [{"Type": "AwsEc2Instance", "Id": instance_id(rng)}],
    }


def make_securityhub(rng: random.Random) -> Event:
    findings = [finding(rng, "LOW", "RESOLVED", "ACTIVE") for _ in range(rng.randint(0, 2))]
    findings.insert(
        rng.randint(0, len(findings)),
        finding(rng, rng.choice(("CRITICAL", "HIGH")), "NEW", "ACTIVE"),
    )
    return envelope(
        rng,
        "aws.securityhub",
        "Security Hub Findings - Imported",
        {"findings": findings},
        [f["Id"] for f in findings],
    )


def findings_split(rng: random.Random, event: Event) -> None:
    """Every field the pattern wants is present, but never all in one finding."""
    event["detail"]["findings"] = [
        finding(rng, "CRITICAL", "RESOLVED", "ACTIVE"),
        finding(rng, "LOW", "NEW", "ACTIVE"),
    ]


def findings_low(rng: random.Random, event: Event) -> None:
    for f in event["detail"]["findings"]:
        f["Severity"]["Label"] = "LOW"


def findings_archived(rng: random.Random, event: Event) -> None:
    for f in event["detail"]["findings"]:
        f["RecordState"] = "ARCHIVED"


def swap_extension(rng: random.Random, key: str) -> str:
    return key.rpartition(".")[0] + rng.choice((".gif", ".JPG", ".jpg.tmp", ".pdf"))


CASES = [
    Case(
        "ec2-state-change (3 fields)",
        EC2_STATE,
        make_ec2_state,
        [
            ("source", one_of("aws.autoscaling", "aws.ec2x", "AWS.EC2")),
            (
                "detail-type",
                one_of(
                    "EC2 Spot Instance Interruption Warning",
                    "ec2 instance state-change notification",
                ),
            ),
            (
                "detail.state",
                one_of("pending", "stopping", "shutting-down", "terminated", "Running"),
            ),
            ("detail.state", delete),
            ("detail", delete),
        ],
    ),
    Case(
        "s3-created, key prefix + size",
        {
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {
                "bucket": {"name": ["acme-uploads"]},
                "object": {"key": [{"prefix": "incoming/"}], "size": [{"numeric": [">", 0]}]},
            },
        },
        make_s3_prefix,
        [
            ("detail.bucket.name", one_of("acme-logs", "acme-uploads-dev")),
            ("detail.object.key", lambda rng, key: key.replace("incoming/", "archive/")),
            ("detail.object.key", lambda rng, key: key.replace("incoming/", "Incoming/")),
            ("detail.object.size", one_of(0)),
            ("detail-type", one_of("Object Deleted", "Object Restore Completed")),
        ],
    ),
    Case(
        "s3-created, key suffixes",
        {
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {
                "object": {"key": [{"suffix": ".jpg"}, {"suffix": ".jpeg"}, {"suffix": ".png"}]},
                "reason": ["PutObject", "CompleteMultipartUpload"],
            },
        },
        make_s3_suffix,
        [
            ("detail.object.key", swap_extension),
            ("detail.object.key", swap_extension),
            ("detail.reason", one_of("CopyObject")),
            ("source", one_of("aws.s3.replica")),
        ],
    ),
    Case(
        "cloudtrail iam eventName list",
        {
            "source": ["aws.iam"],
            "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {"eventSource": ["iam.amazonaws.com"], "eventName": list(IAM_WRITES)},
        },
        make_iam_call,
        [
            ("detail.eventName", one_of("GetUser", "ListUsers", "createuser", "CreateRole")),
            ("detail.eventSource", one_of("sts.amazonaws.com")),
            ("detail.eventName", delete),
        ],
    ),
    Case(
        "orders numeric ranges",
        {
            "source": ["com.acme.orders"],
            "detail-type": ["OrderPlaced"],
            "detail": {
                "amount": [{"numeric": [">=", 100, "<", 5000]}],
                "quantity": [{"numeric": [">", 0]}],
                "currency": ["USD", "EUR"],
            },
        },
        make_order,
        [
            ("detail.amount", lambda rng, old: round(rng.uniform(0, 99.99), 2)),
            ("detail.amount", one_of(5000, 12000.5)),
            ("detail.amount", lambda rng, old: str(old)),
            ("detail.quantity", one_of(0, -1)),
            ("detail.currency", one_of("GBP", "usd")),
        ],
    ),
    Case(
        "autoscaling anything-but",
        {
            "source": ["aws.autoscaling"],
            "detail-type": [
                {
                    "anything-but": [
                        "EC2 Instance Launch Unsuccessful",
                        "EC2 Instance Terminate Unsuccessful",
                    ]
                }
            ],
            "detail": {"AutoScalingGroupName": [{"anything-but": {"prefix": "test-"}}]},
        },
        make_asg,
        [
            (
                "detail-type",
                one_of("EC2 Instance Launch Unsuccessful", "EC2 Instance Terminate Unsuccessful"),
            ),
            ("detail.AutoScalingGroupName", lambda rng, old: f"test-{old}"),
            ("detail.AutoScalingGroupName", delete),
        ],
    ),
    Case(
        "guardduty exists + numeric + bool",
        {
            "source": ["aws.guardduty"],
            "detail-type": ["GuardDuty Finding"],
            "detail": {
                "severity": [{"numeric": [">=", 7]}],
                "resource": {"instanceDetails": {"instanceId": [{"exists": True}]}},
                "service": {"archived": [False]},
            },
        },
        make_guardduty,
        [
            ("detail.severity", lambda rng, old: round(rng.uniform(1, 6.9), 1)),
            (
                "detail.resource",
                one_of({"resourceType": "AccessKey", "accessKeyDetails": {"userName": "bob"}}),
            ),
            ("detail.resource.instanceDetails.instanceId", delete),
            ("detail.service.archived", one_of(True)),
        ],
    ),
    Case(
        "console sign-in cidr",
        {
            "detail-type": ["AWS Console Sign In via CloudTrail"],
            "detail": {
                "eventName": ["ConsoleLogin"],
                "sourceIPAddress": [{"cidr": "10.0.0.0/8"}, {"cidr": "192.168.0.0/16"}],
            },
        },
        make_console_login,
        [
            ("detail.sourceIPAddress", lambda rng, old: public_ip(rng)),
            ("detail.sourceIPAddress", lambda rng, old: f"172.16.{rng.randint(0, 255)}.7"),
            ("detail.sourceIPAddress", one_of("AWS Internal", "2001:db8::1")),
            ("detail.eventName", one_of("CheckMfa")),
        ],
    ),
    Case(
        "tag change, wildcard on ARN",
        {
            "source": ["aws.tag"],
            "detail-type": ["Tag Change on Resource"],
            "resources": [{"wildcard": "arn:aws:lambda:*:123456789012:function:prod-*"}],
            "detail": {"service": ["lambda"]},
        },
        make_tag_change,
        [
            (
                "resources",
                lambda rng, old: [old[0].replace(":function:prod-", ":function:staging-")],
            ),
            ("resources", lambda rng, old: [old[0].replace(ACCOUNT, "210987654321")]),
            ("resources", lambda rng, old: [old[0].replace(":function:", ":layer:")]),
            ("detail.service", one_of("ec2")),
        ],
    ),
    Case(
        "failed sign-in equals-ignore-case",
        {
            "source": ["aws.signin"],
            "detail-type": [{"equals-ignore-case": "aws console sign in via cloudtrail"}],
            "detail": {
                "eventName": [{"equals-ignore-case": "consolelogin"}],
                "responseElements": {"ConsoleLogin": [{"equals-ignore-case": "failure"}]},
            },
        },
        make_failed_login,
        [
            ("detail.responseElements.ConsoleLogin", one_of("Success", "SUCCESS")),
            ("detail.eventName", one_of("CheckMfa", "ConsoleLogout")),
            ("detail-type", one_of("AWS API Call via CloudTrail")),
        ],
    ),
    Case(
        "cloudwatch alarm $or",
        {
            "source": ["aws.cloudwatch"],
            "detail-type": ["CloudWatch Alarm State Change"],
            "$or": [
                {"detail": {"state": {"value": ["ALARM"]}}},
                {
                    "detail": {
                        "alarmName": [{"prefix": "critical-"}],
                        "state": {"value": ["INSUFFICIENT_DATA"]},
                    }
                },
            ],
        },
        make_alarm,
        [
            ("detail.state.value", one_of("OK")),
            (None, alarm_back_to_insufficient),
            ("source", one_of("aws.events")),
        ],
    ),
    Case(
        "cloudtrail nested 4 deep",
        {
            "source": ["aws.s3"],
            "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {
                "eventName": ["PutBucketPolicy", "DeleteBucketPolicy", "PutBucketAcl"],
                "userIdentity": {
                    "type": ["AssumedRole"],
                    "sessionContext": {
                        "sessionIssuer": {
                            "userName": ["OrganizationAccountAccessRole", "admin-break-glass"]
                        }
                    },
                },
            },
        },
        make_bucket_policy,
        [
            ("detail.userIdentity.sessionContext.sessionIssuer.userName", one_of("ci-deployer")),
            ("detail.userIdentity.sessionContext", delete),
            ("detail.userIdentity.type", one_of("IAMUser", "Root")),
            ("detail.eventName", one_of("GetBucketPolicy", "ListBuckets")),
        ],
    ),
    Case(
        "spot warning, resource ARN list",
        {
            "source": ["aws.ec2"],
            "detail-type": [
                "EC2 Spot Instance Interruption Warning",
                "EC2 Instance Rebalance Recommendation",
            ],
            "resources": WATCHED_INSTANCES,
        },
        make_spot_warning,
        [
            ("resources", lambda rng, old: [spot_arn(rng.randint(8, 9999))]),
            ("resources", one_of([])),
            ("detail-type", one_of("EC2 Instance State-change Notification")),
        ],
    ),
    Case(
        "lambda sqs body",
        {
            "body": {
                "type": ["order.created", "order.updated"],
                "order": {
                    "total": [{"numeric": [">", 50]}],
                    "channel": [{"anything-but": ["test"]}],
                },
            }
        },
        make_sqs_record,
        [
            ("body.type", one_of("order.cancelled", "payment.captured")),
            ("body.order.total", lambda rng, old: round(rng.uniform(0, 50), 2)),
            ("body.order.channel", one_of("test")),
            ("body.order", delete),
        ],
    ),
    Case(
        "lambda dynamodb stream NewImage",
        {
            "eventName": ["INSERT", "MODIFY"],
            "dynamodb": {
                "NewImage": {"status": {"S": ["ACTIVE"]}, "plan": {"S": ["pro", "enterprise"]}}
            },
        },
        make_dynamodb_record,
        [
            ("eventName", one_of("REMOVE")),
            ("dynamodb.NewImage.status.S", one_of("SUSPENDED", "CLOSED")),
            ("dynamodb.NewImage.plan.S", one_of("free")),
            ("dynamodb.NewImage", delete),
        ],
    ),
    Case(
        "lambda kinesis data",
        {
            "data": {
                "sensor": [{"prefix": "rack-"}],
                "temperature": [{"numeric": [">", 30]}],
                "unit": ["C"],
            }
        },
        make_kinesis_record,
        [
            ("data.temperature", lambda rng, old: round(rng.uniform(-5, 30), 1)),
            ("data.sensor", one_of("hall-3", "door-1")),
            ("data.unit", one_of("F")),
        ],
    ),
    Case(
        "codebuild wildcard project",
        {
            "source": ["aws.codebuild"],
            "detail-type": ["CodeBuild Build State Change"],
            "detail": {
                "build-status": ["FAILED", "STOPPED"],
                "project-name": [{"wildcard": "*-prod-*"}],
            },
        },
        make_codebuild,
        [
            ("detail.build-status", one_of("SUCCEEDED", "IN_PROGRESS")),
            ("detail.project-name", lambda rng, old: old.replace("-prod-", "-staging-")),
            ("detail.project-name", lambda rng, old: old.replace("-prod-", "-prod")),
        ],
    ),
    Case(
        "api 5xx numbers + prefix",
        {
            "source": ["com.acme.api"],
            "detail-type": ["Request Completed"],
            "detail": {
                "status": [500, 502, 503, 504],
                "path": [{"prefix": "/api/"}],
                "method": [{"anything-but": "OPTIONS"}],
            },
        },
        make_api_request,
        [
            ("detail.status", one_of(200, 404, 429)),
            ("detail.status", lambda rng, old: str(old)),
            ("detail.path", one_of("/health", "/static/app.js")),
            ("detail.method", one_of("OPTIONS")),
        ],
    ),
    Case(
        "runinstances array of objects",
        {
            "source": ["aws.ec2"],
            "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {
                "eventName": ["RunInstances"],
                "responseElements": {"instancesSet": {"items": {"instanceType": list(GPU_TYPES)}}},
            },
        },
        make_run_instances,
        [
            (None, no_gpu),
            (None, no_gpu),
            ("detail.eventName", one_of("StartInstances")),
        ],
    ),
    Case(
        "securityhub findings array",
        {
            "source": ["aws.securityhub"],
            "detail-type": ["Security Hub Findings - Imported"],
            "detail": {
                "findings": {
                    "Severity": {"Label": ["CRITICAL", "HIGH"]},
                    "Workflow": {"Status": ["NEW"]},
                    "RecordState": ["ACTIVE"],
                }
            },
        },
        make_securityhub,
        [
            (None, findings_split),
            (None, findings_low),
            (None, findings_archived),
        ],
    ),
]


# --- measuring -----------------------------------------------------------------------------------


def run_once(match: Matcher, events: list[Event]) -> tuple[float, int]:
    """Seconds for one pass of ``match`` over ``events`` (GC off, as timeit does), and hits."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        hits = sum(map(match, events))
        return time.perf_counter() - start, hits
    finally:
        if gc_was_enabled:
            gc.enable()


def compare(matchers: list[tuple[str, Matcher, list[Event], int]], reps: int) -> list[float]:
    """Median seconds per event for each (name, matcher, events, expected hits), runs
    alternating between the matchers."""
    times: list[list[float]] = [[] for _ in matchers]
    for _ in range(reps):
        for slot, (name, match, events, expected) in enumerate(matchers):
            seconds, hits = run_once(match, events)
            check(hits == expected, f"{name} matched {hits} events, then {expected}")
            times[slot].append(seconds / len(events))
    return [statistics.median(t) for t in times]


def answers(match: Matcher, events: list[Event], who: str, case: str) -> list[bool]:
    try:
        return [bool(match(event)) for event in events]
    except Exception as exc:
        if who == "lambdakit":
            check(False, f"{case}: lambdakit's matches() raised {exc!r}")
        raise


def moto_matcher(pattern: dict[str, Any]) -> Matcher:
    from moto.events.models import EventPattern

    return EventPattern.load(json.dumps(pattern)).matches_event  # type: ignore[no-any-return]


def per_match_calls(match: Matcher, events: list[Event]) -> Counter[str]:
    """Regular-expression and JSON functions called while matching ``events`` (calls, by name)."""
    profiler = cProfile.Profile()
    profiler.enable()
    sum(map(match, events))
    profiler.disable()
    found: Counter[str] = Counter()
    for (filename, _, name), (_, calls, *_) in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
        where = filename.replace("\\", "/")
        if "re.Pattern" in name:  # "<method 'fullmatch' of 're.Pattern' objects>"
            found[f"re.Pattern.{name.split(chr(39))[1]}"] += calls
        elif "/re/" in where or "/sre_" in where:
            found[f"re.{name}"] += calls
        elif "/json/" in where or "_json" in name:
            found[f"json {name.strip('<>')}"] += calls
        elif where.endswith("/ipaddress.py") and name == "__init__":
            found["ipaddress parse (address __init__)"] += calls
    return found


@dataclass(frozen=True)
class Throughput(Row):
    """A row whose measurements are seconds per event (so ``ratio`` and ``target`` read as
    lambdakit / peer time, as in the other benchmarks), shown as events per second."""

    peer: str = ""
    peer_missing: str | None = None  # why the peer has no figure (e.g. unsupported by moto)

    def cells(self) -> list[str]:
        if self.peer_missing is not None:
            return [self.case, rate(self.lambdakit), self.peer_missing, "-", "n/a", "-"]
        cells = super().cells()
        cells[1] = rate(self.lambdakit)
        cells[2] = f"{rate(self.powertools)} ({self.peer})"
        return cells


def rate(seconds_per_event: float) -> str:
    return f"{1 / seconds_per_event:,.0f} ev/s" if seconds_per_event > 0 else "inf"


def bench_case(case: Case, sizes: Sizes, notes: list[str]) -> list[Row]:
    events, labels = case.corpus(sizes.events)
    lk = compile_pattern(case.pattern).matches
    lk_answers = answers(lk, events, "lambdakit", case.name)
    hits = sum(lk_answers)
    fraction = hits / len(events)
    check(
        0.3 <= fraction <= 0.7,
        f"{case.name}: lambdakit matches {fraction:.1%} of the corpus (expected 30-70%)",
    )
    wrong = [i for i, (a, b) in enumerate(zip(lk_answers, labels, strict=True)) if a != b]
    check(
        not wrong,
        f"{case.name}: lambdakit's answer differs from the generator's on {len(wrong)} events, "
        f"the first (built to {'match' if wrong and labels[wrong[0]] else 'fail'}): "
        f"{json.dumps(events[wrong[0]]) if wrong else ''}",
    )
    note = f"{case.name}: {fraction:.1%} match"

    moto_answers: list[bool] | None = None
    try:
        moto = moto_matcher(case.pattern)
        moto_answers = answers(moto, events, "moto", case.name)
    except Exception as exc:
        unsupported = f"unsupported by moto ({type(exc).__name__})"
    rows: list[Row] = []
    sample = events[: sizes.moto_events]
    if moto_answers is None:
        (lk_time,) = compare([("lambdakit", lk, events, hits)], sizes.reps)
        rows.append(
            Throughput(case.name, lk_time, 0.0, "s", None, peer="moto", peer_missing=unsupported)
        )
        note += f"; moto: {unsupported}"
    else:
        moto_hits = sum(moto_answers[: len(sample)])
        lk_time, moto_time = compare(
            [("lambdakit", lk, events, hits), ("moto", moto, sample, moto_hits)], sizes.reps
        )
        rows.append(Throughput(case.name, lk_time, moto_time, "s", 0.1, peer="moto"))
        only_lk = sum(a and not b for a, b in zip(lk_answers, moto_answers, strict=True))
        only_moto = sum(b and not a for a, b in zip(lk_answers, moto_answers, strict=True))
        note += (
            f"; moto disagrees on {only_lk + only_moto:,}/{len(events):,} "
            f"({only_lk:,} lambdakit-only matches, {only_moto:,} moto-only)"
        )

    if case.pattern is EC2_STATE:
        pred_answers = answers(ec2_predicate, events, "predicate", case.name)
        wrong = [i for i, (a, b) in enumerate(zip(lk_answers, pred_answers, strict=True)) if a != b]
        check(
            not wrong,
            f"{case.name}: lambdakit and the hand-written predicate disagree on {len(wrong)} "
            f"events, the first: {json.dumps(events[wrong[0]]) if wrong else ''}",
        )
        lk_time, pred_time = compare(
            [("lambdakit", lk, events, hits), ("predicate", ec2_predicate, events, hits)],
            sizes.reps,
        )
        rows.append(
            Throughput(f"{case.name} vs predicate", lk_time, pred_time, "s", 2, peer="predicate")
        )
        note += "; lambdakit agrees with the hand-written predicate on every event"

    calls = per_match_calls(lk, events[:PROFILE_EVENTS])
    if calls:
        sample_size = min(PROFILE_EVENTS, len(events))
        listed = ", ".join(f"{name} {n / sample_size:.2f}/event" for name, n in calls.most_common())
        note += f"; lambdakit calls per match: {listed}"
    notes.append(note)
    return rows


def main() -> int:
    parser = arguments(__doc__, "fewer events and runs, for a smoke test")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()

    notes: list[str] = []
    rows = [row for case in CASES for row in bench_case(case, sizes, notes)]

    print_header(
        f"moto {version('moto')} (moto.events.models.EventPattern)",
        f"{len(CASES)} patterns x {sizes.events:,} events (seed {SEED}); moto timed on the first "
        f"{sizes.moto_events:,} of each; medians of {sizes.reps} runs, GC off while timing; "
        "ratio = lambdakit time / peer time" + (" [--quick]" if args.quick else ""),
    )
    print(render(rows, args.markdown, HEADER))
    missed = [row for row in rows if row.missed]
    print()
    print(f"targets missed: {len(missed)} of {sum(row.target is not None for row in rows)}")
    for row in missed:
        ratio = row.lambdakit / row.powertools
        assert row.target is not None
        print(
            f"- {row.case}: {ratio:.3f}x, target <= {row.target:g}x "
            f"(lambdakit needs to be {ratio / row.target:.2f}x as fast)"
        )
    print()
    print("Notes (lambdakit's answers equal the generator's on every event of every corpus):")
    for note in notes:
        print(f"- {note}")
    print(f"- run time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
