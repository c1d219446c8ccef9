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
import math
import os

from lambdakit.errors import IdempotencyConfigurationError, IdempotencyKeyError
from lambdakit.events import RecordView
from lambdakit.idempotency._payload import decoded_record, document_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    import jmespath.parser

KEY_FORMATS = ("lambdakit", "powertools")


def _jsonable(value: Any, *, powertools: bool = False) -> Any:
    """JSON for values a payload may hold that ``json`` does not know (used for hashing only),
    in the order Powertools' key encoder tries them: decimals, models, dataclasses, then enums,
    dates and times, UUIDs and paths (plus bytes and sets, which Powertools refuses).

    ``powertools=True`` differs in one value: Powertools turns a decimal NaN (any sign, quiet or
    signalling) into a float NaN, which ``json`` writes as a bare ``NaN``; its keys must be
    reproduced exactly. The lambdakit format keeps ``str()`` (``"NaN"``), so keys it already
    stored do not move."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return math.nan if powertools and value.is_nan() else str(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return dump(mode="json")
    if hasattr(value, "__dataclass_fields__") and not isinstance(value, type):
        from dataclasses import asdict

        return asdict(value)
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, tuple):
        return list(value)
    import enum

    if isinstance(value, enum.Enum):
        return value.value
    iso = getattr(value, "isoformat", None)
    if callable(iso):
        return iso()
    import uuid
    from pathlib import PurePath

    if isinstance(value, (uuid.UUID, PurePath)):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _powertools_jsonable(value: Any) -> Any:
    return _jsonable(value, powertools=True)


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


class Documents:
    """One payload as expressions see it: ``primary``, and for the Powertools format on a
    record, the decoded record as a fallback (built only if an expression needs it)."""

    __slots__ = ("_decoded", "has_fallback", "payload", "primary")

    def __init__(self, payload: Any, primary: Any, fallback: bool) -> None:
        self.payload = payload
        self.primary = primary
        self.has_fallback = fallback
        self._decoded: Any = None

    def fallback(self) -> Any:
        if self._decoded is None:
            self._decoded = decoded_record(self.payload)
        return self._decoded


class KeyMaker:
    """Compiled once at decoration: the key and validation expressions, prefix and hash."""

    def __init__(
        self,
        *,
        key: str | None,
        validate: str | None,
        key_prefix: str | None,
        key_format: str,
        hash_name: str | Callable[..., Any] | None,
        function: Callable[..., Any],
    ) -> None:
        if key_format not in KEY_FORMATS:
            raise IdempotencyConfigurationError(
                f"key_format={key_format!r}: expected one of {', '.join(KEY_FORMATS)}"
            )
        self.powertools = key_format == "powertools"
        self._digest = _digest_function(hash_name or ("md5" if self.powertools else "sha256"))
        self.key_source = key
        self.validate_source = validate
        self.key_expression = _compile("key", key)
        self.validate_expression = _compile("validate", validate)
        if not self.powertools:
            _refuse_powertools_functions("key", key, self.key_expression)
            _refuse_powertools_functions("validate", validate, self.validate_expression)
        self._options: Any = None
        if key_prefix is not None and (not isinstance(key_prefix, str) or not key_prefix):
            raise IdempotencyConfigurationError(
                f"key_prefix={key_prefix!r}: expected a non-empty string"
            )
        self._key_prefix = key_prefix
        module = getattr(function, "__module__", None) or ""
        qualname = getattr(function, "__qualname__", None) or getattr(function, "__name__", "")
        self.function_path = f"{module}.{qualname}"

    @property
    def prefix(self) -> str:
        """``key_prefix``, else ``<Lambda function name>.<module>.<qualname>`` (Powertools'
        default, so keys match), the function name read when the key is made as Powertools
        does. The default changes when the function is renamed or moved; set ``key_prefix``
        to keep keys stable across refactors."""
        if self._key_prefix is not None:
            return self._key_prefix
        lambda_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "test-func")
        return f"{lambda_name}.{self.function_path}"

    def documents(self, payload: Any) -> Documents:
        """What the expressions see: the payload as JSON-like data."""
        fallback = self.powertools and isinstance(payload, RecordView)
        return Documents(payload, document_of(payload, raw=self.powertools), fallback)

    def key(self, documents: Documents, *, raise_on_missing: bool) -> str | None:
        """``<prefix>#<hash>``, or ``None`` when the key is missing and that is allowed."""
        selected = self._select(self.key_expression, documents)
        if is_missing(selected):
            where = f"key={self.key_source!r}" if self.key_source else "the payload"
            payload = documents.payload
            if isinstance(payload, RecordView) and payload.index is not None:
                # Which record, under process_batch: Records[3], or orders-0@15 for Kafka.
                where = f"{payload.location}: {where}"
            if raise_on_missing:
                raise IdempotencyKeyError(
                    f"{where}: found nothing to build the key from (to run such calls without "
                    "idempotency instead, pass on_missing_key='run')"
                )
            return None
        return f"{self.prefix}#{self._hash(selected, 'key')}"

    def validation(self, documents: Documents) -> str | None:
        """The hash of the ``validate`` fields, or ``None`` when validation is off."""
        if self.validate_expression is None:
            return None
        return self._hash(self._select(self.validate_expression, documents), "validate")

    def _select(self, expression: jmespath.parser.ParsedResult | None, docs: Documents) -> Any:
        """Evaluate over the primary document; in the Powertools format a record's expression
        that finds nothing there (``body.order_id``: the body is still a string) is evaluated
        over the decoded record, which hashes exactly like ``powertools_json(body).order_id``.
        """
        found = self._search(expression, docs.primary)
        if docs.has_fallback and expression is not None and is_missing(found):
            return self._search(expression, docs.fallback())
        return found

    def _search(self, expression: jmespath.parser.ParsedResult | None, document: Any) -> Any:
        if expression is None:
            return document
        if not self.powertools:
            return expression.search(document)
        if self._options is None:
            import jmespath

            self._options = jmespath.Options(custom_functions=_powertools_functions())
        return expression.search(document, options=self._options)

    def _hash(self, value: Any, option: str) -> str:
        try:
            if self.powertools:
                # Powertools' exact text: default separators, ASCII escapes, sorted keys.
                text = json.dumps(value, sort_keys=True, default=_powertools_jsonable)
            else:
                text = json.dumps(
                    value,
                    sort_keys=True,
                    separators=(",", ":"),
                    ensure_ascii=False,
                    default=_jsonable,
                )
        except (TypeError, ValueError) as exc:
            source = self.key_source if option == "key" else self.validate_source
            raise IdempotencyKeyError(
                f"{option}={source!r}: the selected value cannot be hashed ({exc})"
            ) from None
        return self._digest(text.encode("utf-8", "surrogatepass"))


def _digest_function(algorithm: str | Callable[..., Any]) -> Callable[[bytes], str]:
    """``bytes -> hex digest`` for a hashlib name or constructor (e.g. ``hashlib.sha256``),
    asked for with ``usedforsecurity=False`` where the constructor accepts it."""
    if isinstance(algorithm, str):
        name = algorithm
        try:
            hashlib.new(name, usedforsecurity=False)
        except (ValueError, TypeError) as exc:
            raise IdempotencyConfigurationError(
                f"hash={name!r}: not a hashlib algorithm available here ({exc})"
            ) from None
        return lambda data: hashlib.new(name, data, usedforsecurity=False).hexdigest()
    if callable(algorithm):
        constructor = algorithm
        try:
            constructor(b"", usedforsecurity=False).hexdigest()
        except TypeError:
            try:
                str(constructor(b"").hexdigest())
            except Exception as exc:
                raise IdempotencyConfigurationError(
                    f"hash={algorithm!r}: expected a hashlib name or constructor ({exc})"
                ) from None
            return lambda data: str(constructor(data).hexdigest())
        return lambda data: str(constructor(data, usedforsecurity=False).hexdigest())
    raise IdempotencyConfigurationError(
        f"hash={algorithm!r}: expected a hashlib name or constructor"
    )


def _refuse_powertools_functions(
    option: str, source: str | None, compiled: jmespath.parser.ParsedResult | None
) -> None:
    """``powertools_json(body).x`` without ``key_format="powertools"``: jmespath would raise
    ``UnknownFunctionError`` on every call; refused here, naming the option that enables it."""
    if compiled is None:
        return
    found: list[str] = []
    nodes: list[Any] = [compiled.parsed]
    while nodes:
        node = nodes.pop()
        if isinstance(node, dict):
            if node.get("type") == "function_expression" and str(node.get("value", "")).startswith(
                "powertools_"
            ):
                found.append(str(node["value"]))
            nodes.extend(node.get("children", ()))
            nodes.append(node.get("value"))
        elif isinstance(node, list):
            nodes.extend(node)
    if found:
        raise IdempotencyConfigurationError(
            f"{option}={source!r} uses {', '.join(sorted(set(found)))}, a Powertools JMESPath "
            "function: pass key_format='powertools' (keys identical to Powertools'), or select "
            "the decoded field directly (lambdakit decodes a JSON body for you: "
            "key='body.order_id')"
        )


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
