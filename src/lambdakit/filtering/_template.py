"""The filter criteria a SAM or CloudFormation template deploys, read for local tests.

Two places declare them:

- SAM: ``AWS::Serverless::Function`` → ``Properties.Events.<name>`` of type ``SQS``,
  ``Kinesis``, ``DynamoDB``, ``MSK``, ``SelfManagedKafka`` or ``MQ``, with
  ``Properties.FilterCriteria``;
- CloudFormation: ``AWS::Lambda::EventSourceMapping`` with ``FilterCriteria`` and a
  ``FunctionName`` that refers to a function of the template (``!Ref``/``!GetAtt``) or names it.

YAML templates need PyYAML (without it, :class:`~lambdakit.errors.MissingDependencyError` says
``pip install 'lambdakit[yaml]'``); CloudFormation's short-form tags (``!Ref``, ``!Sub``,
``!GetAtt`` ...) are read as their long forms (``{"Ref": ...}``), which is all the reader needs:
it never resolves them.
"""

from __future__ import annotations

import json
from pathlib import Path

from lambdakit._internal.extras import require
from lambdakit._internal.sam import MAPPING_EVENT_TYPES
from lambdakit.errors import FilterTemplateError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# SAM event types that carry FilterCriteria, and the record view each one's records get.
SAM_EVENT_SOURCES = {**MAPPING_EVENT_TYPES, "MQ": "mq"}
_ARN_SERVICES = {"sqs": "sqs", "kinesis": "kinesis", "dynamodb": "dynamodb", "kafka": "kafka"}
RESOURCE_SOURCES = {
    "AWS::SQS::Queue": "sqs",
    "AWS::Kinesis::Stream": "kinesis",
    "AWS::DynamoDB::Table": "dynamodb",
    "AWS::MSK::Cluster": "kafka",
    "AWS::AmazonMQ::Broker": "mq",
}


class DeclaredCriteria:
    """One event source's filter criteria as the template declares them."""

    __slots__ = ("event", "filters", "function", "source")

    def __init__(self, function: str, event: str, source: str | None, filters: Any) -> None:
        self.function = function
        self.event = event
        self.source = source
        self.filters = filters

    @property
    def label(self) -> str:
        return f"{self.function}/{self.event}"


def load_template(path: str | Path) -> dict[str, Any]:
    """The template as plain data (JSON, or YAML with CloudFormation tags)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise FilterTemplateError(f"{file}: cannot read the template ({exc.strerror})") from None
    if text.lstrip().startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise FilterTemplateError(f"{file}: not valid JSON ({exc})") from None
    else:
        loaded = _load_yaml(text, file)
    if not isinstance(loaded, dict) or not isinstance(loaded.get("Resources"), dict):
        raise FilterTemplateError(f"{file}: not a template (no Resources mapping)")
    return loaded


def _load_yaml(text: str, file: Path) -> Any:
    require("yaml", f"{file}: reading a YAML template")
    import yaml

    class Loader(yaml.SafeLoader):
        """SafeLoader that reads ``!Tag value`` as CloudFormation's ``{"Fn::Tag": value}``."""

    def intrinsic(loader: Any, suffix: str, node: Any) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
        return {name: value}

    Loader.add_multi_constructor("!", intrinsic)
    try:
        return yaml.load(text, Loader=Loader)
    except yaml.YAMLError as exc:
        raise FilterTemplateError(f"{file}: not valid YAML ({exc})") from None


def declared_criteria(template: dict[str, Any]) -> list[DeclaredCriteria]:
    """Every event source of the template that can carry filter criteria, in template order
    (with or without criteria: a source without them lets every record through)."""
    resources: dict[str, Any] = template["Resources"]
    found: list[DeclaredCriteria] = []
    for name, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        kind = resource.get("Type")
        properties = resource.get("Properties")
        properties = properties if isinstance(properties, dict) else {}
        if kind == "AWS::Serverless::Function":
            events = properties.get("Events")
            for event_name, event in (events if isinstance(events, dict) else {}).items():
                if not isinstance(event, dict) or event.get("Type") not in SAM_EVENT_SOURCES:
                    continue
                event_properties = event.get("Properties")
                event_properties = event_properties if isinstance(event_properties, dict) else {}
                found.append(
                    DeclaredCriteria(
                        name,
                        event_name,
                        SAM_EVENT_SOURCES[event["Type"]],
                        event_properties.get("FilterCriteria"),
                    )
                )
        elif kind == "AWS::Lambda::EventSourceMapping":
            found.append(
                DeclaredCriteria(
                    function_of(properties.get("FunctionName"), resources),
                    name,
                    source_of(properties, resources),
                    properties.get("FilterCriteria"),
                )
            )
    return found


def function_of(reference: Any, resources: dict[str, Any]) -> str:
    """The logical id of the function an event source mapping targets (or the name given).
    Shared by every reader of templates (``testing.esm``, ``check``)."""
    if isinstance(reference, dict):
        target = reference.get("Ref", reference.get("Fn::GetAtt"))
        if isinstance(target, list) and target:
            target = target[0]
        if isinstance(target, str):
            return target
        return json.dumps(reference, sort_keys=True)
    if isinstance(reference, str):
        for name, resource in resources.items():
            properties = resource.get("Properties") if isinstance(resource, dict) else None
            if isinstance(properties, dict) and properties.get("FunctionName") == reference:
                return str(name)
        return reference
    return "?"


def source_of(properties: dict[str, Any], resources: dict[str, Any]) -> str | None:
    """The record view for an event source mapping: from its ARN or the resource it refers to.
    Shared by every reader of templates (``testing.esm``, ``check``)."""
    if properties.get("SelfManagedEventSource") is not None:
        return "kafka"
    arn = properties.get("EventSourceArn")
    if isinstance(arn, dict) and isinstance(arn.get("Fn::Sub"), str):
        arn = arn["Fn::Sub"]  # arn:${AWS::Partition}:sqs:...: the service is still readable
    if isinstance(arn, str):
        parts = arn.split(":")
        return _ARN_SERVICES.get(parts[2]) if len(parts) > 2 else None
    if isinstance(arn, dict):
        target = arn.get("Ref", arn.get("Fn::GetAtt"))
        if isinstance(target, list) and target:
            target = target[0]
        resource = resources.get(target) if isinstance(target, str) else None
        if isinstance(resource, dict):
            return RESOURCE_SOURCES.get(str(resource.get("Type")))
    return None


def choose(
    declared: list[DeclaredCriteria], file: str, function: str | None, event: str | None
) -> DeclaredCriteria:
    """The one event source ``function`` / ``event`` designate; an error listing what exists."""
    if not declared:
        raise FilterTemplateError(
            f"{file}: no event source that can carry FilterCriteria (SQS, Kinesis, DynamoDB, "
            "MSK, SelfManagedKafka, MQ, or AWS::Lambda::EventSourceMapping)"
        )
    functions = sorted({d.function for d in declared})
    if function is not None:
        candidates = [d for d in declared if d.function == function]
        if not candidates:
            raise FilterTemplateError(
                f"{file}: no function {function!r} with a filterable event source; "
                f"functions: {', '.join(functions)}"
            )
    elif len(functions) > 1:
        raise FilterTemplateError(
            f"{file}: several functions have filterable event sources; choose one with "
            f"function=: {', '.join(functions)}"
        )
    else:
        candidates = declared
    if event is not None:
        chosen = [d for d in candidates if d.event == event]
        if not chosen:
            names = ", ".join(d.event for d in candidates)
            raise FilterTemplateError(
                f"{file}: function {candidates[0].function!r} has no event source {event!r}; "
                f"event sources: {names}"
            )
        return chosen[0]
    if len(candidates) > 1:
        names = ", ".join(d.event for d in candidates)
        raise FilterTemplateError(
            f"{file}: function {candidates[0].function!r} has several event sources; choose "
            f"one with event=: {names}"
        )
    return candidates[0]
