"""A missing optional dependency is named, with the extra that brings it, when the object that
needs it is created (at import of the user's module), not on its first use in an invocation.

Absence is simulated with ``sys.modules[name] = None``: ``import name`` then fails as if the
package were not installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from lambdakit.errors import LambdakitError, MissingDependencyError
from lambdakit.filtering import FilterCriteria
from lambdakit.kafka import Producer, msk_iam

ROOT = Path(__file__).resolve().parents[2]
CONFIG = {"bootstrap.servers": "127.0.0.1:1"}  # never contacted: nothing is produced

# The package each backend needs, and the extra that installs it.
BACKENDS = [
    pytest.param("confluent", "confluent_kafka", "kafka", id="confluent"),
    pytest.param("kafka-python", "kafka", "kafka-python", id="kafka-python"),
]


def absent(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.parametrize(("backend", "module", "extra"), BACKENDS)
def test_producer_without_its_backend_is_refused_at_construction_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, backend: str, module: str, extra: str
) -> None:
    absent(monkeypatch, module)
    with pytest.raises(MissingDependencyError) as raised:
        Producer(CONFIG, backend=backend)
    message = str(raised.value)
    assert f"pip install 'lambdakit[{extra}]'" in message
    assert f"backend={backend!r}" in message  # where: which object asked for it
    assert raised.value.name == module  # an ImportError, as `except ImportError` expects
    assert isinstance(raised.value, ImportError)
    assert isinstance(raised.value, LambdakitError)


def test_kafka_python_backend_does_not_need_confluent_kafka(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    absent(monkeypatch, "confluent_kafka")
    producer = Producer({"bootstrap_servers": "127.0.0.1:1"}, backend="kafka-python")
    assert producer.created == 0  # and nothing was built


def test_confluent_backend_does_not_need_kafka_python(monkeypatch: pytest.MonkeyPatch) -> None:
    absent(monkeypatch, "kafka")
    assert Producer(CONFIG).created == 0


@pytest.mark.parametrize(("backend", "module", "extra"), BACKENDS)
def test_a_producer_with_its_own_factory_needs_no_backend_library(
    monkeypatch: pytest.MonkeyPatch, backend: str, module: str, extra: str
) -> None:
    absent(monkeypatch, module)
    Producer(CONFIG, backend=backend, factory=lambda config: object())


def test_a_module_placed_in_sys_modules_counts_as_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A module object without __spec__ (what tests inject) makes importlib.util.find_spec
    # raise ValueError; the check must treat it as present, not fail.
    monkeypatch.setitem(sys.modules, "confluent_kafka", types.ModuleType("confluent_kafka"))
    Producer(CONFIG)


def test_msk_iam_without_the_signer_names_the_msk_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    absent(monkeypatch, "aws_msk_iam_sasl_signer")
    with pytest.raises(MissingDependencyError, match=r"pip install 'lambdakit\[msk\]'") as raised:
        msk_iam("eu-west-1")
    assert "msk_iam" in str(raised.value)
    assert raised.value.name == "aws_msk_iam_sasl_signer"


YAML_TEMPLATE = """\
Resources:
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
            FilterCriteria:
              Filters:
                - Pattern: '{"body": {"kind": ["order"]}}'
"""


def test_a_yaml_template_without_pyyaml_names_the_yaml_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(YAML_TEMPLATE, encoding="utf-8")
    absent(monkeypatch, "yaml")
    with pytest.raises(MissingDependencyError) as raised:
        FilterCriteria.from_template(path)
    message = str(raised.value)
    assert "pip install 'lambdakit[yaml]'" in message
    assert str(path) in message  # where: the template being read
    assert raised.value.name == "yaml"


def test_a_json_template_needs_no_pyyaml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    template = {
        "Resources": {
            "Orders": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Events": {
                        "Queue": {
                            "Type": "SQS",
                            "Properties": {
                                "FilterCriteria": {
                                    "Filters": [{"Pattern": '{"body": {"kind": ["order"]}}'}]
                                }
                            },
                        }
                    }
                },
            }
        }
    }
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template), encoding="utf-8")
    absent(monkeypatch, "yaml")
    assert len(FilterCriteria.from_template(path).filters) == 1


def test_every_extra_of_pyproject_is_known_to_the_check() -> None:
    tomllib = pytest.importorskip("tomllib")
    from lambdakit._internal.extras import EXTRAS

    with (ROOT / "pyproject.toml").open("rb") as file:
        declared = tomllib.load(file)["project"]["optional-dependencies"]
    assert set(EXTRAS) == set(declared) - {"dev"}
    for extra, (_, distribution) in EXTRAS.items():
        assert any(
            requirement.lower().startswith(distribution.lower()) for requirement in declared[extra]
        ), (extra, distribution, declared[extra])


@pytest.mark.parametrize(("backend", "module", "extra"), BACKENDS)
def test_checking_at_construction_does_not_import_the_backend(
    backend: str, module: str, extra: str
) -> None:
    # Cold start: the library (and importlib.util, which pulls in functools and contextlib) is
    # not imported when the producer is created, only when its first message is produced.
    code = (
        "import sys\n"
        "from lambdakit.kafka import Producer\n"
        "before = set(sys.modules)\n"
        f"Producer({{}}, backend={backend!r})\n"
        f"print(sorted({{{module!r}, 'importlib.util'}} & (set(sys.modules) - before)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "[]", result.stderr
