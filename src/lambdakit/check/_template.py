"""The template as ``lambdakit check`` sees it: event sources, their function and the queue,
stream or table they read, with values resolved where the template makes them static.

Reading (YAML with CloudFormation's short tags, or JSON) is :mod:`lambdakit.filtering`'s.
Resolution here is lenient, unlike the event-source-mapping model's (which must refuse what it
cannot simulate): a value the template computes (``!If``, ``!FindInMap``, a parameter without
``Default``) resolves to :data:`UNKNOWN`, and the rules that need it stay silent rather than
guess.
"""

from __future__ import annotations

import re

from lambdakit._internal.sam import (
    DEFAULT_FUNCTION_TIMEOUT,
    FUNCTION_TYPES,
    MAPPING_EVENT_TYPES,
    mapping,
)
from lambdakit.errors import CheckError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

# SAM event types that are event source mappings: their source, and the property naming it.
_SOURCE_PROPERTIES = {"SQS": "Queue", "Kinesis": "Stream", "DynamoDB": "Stream", "MSK": "Stream"}
SAM_SOURCES = {
    sam: (source, _SOURCE_PROPERTIES.get(sam)) for sam, source in MAPPING_EVENT_TYPES.items()
}
DEFAULT_VISIBILITY_TIMEOUT = 30  # AWS::SQS::Queue VisibilityTimeout


class _Unknown:
    """A value the template computes: not decidable without deploying."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


class EventSource:
    """One event source mapping: the function it invokes, the source kind (``sqs`` ...), its
    properties, the resource that declares it and the property path to its properties
    (``Properties.Events.Orders.Properties`` for SAM, ``Properties`` for a mapping resource),
    the logical id of the queue / stream resource it reads (``None``: outside the template,
    or not static), and its ARN when that is a static string (a queue in another stack)."""

    __slots__ = ("arn", "function", "kind", "name", "path", "properties", "resource", "target")

    def __init__(
        self,
        function: str,
        name: str,
        kind: str | None,
        properties: dict[str, Any],
        resource: str,
        path: str,
        target: str | None,
        arn: str | None = None,
    ) -> None:
        self.arn = arn
        self.function = function
        self.name = name
        self.kind = kind
        self.properties = properties
        self.resource = resource
        self.path = path
        self.target = target


class Template:
    """The loaded template and its static values."""

    def __init__(self, path: str | Path) -> None:
        from lambdakit.errors import FilterTemplateError
        from lambdakit.filtering._template import load_template

        self.file = str(path)
        try:
            self.data = load_template(path)
        except FilterTemplateError as exc:
            raise CheckError(str(exc)) from None
        self.resources: dict[str, Any] = self.data["Resources"]
        self.parameters = mapping(self.data.get("Parameters"))
        self.globals = mapping(mapping(self.data.get("Globals")).get("Function"))

    # --- values --------------------------------------------------------------------------------

    def value(self, value: Any) -> Any:
        """``value`` with parameters replaced by their defaults and static ``Fn::Sub`` texts
        substituted; :data:`UNKNOWN` when the template computes it."""
        if not isinstance(value, dict) or len(value) != 1:
            return value
        (key, argument), *_ = value.items()
        if key == "Ref":
            parameter = self.parameters.get(argument) if isinstance(argument, str) else None
            if isinstance(parameter, dict) and "Default" in parameter:
                return parameter["Default"]
            return UNKNOWN
        if key == "Fn::Sub":
            text = argument[0] if isinstance(argument, list) and argument else argument
            if not isinstance(text, str):
                return UNKNOWN
            unknown = False

            def substitute(match: re.Match[str]) -> str:
                nonlocal unknown
                resolved = self.value({"Ref": match.group(1)})
                if resolved is UNKNOWN or isinstance(resolved, (dict, list)):
                    unknown = True
                    return ""
                return str(resolved)

            result = _SUB.sub(substitute, text)
            return UNKNOWN if unknown else result
        if key.startswith("Fn::") or key == "Condition":
            return UNKNOWN
        return value

    def number(self, value: Any) -> float | None:
        """A static number (CloudFormation accepts numbers as strings), else ``None``."""
        value = self.value(value)
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return value
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return None
        return None

    def boolean(self, value: Any) -> bool | None:
        value = self.value(value)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return None

    def target(self, reference: Any, types: tuple[str, ...] = ()) -> str | None:
        """The logical id of the resource ``reference`` designates (``!Ref X``,
        ``!GetAtt X.Arn``, ``!Sub "${X.Arn}"``, or an ARN/name matching a resource's name
        property); ``None`` when it is outside the template or not static."""
        name: Any = None
        if isinstance(reference, dict) and len(reference) == 1:
            (key, argument), *_ = reference.items()
            if key == "Ref":
                name = argument
            elif key == "Fn::GetAtt":
                name = argument[0] if isinstance(argument, list) and argument else argument
                if isinstance(name, str):
                    name = name.split(".", 1)[0]
            elif key == "Fn::Sub":
                text = argument[0] if isinstance(argument, list) and argument else argument
                whole = re.fullmatch(r"\$\{([^}.]+)(\.[^}]*)?\}", text or "")
                if isinstance(text, str) and whole:
                    name = whole.group(1)
            if not (isinstance(name, str) and name in self.resources):
                resolved = self.value(reference)
                return None if resolved is UNKNOWN else self.target(resolved, types)
        elif isinstance(reference, str):
            last = reference.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
            for logical_id, resource in self.resources.items():
                properties = mapping(mapping(resource).get("Properties"))
                names = ("QueueName", "StreamName", "TableName", "ClusterName")
                if any(self.value(properties.get(n)) == last for n in names):
                    name = logical_id
                    break
        if not isinstance(name, str) or name not in self.resources:
            return None
        if types and self.type_of(name) not in types:
            return None
        return name

    def type_of(self, name: str) -> str:
        return str(mapping(self.resources.get(name)).get("Type"))

    def properties(self, name: str) -> dict[str, Any]:
        return mapping(mapping(self.resources.get(name)).get("Properties"))

    # --- functions and their event sources -----------------------------------------------------

    def functions(self) -> list[str]:
        return [name for name in self.resources if self.type_of(name) in FUNCTION_TYPES]

    def function_setting(self, function: str, key: str) -> tuple[Any, str]:
        """A function property as deployed, and where it comes from (SAM ``Globals`` apply to
        ``AWS::Serverless::Function`` only); ``(None, "")`` when unset."""
        properties = self.properties(function)
        if key in properties:
            return properties[key], f"{function}.Properties.{key}"
        if self.type_of(function) == "AWS::Serverless::Function" and key in self.globals:
            return self.globals[key], f"Globals.Function.{key}"
        return None, ""

    def timeout(self, function: str) -> tuple[float | None, str]:
        """The function's timeout in seconds and where it is set; ``None`` when computed."""
        raw, where = self.function_setting(function, "Timeout")
        if raw is None:
            return DEFAULT_FUNCTION_TIMEOUT, "the default timeout"
        return self.number(raw), where

    def event_sources(self) -> list[EventSource]:
        """Every event source mapping of the template, in template order: SAM ``Events`` and
        ``AWS::Lambda::EventSourceMapping`` resources."""
        from lambdakit.filtering._template import RESOURCE_SOURCES, function_of, source_of

        found: list[EventSource] = []
        for name, resource in self.resources.items():
            kind = mapping(resource).get("Type")
            properties = mapping(mapping(resource).get("Properties"))
            if kind == "AWS::Serverless::Function":
                for event_name, event in mapping(properties.get("Events")).items():
                    sam = SAM_SOURCES.get(str(mapping(event).get("Type")))
                    if sam is None:
                        continue
                    source, key = sam
                    event_properties = mapping(mapping(event).get("Properties"))
                    target = self.target(event_properties.get(key)) if key else None
                    found.append(
                        EventSource(
                            name,
                            str(event_name),
                            source,
                            event_properties,
                            name,
                            f"Properties.Events.{event_name}.Properties",
                            target,
                            self.static_arn(event_properties.get(key)) if key else None,
                        )
                    )
            elif kind == "AWS::Lambda::EventSourceMapping":
                reference = properties.get("EventSourceArn")
                target = self.target(reference)
                arn = self.static_arn(reference)
                source_kind = source_of(properties, self.resources)
                if source_kind is None and arn is not None:  # !Ref to a parameter, !Sub ...
                    source_kind = source_of({"EventSourceArn": arn}, self.resources)
                if source_kind is None and target is not None:  # !Sub "${Queue.Arn}"
                    source_kind = RESOURCE_SOURCES.get(self.type_of(target))
                found.append(
                    EventSource(
                        function_of(properties.get("FunctionName"), self.resources),
                        name,
                        source_kind,
                        properties,
                        name,
                        "Properties",
                        target,
                        arn,
                    )
                )
        return found

    def static_arn(self, reference: Any) -> str | None:
        """``reference`` as a static ARN string (a literal, a parameter's default, a static
        ``Fn::Sub``), else ``None``."""
        resolved = self.value(reference)
        return resolved if isinstance(resolved, str) and resolved.startswith("arn:") else None
