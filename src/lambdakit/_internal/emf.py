"""CloudWatch metrics in Embedded Metric Format (EMF): one JSON line on stdout, no dependency.

Lambda sends a function's stdout to CloudWatch Logs, and CloudWatch Logs turns a line that is an
EMF document into metrics, without an API call or the CloudWatch agent
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
A document is a JSON object whose ``_aws`` member holds ``Timestamp`` (milliseconds since the
epoch) and ``CloudWatchMetrics``: directives naming a ``Namespace``, the ``Dimensions`` (sets of
member names) and the ``Metrics`` (``Name``, ``Unit``); the values themselves, metrics and
dimensions alike, are top-level members of the same object.

Metrics are opt-in: ``metrics=True`` on the decorator, or ``LAMBDAKIT_METRICS=1`` in the
function's environment; the namespace is ``LAMBDAKIT_METRICS_NAMESPACE`` (default ``lambdakit``).
"""

from __future__ import annotations

import os
import sys

from lambdakit.errors import BatchConfigurationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_NAMESPACE = "lambdakit"
_ON = ("1", "true", "yes", "on")
_OFF = ("", "0", "false", "no", "off")
# What CloudWatch accepts in a namespace; a namespace outside these rules loses every metric
# silently (the line is kept as a plain log event), so it is refused when metrics are enabled.
_NAMESPACE_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/#: "
)
_MAX_NAMESPACE = 255
_MAX_METRICS_PER_DIRECTIVE = 100  # the specification's limit on a directive's Metrics


def namespace() -> str:
    """The namespace from ``LAMBDAKIT_METRICS_NAMESPACE`` (default ``lambdakit``), checked
    against CloudWatch's rules: 1 to 255 characters among letters, digits, ``. _ - / # :`` and
    space, not only spaces, not starting with ``AWS/`` (reserved for AWS services)."""
    value = os.environ.get("LAMBDAKIT_METRICS_NAMESPACE") or DEFAULT_NAMESPACE
    if (
        len(value) > _MAX_NAMESPACE
        or not value.strip()
        or not _NAMESPACE_CHARACTERS.issuperset(value)
        or value.startswith("AWS/")
    ):
        raise BatchConfigurationError(
            f"LAMBDAKIT_METRICS_NAMESPACE={value!r}: not a CloudWatch namespace (1 to 255 "
            "characters among letters, digits, '.', '_', '-', '/', '#', ':' and space, not "
            "starting with 'AWS/')"
        )
    return value


def metrics_enabled(option: bool | None) -> bool:
    """Whether to write metrics: ``option`` when given, else ``LAMBDAKIT_METRICS`` (``1`` /
    ``true`` / ``yes`` / ``on``, or ``0`` / ``false`` / ``no`` / ``off`` / unset; any case).

    Call it when the decorator is applied: an unrecognised value of the variable, or a namespace
    CloudWatch would refuse when metrics are on, raises :class:`BatchConfigurationError` then
    (at import) rather than losing the metrics without a word.
    """
    if option is None:
        raw = os.environ.get("LAMBDAKIT_METRICS", "")
        value = raw.strip().lower()
        if value in _ON:
            option = True
        elif value in _OFF:
            option = False
        else:
            raise BatchConfigurationError(
                f"LAMBDAKIT_METRICS={raw!r}: expected 1/true/yes/on or 0/false/no/off"
            )
    if option:
        namespace()
    return option


def function_name() -> str:
    """The ``FunctionName`` dimension: ``AWS_LAMBDA_FUNCTION_NAME``, or ``unknown`` outside
    Lambda (CloudWatch refuses an empty dimension value)."""
    return os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "unknown"


def document(
    values: Mapping[str, float],
    dimensions: Mapping[str, str],
    *,
    namespace: str,
    timestamp_ms: int,
    unit: str = "Count",
) -> dict[str, object]:
    """The EMF document reporting ``values`` (metric name -> number, each in ``unit``) under one
    dimension set made of every key of ``dimensions``. Metrics beyond the specification's 100 per
    directive go to further directives of the same document."""
    names = list(values)
    dimension_set = list(dimensions)
    directives = [
        {
            "Namespace": namespace,
            "Dimensions": [dimension_set],
            "Metrics": [
                {"Name": name, "Unit": unit}
                for name in names[start : start + _MAX_METRICS_PER_DIRECTIVE]
            ],
        }
        for start in range(0, max(len(names), 1), _MAX_METRICS_PER_DIRECTIVE)
    ]
    return {
        "_aws": {"Timestamp": timestamp_ms, "CloudWatchMetrics": directives},
        **dimensions,
        **values,
    }


def emit(values: Mapping[str, float], dimensions: Mapping[str, str]) -> None:
    """Write ``values`` as one EMF line on stdout, in the configured namespace, now."""
    import json
    import time

    line = json.dumps(
        document(values, dimensions, namespace=namespace(), timestamp_ms=int(time.time() * 1000)),
        separators=(",", ":"),
    )
    stdout = sys.stdout
    stdout.write(line + "\n")
    stdout.flush()
