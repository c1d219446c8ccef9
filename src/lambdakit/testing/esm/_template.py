"""``EventSourceMapping.from_template``: the event source a SAM or CloudFormation template deploys
for a function, as a source model and a mapping with the deployed settings.

A test that builds its mapping by hand tests the settings it wrote; one built from the template
tests what ``sam deploy`` creates: the batch size, window and filter criteria, partial batch
responses, retry and age limits, the function's timeout, the queue's visibility timeout and
redrive policy. Where the template says nothing, AWS's defaults apply (the source's batch size,
not the mapping's generic 10; Kafka's 500 ms batching window; a 3 second function timeout).

Two places declare an event source, both read with :mod:`lambdakit.filtering`'s template
reader (YAML with CloudFormation's short tags, or JSON):

- SAM: ``AWS::Serverless::Function`` → ``Events.<name>`` of type ``SQS``, ``Kinesis``,
  ``DynamoDB``, ``MSK`` or ``SelfManagedKafka``;
- CloudFormation: an ``AWS::Lambda::EventSourceMapping`` whose ``FunctionName`` refers to the
  function; its logical id is its event name.

Intrinsic functions are not evaluated, with two exceptions that cover common templates: a
``Ref`` to a parameter reads the parameter's ``Default``, and ``Fn::GetAtt``/``Ref``/``Fn::Sub``
naming a resource or an ARN find the resource. A setting the template computes otherwise
(``!If``, ``!FindInMap`` ...) is refused with the option to pass instead.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lambdakit._internal.sam import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_BATCHING_WINDOW,
    DEFAULT_FUNCTION_TIMEOUT,
    FUNCTION_TYPES,
    MAPPING_EVENT_TYPES,
    mapping,
)
from lambdakit.errors import EventSourceMappingError, FilterTemplateError

if TYPE_CHECKING:
    from collections.abc import Callable

    from lambdakit.testing.clock import FakeClock
    from lambdakit.testing.esm._mapping import EventSourceMapping

ON_DEMAND_SHARDS = 4  # a Kinesis stream created in on-demand mode starts with 4 shards

_ABSENT: Any = object()


class _Declared:
    """One event source of the function: its name, source kind and properties."""

    __slots__ = ("kind", "name", "properties", "sam", "where")

    def __init__(
        self, name: str, kind: str | None, properties: dict[str, Any], sam: bool, where: str
    ) -> None:
        self.name = name
        self.kind = kind
        self.properties = properties
        self.sam = sam
        self.where = where


def mapping_from_template(
    cls: type[EventSourceMapping],
    path: str | Path,
    function_logical_id: str,
    handler: Callable[..., Any],
    event_name: str | None = None,
    **overrides: Any,
) -> EventSourceMapping:
    """The mapping ``cls(source, handler, **settings)`` the template deploys for the function
    ``function_logical_id`` (its event ``event_name`` when it has several).

    ``overrides`` are mapping options that replace the template's (``clock=`` included), plus
    ``source=``: a source model to use instead of the one the template describes (a
    ``KafkaTopic`` with more partitions than the one-partition topic built by default, say).
    Everything is built on one :class:`~lambdakit.testing.FakeClock` (the one given, or a new
    one): the source, its dead-letter queue and the mapping.
    """
    from lambdakit.filtering._template import load_template

    allowed = set(inspect.signature(cls).parameters) - {"source", "handler"}
    unknown = sorted(set(overrides) - allowed - {"source"})
    if unknown:
        raise EventSourceMappingError(
            f"from_template: unknown options {', '.join(unknown)}; options: "
            f"{', '.join(sorted(allowed | {'source'}))}"
        )
    try:
        template = load_template(path)
    except FilterTemplateError as exc:
        raise EventSourceMappingError(str(exc)) from None
    reader = _Reader(template, str(path))
    declared = reader.event_source(function_logical_id, event_name)
    options = dict(overrides)
    source = options.pop("source", None)
    clock = options.pop("clock", None)
    if source is None:
        if clock is None:
            from lambdakit.testing.clock import FakeClock

            clock = FakeClock()
        source = reader.source(declared, clock)
    settings = reader.settings(declared, function_logical_id, options)
    return cls(source, handler, **settings, **options, clock=clock)


class _Reader:
    """The template, and how its values are read (parameters' defaults resolved, errors naming
    the file and the property)."""

    def __init__(self, template: dict[str, Any], file: str) -> None:
        self.file = file
        self.template = template
        self.resources: dict[str, Any] = template["Resources"]
        parameters = template.get("Parameters")
        self.parameters: dict[str, Any] = parameters if isinstance(parameters, dict) else {}

    def fail(self, where: str, problem: str) -> EventSourceMappingError:
        return EventSourceMappingError(f"{self.file}: {where}: {problem}")

    # --- finding the event source --------------------------------------------------------------

    def event_source(self, function: str, event_name: str | None) -> _Declared:
        resource = self.resources.get(function)
        if not isinstance(resource, dict) or resource.get("Type") not in FUNCTION_TYPES:
            functions = [
                name
                for name, r in self.resources.items()
                if isinstance(r, dict) and r.get("Type") in FUNCTION_TYPES
            ]
            raise EventSourceMappingError(
                f"{self.file}: no function {function!r}; functions: "
                f"{', '.join(functions) or 'none'}"
            )
        found = self._declared(function, resource)
        if not found:
            raise EventSourceMappingError(
                f"{self.file}: function {function!r} has no SQS, Kinesis, DynamoDB, MSK or "
                "SelfManagedKafka event source (SAM Events, or an "
                "AWS::Lambda::EventSourceMapping naming it)"
            )
        names = ", ".join(d.name for d in found)
        if event_name is not None:
            chosen = [d for d in found if d.name == event_name]
            if not chosen:
                raise EventSourceMappingError(
                    f"{self.file}: function {function!r} has no event source {event_name!r}; "
                    f"event sources: {names}"
                )
            return chosen[0]
        if len(found) > 1:
            raise EventSourceMappingError(
                f"{self.file}: function {function!r} has several event sources; choose one "
                f"with event_name=: {names}"
            )
        return found[0]

    def _declared(self, function: str, resource: dict[str, Any]) -> list[_Declared]:
        from lambdakit.filtering._template import function_of, source_of

        found: list[_Declared] = []
        properties = mapping(resource.get("Properties"))
        if resource.get("Type") == "AWS::Serverless::Function":
            for name, event in mapping(properties.get("Events")).items():
                if isinstance(event, dict) and event.get("Type") in MAPPING_EVENT_TYPES:
                    found.append(
                        _Declared(
                            str(name),
                            MAPPING_EVENT_TYPES[event["Type"]],
                            mapping(event.get("Properties")),
                            True,
                            f"{function}.Properties.Events.{name}.Properties",
                        )
                    )
        for name, other in self.resources.items():
            if (
                not isinstance(other, dict)
                or other.get("Type") != "AWS::Lambda::EventSourceMapping"
            ):
                continue
            mapping_properties = mapping(other.get("Properties"))
            if function_of(mapping_properties.get("FunctionName"), self.resources) != function:
                continue
            kind = source_of(mapping_properties, self.resources)
            if kind in DEFAULT_BATCH_SIZE:
                found.append(
                    _Declared(str(name), kind, mapping_properties, False, f"{name}.Properties")
                )
        return found

    # --- values --------------------------------------------------------------------------------

    def value(self, value: Any, where: str, instead: str) -> Any:
        """``value`` with a parameter ``Ref`` replaced by its default; any other intrinsic is
        refused, saying what to pass ``instead``."""
        if isinstance(value, dict) and len(value) == 1:
            (key, argument), *_ = value.items()
            if key == "Ref" and argument in self.parameters:
                parameter = self.parameters[argument]
                if isinstance(parameter, dict) and "Default" in parameter:
                    return parameter["Default"]
                raise self.fail(
                    where, f"parameter {argument!r} has no Default; pass {instead} instead"
                )
            if key == "Ref" or key.startswith("Fn::"):
                raise self.fail(
                    where,
                    f"computed by the template ({json.dumps(value)}); pass {instead} instead",
                )
        return value

    def integer(self, value: Any, where: str, instead: str) -> int:
        value = self.value(value, where, instead)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"expected a whole number, got {value!r}")
        return value

    def number(self, value: Any, where: str, instead: str) -> float:
        value = self.value(value, where, instead)
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise self.fail(where, f"expected a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(where, f"expected a number, got {value!r}")
        return value

    def boolean(self, value: Any, where: str, instead: str) -> bool:
        value = self.value(value, where, instead)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"  # CloudFormation accepts booleans as strings
        if not isinstance(value, bool):
            raise self.fail(where, f"expected true or false, got {value!r}")
        return value

    def text(self, value: Any, where: str, instead: str) -> str:
        value = self.value(value, where, instead)
        if not isinstance(value, str):
            raise self.fail(where, f"expected a string, got {value!r}")
        return value

    def target(self, reference: Any, where: str, instead: str) -> tuple[str | None, str | None]:
        """What a reference to a resource names: ``(logical id, None)`` for a resource of the
        template, ``(None, arn)`` for an ARN written out."""
        if isinstance(reference, dict) and len(reference) == 1:
            (key, argument), *_ = reference.items()
            if key == "Fn::GetAtt":
                name = argument.split(".", 1)[0] if isinstance(argument, str) else None
                if isinstance(argument, list) and argument:
                    name = argument[0]
                if isinstance(name, str) and name in self.resources:
                    return name, None
            elif key == "Ref" and argument in self.resources:
                return str(argument), None
            elif key == "Fn::Sub":
                text = argument[0] if isinstance(argument, list) and argument else argument
                if isinstance(text, str) and "${" not in text.rsplit(":", 1)[-1]:
                    return None, text
            else:
                return self.target(self.value(reference, where, instead), where, instead)
        if isinstance(reference, str) and reference.startswith("arn:"):
            return None, reference
        raise self.fail(
            where, f"cannot tell which resource {json.dumps(reference)} is; pass {instead}"
        )

    def resource(self, name: str) -> tuple[str, dict[str, Any]]:
        resource = self.resources[name]
        return str(resource.get("Type")), mapping(resource.get("Properties"))

    def name_of(self, properties: dict[str, Any], key: str, default: str) -> str:
        """A resource's name property when written out, else ``default`` (its logical id)."""
        name = properties.get(key)
        if isinstance(name, dict):
            try:
                name = self.value(name, key, "")
            except EventSourceMappingError:
                name = None
        return name if isinstance(name, str) and name else default

    # --- the mapping's settings ----------------------------------------------------------------

    def settings(
        self, declared: _Declared, function: str, overrides: dict[str, Any]
    ) -> dict[str, Any]:
        """The mapping options the template deploys (those not overridden), AWS's defaults for
        the source where it is silent."""
        properties, where, kind = declared.properties, declared.where, declared.kind
        assert kind is not None
        found: dict[str, Any] = {}

        def setting(option: str, read: Callable[[], Any]) -> None:
            if option not in overrides:
                value = read()
                if value is not _ABSENT:
                    found[option] = value

        def prop(key: str, convert: Callable[[Any, str, str], Any], option: str) -> Any:
            if key not in properties:
                return _ABSENT
            return convert(properties[key], f"{where}.{key}", f"{option}=")

        setting(
            "batch_size",
            lambda: (
                DEFAULT_BATCH_SIZE[kind]
                if "BatchSize" not in properties
                else prop("BatchSize", self.integer, "batch_size")
            ),
        )
        setting(
            "maximum_batching_window",
            lambda: (
                DEFAULT_BATCHING_WINDOW[kind]
                if "MaximumBatchingWindowInSeconds" not in properties
                else prop("MaximumBatchingWindowInSeconds", self.number, "maximum_batching_window")
            ),
        )
        setting("filter_criteria", lambda: properties.get("FilterCriteria") or _ABSENT)
        setting("report_batch_item_failures", lambda: self._response_types(declared))
        setting("maximum_concurrency", lambda: self._maximum_concurrency(declared))
        setting(
            "bisect_batch_on_function_error",
            lambda: prop(
                "BisectBatchOnFunctionError", self.boolean, "bisect_batch_on_function_error"
            ),
        )
        setting(
            "maximum_retry_attempts",
            lambda: prop("MaximumRetryAttempts", self.integer, "maximum_retry_attempts"),
        )
        setting(
            "maximum_record_age",
            lambda: prop("MaximumRecordAgeInSeconds", self.integer, "maximum_record_age"),
        )
        setting(
            "parallelization_factor",
            lambda: prop("ParallelizationFactor", self.integer, "parallelization_factor"),
        )
        setting("on_failure", lambda: self._on_failure(declared))
        if kind != "sqs":
            setting(
                "starting_position",
                lambda: prop("StartingPosition", self.text, "starting_position"),
            )
        setting(
            "provisioned_mode",
            lambda: True if properties.get("ProvisionedPollerConfig") is not None else _ABSENT,
        )
        setting("function_timeout", lambda: self._timeout(function))
        return found

    def _response_types(self, declared: _Declared) -> Any:
        types = declared.properties.get("FunctionResponseTypes")
        if types is None:
            return _ABSENT
        where = f"{declared.where}.FunctionResponseTypes"
        types = self.value(types, where, "report_batch_item_failures=")
        if not isinstance(types, list):
            raise self.fail(where, f"expected a list, got {types!r}")
        values = [self.value(t, where, "report_batch_item_failures=") for t in types]
        return "ReportBatchItemFailures" in values

    def _maximum_concurrency(self, declared: _Declared) -> Any:
        scaling = declared.properties.get("ScalingConfig")
        if not isinstance(scaling, dict) or "MaximumConcurrency" not in scaling:
            return _ABSENT
        return self.integer(
            scaling["MaximumConcurrency"],
            f"{declared.where}.ScalingConfig.MaximumConcurrency",
            "maximum_concurrency=",
        )

    def _on_failure(self, declared: _Declared) -> Any:
        """The on-failure destination as the ARN (or ``kafka://`` URI) it deploys."""
        config = declared.properties.get("DestinationConfig")
        on_failure = config.get("OnFailure") if isinstance(config, dict) else None
        if not isinstance(on_failure, dict) or "Destination" not in on_failure:
            return _ABSENT
        where = f"{declared.where}.DestinationConfig.OnFailure.Destination"
        reference = on_failure["Destination"]
        if isinstance(reference, str) and reference.startswith("kafka://"):
            return reference
        name, arn = self.target(reference, where, "on_failure=")
        if arn is not None:
            return arn
        assert name is not None
        return self.arn_of(name, where)

    def arn_of(self, name: str, where: str) -> str:
        """The ARN a queue, topic or bucket of the template gets (the models' region and
        account)."""
        from lambdakit.testing.builders._common import DEFAULT_ACCOUNT, region_or_default

        kind, properties = self.resource(name)
        region = region_or_default(None)
        if kind == "AWS::SQS::Queue":
            return f"arn:aws:sqs:{region}:{DEFAULT_ACCOUNT}:{self._queue_name(name, properties)}"
        if kind == "AWS::SNS::Topic":
            topic = self.name_of(properties, "TopicName", name)
            return f"arn:aws:sns:{region}:{DEFAULT_ACCOUNT}:{topic}"
        if kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{self.name_of(properties, 'BucketName', name.lower())}"
        raise self.fail(where, f"{name} is a {kind}, not an SQS queue, SNS topic or S3 bucket")

    def _timeout(self, function: str) -> float:
        kind, properties = self.resource(function)
        if "Timeout" in properties:
            where, raw = f"{function}.Properties.Timeout", properties["Timeout"]
        else:
            globals_ = mapping(mapping(self.template.get("Globals")).get("Function"))
            if kind != "AWS::Serverless::Function" or "Timeout" not in globals_:
                return DEFAULT_FUNCTION_TIMEOUT
            where, raw = "Globals.Function.Timeout", globals_["Timeout"]
        return self.number(raw, where, "function_timeout=")

    # --- the source model ----------------------------------------------------------------------

    def source(self, declared: _Declared, clock: FakeClock) -> Any:
        properties, where = declared.properties, declared.where
        if declared.kind == "sqs":
            key = "Queue" if declared.sam else "EventSourceArn"
            name, arn = self.target(properties.get(key), f"{where}.{key}", "source=")
            return self.queue(name, arn, f"{where}.{key}", clock, set())
        if declared.kind in ("kinesis", "dynamodb"):
            key = "Stream" if declared.sam else "EventSourceArn"
            name, arn = self.target(properties.get(key), f"{where}.{key}", "source=")
            if declared.kind == "kinesis":
                return self._kinesis(name, arn, clock)
            return self._dynamodb(name, arn, clock)
        return self._kafka(declared, clock)

    def queue(
        self, name: str | None, arn: str | None, where: str, clock: FakeClock, seen: set[str]
    ) -> Any:
        """An ``SQSQueue`` with the resource's settings (and its DLQ's, built the same way),
        or, for a queue outside the template, one named from its ARN with SQS's defaults."""
        from lambdakit.testing.esm._sqs import SQSQueue

        if name is None:
            assert arn is not None
            queue_name = arn.rsplit(":", 1)[-1]
            return SQSQueue(queue_name, fifo=queue_name.endswith(".fifo"), clock=clock)
        kind, properties = self.resource(name)
        if kind != "AWS::SQS::Queue":
            raise self.fail(where, f"{name} is a {kind}, not an AWS::SQS::Queue")
        if name in seen:
            raise self.fail(where, f"{name}'s redrive policy loops back to it")
        seen = seen | {name}
        at = f"{name}.Properties"
        options: dict[str, Any] = {}
        if "FifoQueue" in properties:
            options["fifo"] = self.boolean(properties["FifoQueue"], f"{at}.FifoQueue", "source=")
        if "ContentBasedDeduplication" in properties:
            options["content_based_deduplication"] = self.boolean(
                properties["ContentBasedDeduplication"],
                f"{at}.ContentBasedDeduplication",
                "source=",
            )
        for key, option in (
            ("VisibilityTimeout", "visibility_timeout"),
            ("DelaySeconds", "delay_seconds"),
        ):
            if key in properties:
                options[option] = self.integer(properties[key], f"{at}.{key}", "source=")
        policy = properties.get("RedrivePolicy")
        if policy is not None:
            policy = self.value(policy, f"{at}.RedrivePolicy", "source=")
            if isinstance(policy, str):
                try:
                    policy = json.loads(policy)
                except ValueError:
                    raise self.fail(f"{at}.RedrivePolicy", "not valid JSON") from None
            if not isinstance(policy, dict):
                raise self.fail(f"{at}.RedrivePolicy", f"expected an object, got {policy!r}")
            if "deadLetterTargetArn" in policy:
                dlq_at = f"{at}.RedrivePolicy.deadLetterTargetArn"
                dlq_name, dlq_arn = self.target(policy["deadLetterTargetArn"], dlq_at, "source=")
                options["dlq"] = self.queue(dlq_name, dlq_arn, dlq_at, clock, seen)
            if "maxReceiveCount" in policy:
                options["max_receive_count"] = self.integer(
                    policy["maxReceiveCount"], f"{at}.RedrivePolicy.maxReceiveCount", "source="
                )
        return SQSQueue(self._queue_name(name, properties), **options, clock=clock)

    def _queue_name(self, name: str, properties: dict[str, Any]) -> str:
        """The queue's QueueName, else its logical id; CloudFormation names a FIFO queue it
        names itself with the ``.fifo`` suffix SQS requires."""
        queue_name = self.name_of(properties, "QueueName", name)
        fifo = properties.get("FifoQueue")
        if fifo in (True, "true", "True") and not queue_name.endswith(".fifo"):
            queue_name += ".fifo"
        return queue_name

    def _kinesis(self, name: str | None, arn: str | None, clock: FakeClock) -> Any:
        from lambdakit.testing.esm._streams import KinesisStream

        if name is None:
            assert arn is not None
            return KinesisStream(arn.rsplit("/", 1)[-1], clock=clock)
        _kind, properties = self.resource(name)
        at = f"{name}.Properties"
        options: dict[str, Any] = {}
        mode = mapping(properties.get("StreamModeDetails")).get("StreamMode")
        if "ShardCount" in properties:
            options["shards"] = self.integer(
                properties["ShardCount"], f"{at}.ShardCount", "source="
            )
        elif mode == "ON_DEMAND":
            options["shards"] = ON_DEMAND_SHARDS
        if "RetentionPeriodHours" in properties:
            options["retention_period_hours"] = self.integer(
                properties["RetentionPeriodHours"], f"{at}.RetentionPeriodHours", "source="
            )
        return KinesisStream(self.name_of(properties, "Name", name), **options, clock=clock)

    def _dynamodb(self, name: str | None, arn: str | None, clock: FakeClock) -> Any:
        from lambdakit.testing.esm._streams import DynamoDBStream

        if name is None:
            assert arn is not None
            table = arn.split(":table/", 1)[-1].split("/", 1)[0]
            return DynamoDBStream(table, clock=clock)
        _kind, properties = self.resource(name)
        return DynamoDBStream(self.name_of(properties, "TableName", name), clock=clock)

    def _kafka(self, declared: _Declared, clock: FakeClock) -> Any:
        from lambdakit.testing.esm._kafka import KafkaTopic

        properties, where = declared.properties, declared.where
        topics = self.value(properties.get("Topics"), f"{where}.Topics", "source=")
        if not isinstance(topics, list) or len(topics) != 1:
            raise self.fail(
                f"{where}.Topics", f"expected one topic (Lambda reads one), got {topics!r}"
            )
        topic = self.text(topics[0], f"{where}.Topics[0]", "source=")
        servers: Any = None
        if declared.sam and "KafkaBootstrapServers" in properties:
            servers = properties["KafkaBootstrapServers"]
        elif not declared.sam and properties.get("SelfManagedEventSource") is not None:
            endpoints = mapping(mapping(properties["SelfManagedEventSource"]).get("Endpoints"))
            servers = endpoints.get("KAFKA_BOOTSTRAP_SERVERS")
        if servers is not None:
            servers = self.value(servers, f"{where} bootstrap servers", "source=")
            listed = servers if isinstance(servers, list) else [servers]
            bootstrap = ",".join(
                self.text(s, f"{where} bootstrap servers", "source=") for s in listed
            )
            return KafkaTopic(topic, self_managed=True, bootstrap_servers=bootstrap, clock=clock)
        key = "Stream" if declared.sam else "EventSourceArn"
        name, arn = self.target(properties.get(key), f"{where}.{key}", "source=")
        if name is not None:
            cluster = self.name_of(self.resource(name)[1], "ClusterName", name)
        else:
            assert arn is not None
            cluster = arn.split(":cluster/", 1)[-1].split("/", 1)[0]
        return KafkaTopic(topic, cluster_name=cluster, clock=clock)
