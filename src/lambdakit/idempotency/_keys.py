"""From a payload to an idempotency key and a validation hash.

Two key formats exist. ``"lambdakit"`` (the default) hashes canonical JSON (sorted keys, no
whitespace) with SHA-256. ``"powertools"`` reproduces Powertools for AWS Lambda (Python) byte for
byte: the raw payload (an SQS body stays a string), its ``powertools_json`` family of JMESPath
functions, ``json.dumps(..., sort_keys=True)`` with its default separators, and MD5 unless
``hash=`` says otherwise, so records written by either library are found by the other.

Hashes are computed with ``usedforsecurity=False``: they identify payloads, they do not protect
them, and on FIPS builds of Python that is what keeps MD5 (for the Powertools format) usable.
"""

from __future__ import annotations

import hashlib
import json
import os

from lambdakit.errors import IdempotencyConfigurationError, IdempotencyKeyError
from lambdakit.idempotency._payload import document_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    import jmespath.parser

KEY_FORMATS = ("lambdakit", "powertools")


def _jsonable(value: Any) -> Any:
    """JSON for values JMESPath may select that ``json`` does not know (used for hashing)."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value, key=repr) if not isinstance(value, tuple) else list(value)
    iso = getattr(value, "isoformat", None)
    if callable(iso):
        return iso()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _powertools_functions() -> Any:
    """Powertools' JMESPath extension functions, so its key expressions work unchanged."""
    import base64
    import gzip

    import jmespath.functions

    class PowertoolsFunctions(jmespath.functions.Functions):
        @jmespath.functions.signature({"types": ["string"]})
        def _func_powertools_json(self, value: str) -> Any:
            return json.loads(value)

        @jmespath.functions.signature({"types": ["string"]})
        def _func_powertools_base64(self, value: str) -> str:
            return base64.b64decode(value).decode()

        @jmespath.functions.signature({"types": ["string"]})
        def _func_powertools_base64_gzip(self, value: str) -> str:
            return gzip.decompress(base64.b64decode(value)).decode()

    return PowertoolsFunctions()


def is_missing(value: Any) -> bool:
    """Whether a key expression found nothing: ``None``, an empty string or container, or a
    multi-select whose every field is missing (``[a, b]`` over a payload with neither)."""
    if isinstance(value, dict):
        return all(v is None for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(v is None for v in value)
    if isinstance(value, (bool, int, float)):
        return False
    return not value


class KeyMaker:
    """Compiled once at decoration: the key and validation expressions, prefix and hash."""

    def __init__(
        self,
        *,
        key: str | None,
        validate: str | None,
        key_prefix: str | None,
        key_format: str,
        hash_name: str | None,
        function: Callable[..., Any],
    ) -> None:
        if key_format not in KEY_FORMATS:
            raise IdempotencyConfigurationError(
                f"key_format={key_format!r}: expected one of {', '.join(KEY_FORMATS)}"
            )
        self.powertools = key_format == "powertools"
        self.hash_name = hash_name or ("md5" if self.powertools else "sha256")
        try:
            hashlib.new(self.hash_name, usedforsecurity=False)
        except (ValueError, TypeError) as exc:
            raise IdempotencyConfigurationError(
                f"hash={self.hash_name!r}: not a hashlib algorithm available here ({exc})"
            ) from None
        self.key_source = key
        self.validate_source = validate
        self.key_expression = _compile("key", key)
        self.validate_expression = _compile("validate", validate)
        self._options: Any = None
        if key_prefix is not None and (not isinstance(key_prefix, str) or not key_prefix):
            raise IdempotencyConfigurationError(
                f"key_prefix={key_prefix!r}: expected a non-empty string"
            )
        self.prefix = key_prefix or default_prefix(function)

    def document(self, payload: Any) -> Any:
        """What the expressions see: the payload as JSON-like data."""
        return document_of(payload, raw=self.powertools)

    def key(self, document: Any, *, raise_on_missing: bool) -> str | None:
        """``<prefix>#<hash>``, or ``None`` when the key is missing and that is allowed."""
        selected = self._search(self.key_expression, document)
        if is_missing(selected):
            where = f"key={self.key_source!r}" if self.key_source else "the payload"
            if raise_on_missing:
                raise IdempotencyKeyError(f"{where}: found nothing to build the key from")
            return None
        return f"{self.prefix}#{self._hash(selected)}"

    def validation(self, document: Any) -> str | None:
        """The hash of the ``validate`` fields, or ``None`` when validation is off."""
        if self.validate_expression is None:
            return None
        return self._hash(self._search(self.validate_expression, document))

    def _search(self, expression: jmespath.parser.ParsedResult | None, document: Any) -> Any:
        if expression is None:
            return document
        if not self.powertools:
            return expression.search(document)
        if self._options is None:
            import jmespath

            self._options = jmespath.Options(custom_functions=_powertools_functions())
        return expression.search(document, options=self._options)

    def _hash(self, value: Any) -> str:
        if self.powertools:
            # Powertools' exact text: default separators, ASCII escapes, sorted keys.
            text = json.dumps(value, sort_keys=True, default=_jsonable)
        else:
            text = json.dumps(
                value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_jsonable
            )
        digest = hashlib.new(
            self.hash_name, text.encode("utf-8", "surrogatepass"), usedforsecurity=False
        )
        return digest.hexdigest()


def default_prefix(function: Callable[..., Any]) -> str:
    """``<Lambda function name>.<module>.<qualname>`` (Powertools' default, so keys match).

    It changes when the function is renamed or moved; set ``key_prefix`` to keep keys stable
    across refactors.
    """
    lambda_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "test-func")
    module = getattr(function, "__module__", None) or ""
    qualname = getattr(function, "__qualname__", None) or getattr(function, "__name__", "")
    return f"{lambda_name}.{module}.{qualname}"


def _compile(option: str, source: str | None) -> jmespath.parser.ParsedResult | None:
    if source is None:
        return None
    if not isinstance(source, str) or not source.strip():
        raise IdempotencyConfigurationError(
            f"{option}={source!r}: expected a JMESPath expression string"
        )
    import jmespath
    import jmespath.exceptions

    try:
        return jmespath.compile(source)
    except jmespath.exceptions.JMESPathError as exc:
        raise IdempotencyConfigurationError(
            f"{option}={source!r}: not a valid JMESPath expression ({exc})"
        ) from None
