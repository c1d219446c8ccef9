"""Optional dependencies: checked when the object needing one is created, imported on first use.

A producer made at module level must fail at import of the function's module, where a missing
extra is a deployment error anyone reads, and not on the first message of some invocation. The
library itself is still imported only when first used (cold start), so the check only *finds*
the module: it asks the import system's finders (``sys.meta_path``, as ``import`` does) for a
spec, which reads no module code. ``importlib.util.find_spec`` does the same but importing
``importlib.util`` costs about 3 ms in a fresh process (it loads functools, contextlib and
collections); a submodule (``google.protobuf``) is found in its parent's search locations, read
from the parent's spec, so not even the parent is imported.
"""

from __future__ import annotations

import sys

from lambdakit.errors import MissingDependencyError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# extra (as in pyproject.toml) -> (the module it provides, its distribution name).
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
    """Whether ``import module`` would find it, without importing it (nor, for a submodule such
    as ``google.protobuf``, its parent package: the parent's search locations come from its
    spec)."""
    if module in sys.modules:
        # Already imported (or placed there); None is how an import is blocked.
        return sys.modules[module] is not None
    parent, _, _ = module.rpartition(".")
    path = None
    if parent:
        if parent in sys.modules:
            if sys.modules[parent] is None:
                return False
            path = getattr(sys.modules[parent], "__path__", None)
        else:
            spec = _spec(parent, None)
            path = None if spec is None else spec.submodule_search_locations
        if path is None:
            return False
    return _spec(module, path) is not None


def _spec(module: str, path: Any) -> Any:
    """The first spec ``sys.meta_path``'s finders give for ``module`` (searched in ``path``, a
    package's locations, for a submodule), as ``import`` would ask them."""
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is not None:
            found = find_spec(module, path)
            if found is not None:
                return found
    return None
