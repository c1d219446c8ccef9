"""Optional dependencies: checked when the object needing one is created, imported on first use.

A producer made at module level must fail at import of the function's module, where a missing
extra is a deployment error anyone reads, and not on the first message of some invocation. The
library itself is still imported only when first used (cold start), so the check only *finds*
the module: it asks the import system's finders (``sys.meta_path``, as ``import`` does) for a
spec, which reads no module code. ``importlib.util.find_spec`` does the same but importing
``importlib.util`` costs about 3 ms in a fresh process (it loads functools, contextlib and
collections), for names that are always top-level here.
"""

from __future__ import annotations

import sys

from lambdakit.errors import MissingDependencyError

# extra (as in pyproject.toml) -> (the top-level module it provides, its distribution name).
EXTRAS = {
    "yaml": ("yaml", "PyYAML"),
    "kafka": ("confluent_kafka", "confluent-kafka"),
    "kafka-python": ("kafka", "kafka-python"),
    "msk": ("aws_msk_iam_sasl_signer", "aws-msk-iam-sasl-signer-python"),
    "cost": ("plotly", "plotly"),
    "avro": ("fastavro", "fastavro"),
    "protobuf": ("google.protobuf", "protobuf"),
    "jsonschema": ("jsonschema", "jsonschema"),
}


def require(extra: str, what: str) -> None:
    """Raise :class:`MissingDependencyError` unless the module of ``extra`` can be imported;
    ``what`` says who needs it (``Producer(backend='confluent')``), for the message."""
    module, distribution = EXTRAS[extra]
    if not _installed(module):
        raise MissingDependencyError(
            f"{what} needs {distribution}, which is not installed: "
            f"pip install 'lambdakit[{extra}]'",
            name=module,
        )


def _installed(module: str) -> bool:
    """Whether ``import module`` would find it, without importing it."""
    if module in sys.modules:
        # Already imported (or placed there); None is how an import is blocked.
        return sys.modules[module] is not None
    if "." in module:
        # A submodule of a namespace package (google.protobuf): finding it imports the parent,
        # which for a namespace package reads no code.
        from importlib.util import find_spec as find_submodule

        try:
            return find_submodule(module) is not None
        except (ImportError, ValueError):
            return False
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is not None and find_spec(module, None) is not None:
            return True
    return False
