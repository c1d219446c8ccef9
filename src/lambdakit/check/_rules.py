"""The rules of ``lambdakit check``: each a stable id, why it matters and the AWS page it
follows, and the code that finds its breaches in a :class:`~lambdakit.check._template.Template`.

Ids: ``LK1xx`` event source mapping settings, ``LK2xx`` the queue, ``LK3xx`` filter criteria,
``LK4xx`` the idempotency table. A rule whose input the template computes (``!If``, a parameter
without a default) stays silent: a finding must be true of what ``sam deploy`` creates.
"""

from __future__ import annotations

import json

from lambdakit._internal.sam import DEFAULT_BATCH_SIZE, DEFAULT_BATCHING_WINDOW, mapping
from lambdakit.check._findings import Finding, Rule
from lambdakit.check._template import DEFAULT_VISIBILITY_TIMEOUT, UNKNOWN

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection
    from typing import Any

    from lambdakit.check._template import EventSource, Template

_ESM_API = "https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html"
_FILTERING = "https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html"
_SQS_CONFIGURE = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html"
_SQS_ERRORS = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html"
# The wildcard complexity above which LK304 reports (event-ruler's measure). AWS does not publish
# its limit: 10 is a conservative estimate, and the finding is a warning for that reason.
MAX_WILDCARD_COMPLEXITY = 10


def _rule(id: str, title: str, why: str, source: str) -> Rule:
    return Rule(id, title, why, source)


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        _rule(
            "LK101",
            "partial batch responses not turned on",
            "Lambda ignores a handler's batchItemFailures unless the event source mapping "
            "lists ReportBatchItemFailures in FunctionResponseTypes: one failed record then "
            "retries the whole batch, records that succeeded included.",
            _SQS_ERRORS + "#services-sqs-batchfailurereporting",
        ),
        _rule(
            "LK102",
            "Kafka partial batch responses without provisioned mode",
            "Lambda honours ReportBatchItemFailures for Amazon MSK and self-managed Kafka "
            "only on event source mappings in provisioned mode (ProvisionedPollerConfig).",
            "https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html",
        ),
        _rule(
            "LK103",
            "SQS batch size above 10 without a batching window",
            "A standard queue's mapping with BatchSize above 10 needs "
            "MaximumBatchingWindowInSeconds of at least 1 second; CloudFormation refuses it "
            "otherwise.",
            _ESM_API,
        ),
        _rule(
            "LK104",
            "batching window above 300 seconds",
            "MaximumBatchingWindowInSeconds accepts 0 to 300 seconds.",
            _ESM_API,
        ),
        _rule(
            "LK105",
            "batch size above the source's limit",
            "BatchSize is at most 10,000 for standard SQS queues, Kinesis, DynamoDB Streams "
            "and Kafka, and 10 for SQS FIFO queues; the deployment fails above it.",
            _ESM_API,
        ),
        _rule(
            "LK106",
            "SQS maximum concurrency below 2",
            "ScalingConfig.MaximumConcurrency accepts 2 to 1000; to process a FIFO queue's "
            "groups one at a time use the queue's message groups, not a concurrency of 1.",
            "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html",
        ),
        _rule(
            "LK107",
            "batching window on a FIFO queue",
            "Lambda does not support MaximumBatchingWindowInSeconds on SQS FIFO queues.",
            "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html",
        ),
        _rule(
            "LK201",
            "queue visibility timeout below 6x the function timeout",
            "AWS recommends a visibility timeout of at least six times the function timeout, "
            "so that a batch retried after throttling is not delivered again while it runs.",
            _SQS_CONFIGURE,
        ),
        _rule(
            "LK202",
            "queue visibility timeout below the function timeout plus the batching window",
            "A message becomes visible again while the invocation processing it still runs: it "
            "is delivered twice (Lambda refuses to create the mapping when the visibility "
            "timeout is below the function timeout alone).",
            _SQS_CONFIGURE,
        ),
        _rule(
            "LK203",
            "no dead-letter queue on a partial-batch function's queue",
            "Without a RedrivePolicy a record that always fails is retried until it expires "
            "(MessageRetentionPeriod), and a FIFO group stays blocked behind it.",
            _SQS_ERRORS,
        ),
        _rule(
            "LK204",
            "maxReceiveCount of 1",
            "With maxReceiveCount 1 a single failure, or a throttled or timed-out invocation, "
            "moves the message to the dead-letter queue without a retry.",
            _SQS_ERRORS,
        ),
        _rule(
            "LK301",
            "invalid filter pattern",
            "Lambda refuses an event source mapping whose FilterCriteria hold a pattern that "
            "is not valid for its source; the deployment fails.",
            _FILTERING,
        ),
        _rule(
            "LK302",
            "too many filters",
            "An event source mapping holds at most 5 filters by default (10 with a raised quota).",
            _FILTERING,
        ),
        _rule(
            "LK303",
            "filter pattern that can never match the source's records",
            "A pattern requiring a field the source's records never have drops every record: "
            "Lambda deletes (SQS) or skips them without invoking the function.",
            _FILTERING,
        ),
        _rule(
            "LK304",
            "wildcard pattern too complex",
            "AWS refuses a pattern whose wildcards one value could match at too many places at "
            'once ("Rule is too complex"), measured per field as aws/event-ruler measures it. '
            "AWS does not publish the limit; lambdakit reports a complexity above "
            f"{MAX_WILDCARD_COMPLEXITY}.",
            "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html"
            "#eb-filtering-wildcard-matching-complexity",
        ),
        _rule(
            "LK401",
            "idempotency table without TTL on expiration",
            "Idempotency records carry their expiry in the expiration attribute; without "
            "DynamoDB TTL on it the table grows forever.",
            "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html",
        ),
    )
}

# rule -> the rule it hides on the same resource and property (a visibility timeout below the
# function timeout plus the window is below 6x the timeout too: one finding says it).
SHADOWS = {"LK202": "LK201"}
BATCH_SOURCES = ("sqs", "kinesis", "dynamodb", "kafka")
MAX_BATCH_SIZE = 10_000
MAX_FIFO_BATCH_SIZE = 10
MAX_WINDOW = 300
# What a record of each source offers a pattern at its top level (Lambda's filtering view:
# Kinesis's ``kinesis`` fields are lifted to the top).
RECORD_FIELDS = {
    "sqs": {
        "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
        "md5OfMessageAttributes", "eventSource", "eventSourceARN", "awsRegion",
    },
    "kinesis": {
        "kinesisSchemaVersion", "partitionKey", "sequenceNumber", "data",
        "approximateArrivalTimestamp", "encryptionType", "eventSource", "eventVersion",
        "eventID", "eventName", "invokeIdentityArn", "awsRegion", "eventSourceARN",
    },
    "dynamodb": {
        "eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb",
        "userIdentity", "eventSourceARN",
    },
    "kafka": {"topic", "partition", "offset", "timestamp", "timestampType", "key", "value",
              "headers"},
}  # fmt: skip
_MAX_OR_GROUPS = 8  # beyond this, expanding a pattern's alternatives costs more than it tells


class Checker:
    """Runs every rule over the template's event sources and functions."""

    def __init__(
        self, template: Template, partial_batch: dict[str, bool], functions: Collection[str]
    ) -> None:
        """``partial_batch``: function → whether it is known (``True``) or assumed (``False``)
        to use partial batch responses; functions absent from it do not. ``functions``: the
        functions whose configuration is checked."""
        self.template = template
        self.partial_batch = partial_batch
        self.functions = functions
        self.findings: list[Finding] = []

    def report(
        self, rule: str, severity: str, resource: str, path: str, message: str, fix: str
    ) -> None:
        finding = Finding(RULES[rule], severity, resource, path, message, fix, self.template.file)
        if not any(
            (f.rule.id, f.resource, f.path) == (rule, resource, path) for f in self.findings
        ):
            self.findings.append(finding)

    def run(self) -> list[Finding]:
        for source in self.template.event_sources():
            if source.function in self.functions and source.kind in BATCH_SOURCES:
                self.mapping(source)
                self.queue(source)
                self.filters(source)
        for function in self.functions:
            self.idempotency_table(function)
        return self.findings

    # --- LK1xx: the event source mapping -------------------------------------------------------

    def number(self, source: EventSource, key: str, default: float) -> float | None:
        raw = source.properties.get(key)
        return default if raw is None else self.template.number(raw)

    def fifo(self, source: EventSource) -> bool | None:
        """Whether the SQS queue is FIFO; ``None`` when the template cannot tell. A queue
        outside the template is FIFO when its static ARN ends in ``.fifo`` (FIFO queue names
        must)."""
        if source.target is None or self.template.type_of(source.target) != "AWS::SQS::Queue":
            return True if source.arn is not None and source.arn.endswith(".fifo") else None
        properties = self.template.properties(source.target)
        name = self.template.value(properties.get("QueueName"))
        if isinstance(name, str) and name.endswith(".fifo"):
            return True
        flag = properties.get("FifoQueue")
        return False if flag is None else self.template.boolean(flag)

    def mapping(self, source: EventSource) -> None:
        kind = str(source.kind)
        where = source.path
        partial = self.partial_batch.get(source.function)
        types = self.template.value(source.properties.get("FunctionResponseTypes"))
        reports = isinstance(types, list) and "ReportBatchItemFailures" in (
            self.template.value(t) for t in types
        )
        if partial is not None and types is not UNKNOWN and not reports:
            assumed = (
                ""
                if partial
                else " (assumed to use partial batch responses: name the functions that use "
                "process_batch with --batch-function / batch_functions=, or let lambdakit "
                "find them with --import / import_handlers=True)"
            )
            self.report(
                "LK101",
                "error",
                source.resource,
                f"{where}.FunctionResponseTypes",
                f"{source.function}'s {kind} event source {source.name} does not turn on "
                f"ReportBatchItemFailures{assumed}",
                "add FunctionResponseTypes: [ReportBatchItemFailures]",
            )
        if kind == "kafka" and reports and source.properties.get("ProvisionedPollerConfig") is None:
            self.report(
                "LK102",
                "error",
                source.resource,
                f"{where}.ProvisionedPollerConfig",
                f"Kafka event source {source.name} reports batch item failures without "
                "provisioned mode",
                "add ProvisionedPollerConfig (MinimumPollers, MaximumPollers)",
            )
        size = self.number(source, "BatchSize", DEFAULT_BATCH_SIZE[kind])
        window = self.number(
            source, "MaximumBatchingWindowInSeconds", DEFAULT_BATCHING_WINDOW[kind]
        )
        fifo = self.fifo(source) if kind == "sqs" else False
        if (
            kind == "sqs"
            and not fifo
            and size is not None
            and window is not None
            and size > 10
            and window < 1
        ):
            self.report(
                "LK103",
                "error",
                source.resource,
                f"{where}.MaximumBatchingWindowInSeconds",
                f"BatchSize {size:g} on a standard queue with a batching window of {window:g} s",
                "set MaximumBatchingWindowInSeconds to at least 1, or BatchSize to 10 or less",
            )
        if window is not None and window > MAX_WINDOW:
            self.report(
                "LK104",
                "error",
                source.resource,
                f"{where}.MaximumBatchingWindowInSeconds",
                f"batching window of {window:g} s; the maximum is {MAX_WINDOW} s",
                f"set MaximumBatchingWindowInSeconds to {MAX_WINDOW} or less",
            )
        limit = MAX_FIFO_BATCH_SIZE if fifo else MAX_BATCH_SIZE
        if size is not None and size > limit:
            self.report(
                "LK105",
                "error",
                source.resource,
                f"{where}.BatchSize",
                f"BatchSize {size:g} on a {'FIFO queue' if fifo else kind + ' source'}; the "
                f"maximum is {limit:,}",
                f"set BatchSize to {limit:,} or less",
            )
        concurrency = self.template.number(
            mapping(self.template.value(source.properties.get("ScalingConfig"))).get(
                "MaximumConcurrency"
            )
        )
        if kind == "sqs" and concurrency is not None and concurrency < 2:
            self.report(
                "LK106",
                "error",
                source.resource,
                f"{where}.ScalingConfig.MaximumConcurrency",
                f"MaximumConcurrency {concurrency:g}"
                + (" on a FIFO queue" if fifo else "")
                + "; the minimum is 2",
                "set ScalingConfig.MaximumConcurrency to 2 or more, or remove ScalingConfig",
            )
        if fifo and source.properties.get("MaximumBatchingWindowInSeconds") is not None:
            self.report(
                "LK107",
                "error",
                source.resource,
                f"{where}.MaximumBatchingWindowInSeconds",
                f"FIFO queue {source.target} read with a batching window",
                "remove MaximumBatchingWindowInSeconds",
            )

    # --- LK2xx: the queue ----------------------------------------------------------------------

    def queue(self, source: EventSource) -> None:
        queue = source.target
        if (
            source.kind != "sqs"
            or queue is None
            or self.template.type_of(queue) != "AWS::SQS::Queue"
        ):
            return
        properties = self.template.properties(queue)
        raw = properties.get("VisibilityTimeout")
        visibility = DEFAULT_VISIBILITY_TIMEOUT if raw is None else self.template.number(raw)
        timeout, timeout_where = self.template.timeout(source.function)
        window = self.number(source, "MaximumBatchingWindowInSeconds", 0.0)
        path = "Properties.VisibilityTimeout"
        told = f"VisibilityTimeout {visibility:g} s" if visibility is not None else ""
        told += "" if raw is not None else " (the default)"
        if visibility is not None and timeout is not None and window is not None:
            if visibility < timeout + window:
                self.report(
                    "LK202",
                    "error",
                    queue,
                    path,
                    f"{told} is below {source.function}'s timeout {timeout:g} s "
                    f"({timeout_where}) plus the batching window {window:g} s",
                    f"set VisibilityTimeout to at least {6 * timeout + window:g}",
                )
            if visibility < 6 * timeout:  # shown only when LK202 is ignored (SHADOWS)
                self.report(
                    "LK201",
                    "warning",
                    queue,
                    path,
                    f"{told} is below 6x {source.function}'s timeout {timeout:g} s "
                    f"({timeout_where})",
                    f"set VisibilityTimeout to at least {6 * timeout + window:g}",
                )
        policy = self.template.value(properties.get("RedrivePolicy"))
        if isinstance(policy, str):
            try:
                policy = json.loads(policy)
            except ValueError:
                policy = UNKNOWN
        if policy is None and source.function in self.partial_batch:
            self.report(
                "LK203",
                "warning",
                queue,
                "Properties.RedrivePolicy",
                f"queue {queue} feeds {source.function}, which reports partial batch "
                "failures, and has no dead-letter queue",
                "add RedrivePolicy: {deadLetterTargetArn: <DLQ ARN>, maxReceiveCount: 3 or more}",
            )
        if isinstance(policy, dict) and self.template.number(policy.get("maxReceiveCount")) == 1:
            self.report(
                "LK204",
                "warning",
                queue,
                "Properties.RedrivePolicy.maxReceiveCount",
                f"queue {queue} moves a message to its dead-letter queue after one receive",
                "set maxReceiveCount to 3 or more (AWS suggests at least 5 with throttling)",
            )

    # --- LK3xx: filter criteria ----------------------------------------------------------------

    def filters(self, source: EventSource) -> None:
        from lambdakit.errors import FilterPatternError
        from lambdakit.filtering._criteria import DEFAULT_MAX_FILTERS, FilterCriteria

        criteria = self.template.value(source.properties.get("FilterCriteria"))
        entries = mapping(criteria).get("Filters")
        if not isinstance(entries, list):
            return
        where = f"{source.path}.FilterCriteria.Filters"
        if len(entries) > DEFAULT_MAX_FILTERS:
            self.report(
                "LK302",
                "error",
                source.resource,
                where,
                f"{len(entries)} filters; an event source mapping allows {DEFAULT_MAX_FILTERS} "
                "(10 with a raised quota)",
                "merge patterns with $or, or ask for the quota to be raised",
            )
        for index, entry in enumerate(entries):
            pattern = mapping(entry).get("Pattern")
            if isinstance(pattern, dict) and set(pattern) == {"Fn::Sub"}:
                pattern = self.template.value(pattern)
                if pattern is UNKNOWN:
                    continue
            try:
                compiled = FilterCriteria.from_dict(
                    {"Filters": [{**mapping(entry), "Pattern": pattern}]}, source=source.kind
                ).filters[0]
            except FilterPatternError as exc:
                problem = str(exc).replace("Filters[0].", "", 1)
                self.report(
                    "LK301",
                    "error",
                    source.resource,
                    f"{where}[{index}].Pattern",
                    f"{source.kind} filter {index} is not valid: {problem}",
                    "correct the pattern (lambdakit filter check tests it against records)",
                )
                continue
            self.wildcards(source, f"{where}[{index}].Pattern", index, compiled.pattern.root)
            fields = RECORD_FIELDS[str(source.kind)]
            missing = _never_present(compiled.pattern, fields)
            if missing:
                self.report(
                    "LK303",
                    "warning",
                    source.resource,
                    f"{where}[{index}].Pattern",
                    f"{source.kind} filter {index} requires {', '.join(missing)}, which "
                    f"{source.kind} records never have: it drops every record",
                    f"filter on the record's fields ({', '.join(sorted(fields))})",
                )

    def wildcards(self, source: EventSource, where: str, index: int, root: Any) -> None:
        from lambdakit.filtering._complexity import wildcard_complexity

        for field, complexity in wildcard_complexity(root).items():
            if complexity > MAX_WILDCARD_COMPLEXITY:
                self.report(
                    "LK304",
                    "warning",
                    source.resource,
                    where,
                    f"{source.kind} filter {index}: the wildcards on {field} have complexity "
                    f"{complexity} (one value can be matching that many wildcard prefixes at "
                    f"once); AWS may refuse the pattern as too complex",
                    "use fewer wildcards on the field, or fewer repeats of the characters that "
                    "follow a wildcard (a prefix or suffix filter where one will do)",
                )

    # --- LK4xx: the idempotency table ----------------------------------------------------------

    def idempotency_table(self, function: str) -> None:
        template = self.template
        variables: dict[str, Any] = {}
        if template.type_of(function) == "AWS::Serverless::Function":
            variables.update(mapping(mapping(template.globals.get("Environment")).get("Variables")))
        variables.update(
            mapping(mapping(template.properties(function).get("Environment")).get("Variables"))
        )
        for name, value in variables.items():
            if "IDEMPOTEN" not in str(name).upper():
                continue
            table = template.target(value, ("AWS::DynamoDB::Table",))
            if table is None:
                continue
            ttl = mapping(template.value(template.properties(table).get("TimeToLiveSpecification")))
            attribute = template.value(ttl.get("AttributeName"))
            enabled = template.boolean(ttl.get("Enabled")) if "Enabled" in ttl else False
            if UNKNOWN in (attribute, enabled) or enabled is None:
                continue
            if attribute != "expiration" or not enabled:
                self.report(
                    "LK401",
                    "warning",
                    table,
                    "Properties.TimeToLiveSpecification",
                    f"{function}'s {name} names table {table}, which has no TTL on expiration",
                    "add TimeToLiveSpecification: {AttributeName: expiration, Enabled: true}",
                )


def _never_present(pattern: Any, fields: set[str]) -> list[str]:
    """Fields a pattern requires in every alternative that the record (with top-level
    ``fields``) never has
    (sorted, from the first alternative); empty when the pattern may match."""
    from lambdakit.filtering._match import expand
    from lambdakit.filtering._tree import walk

    if sum(len(node.ors) for node, _, _ in walk(pattern.root)) > _MAX_OR_GROUPS:
        return []
    found: list[str] = []
    for alternative in expand(pattern.root):
        required = sorted(
            {
                path.split(".", 1)[0]
                for path, leaf in alternative.items()
                if not leaf.absent_ok and path.split(".", 1)[0] not in fields
            }
        )
        if not required:
            return []
        found = found or required
    return found
