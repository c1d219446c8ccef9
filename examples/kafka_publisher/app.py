"""An HTTP endpoint that publishes orders to Amazon MSK (IAM access control), answering 200 only
once the broker has acknowledged the message, and never publishing one request twice.

Deployed with ``template.yaml`` behind an API Gateway HTTP API (``POST /orders``, payload format
2.0); a Lambda function URL delivers the same event shape and works unchanged. A client sends::

    POST /orders
    Idempotency-Key: 5f0c6d1e-...            (a fresh UUID per order, the same one on every retry)
    {"order_id": "o-1001", "amount": 12.5, "currency": "EUR"}

and gets one of:

- ``200 {"message_id": ..., "topic": ...}``: the broker acknowledged the message (``acks=all``:
  the producer runs with ``enable.idempotence``). The same response, byte for byte, answers
  every retry of this key for ``IDEMPOTENCY_EXPIRES_AFTER_S`` (24 hours), without publishing.
- ``400 {"error": "body.amount: expected a number"}``: the request names what was wrong and
  where; nothing was published, nothing stored, so the corrected request may reuse the key.
- ``503`` with ``Retry-After``: the message was not acknowledged within the deadline (broker
  down, unreachable, refusing writes). Nothing was stored under the key: retrying it publishes.
- ``409`` with ``Retry-After``: the same key is being published by another invocation right now.
- ``422``: the key was already used with a different order (a client bug: never reuse keys).

How the decorators stack, outermost first, and why::

    handler             HTTP: validate, map each outcome to a status code (not decorated)
      publish           called with {"idempotency_key", "order"} and the context
        idempotent      key = the client's Idempotency-Key; validate = the order
          flush_kafka   flush; raise KafkaDeliveryError unless the message was acknowledged
            produce     one message: key = order_id, value = the order and its message_id

What ``@idempotent`` stores is what ``publish`` returns, and it stores it only when ``publish``
returns. ``@flush_kafka`` is *under* it, so ``publish`` returns only after the broker
acknowledged; a delivery failure is an exception of the idempotent call, which stores nothing
and releases the key. So the 200 is stored and replayed, the 503 never is, and the client's
retry publishes. The other orders do not work:

- ``@flush_kafka`` over ``@idempotent``: the 200 would be stored *before* the flush. A failed
  delivery still answers 503, but the retry replays the stored 200 without publishing: the
  client believes an order was published that never was. Silent loss.
- ``@idempotent`` over ``handler`` (the whole HTTP exchange): every answer would be stored, 503s
  and 400s included, so a retry after an outage would replay the 503 for a day. (lambdakit
  stores every returned value, ``None`` included; only an exception leaves nothing behind.)

Validation runs before ``@idempotent``: a 400 takes no lock and stores nothing (as Stripe does
for requests that fail validation), and the key is built from the header only once the header
is known to be there, so a missing header is a 400 of ours, not an ``IdempotencyKeyError``.
``@idempotent`` sees the *validated* order, not the raw body, so ``validate="order"`` compares
what was asked for: ``{"amount": 12.5}`` and ``{"amount":12.50}`` are the same order, and a
different one under a used key is a 422 instead of someone else's 200.

The guarantees, honestly:

- *200 means acknowledged.* The response is written after the flush; a 200 is never stored for
  a message the broker did not take.
- *One request, one publication, as seen by the client.* A retry of a key answered 200 gets that
  200 and publishes nothing. The lock is a conditional write to DynamoDB, so two concurrent
  retries cannot both publish (the second gets 409).
- *At least once on the topic.* A 503 can follow a message the broker did store (the
  acknowledgement was lost, or the flush deadline came first); the retry publishes it again. Both
  copies carry the same ``message_id`` (a UUID derived from the key and the order) and the same
  bytes, so consumers deduplicate on it. A crash between the broker's acknowledgement and the
  DynamoDB write leaves the same duplicate, for the same reason.
- ``KAFKA_MESSAGE_TIMEOUT_MS`` (5 s) is below the function timeout (10 s), so librdkafka gives a
  message up, and reports it, inside the invocation that produced it; a message it gave up on
  is never sent later by the next thaw.
- If DynamoDB fails *after* the broker acknowledged (``IdempotencyPersistenceError`` with
  ``function_ran``), the answer is still the 200: the message is on the topic and saying
  otherwise would cause a second publication. It is logged as an error: the key's lock stays
  until the end of this invocation (a retry meanwhile gets 409), and a retry after that
  publishes again.

The producer
------------
``producer`` is created at module level from :func:`kafka_config` and builds its client on the
first message, so importing this module connects to nothing, and the connection (and its IAM
token) serves every invocation of the execution environment. ``KAFKA_AUTH=iam`` (the template)
uses :func:`lambdakit.kafka.msk_iam`, which signs tokens with the function role's credentials
and sizes ``reconnect.backoff.max.ms`` from ``KAFKA_MAX_CONCURRENCY`` (the function's reserved
concurrency) and ``KAFKA_BROKER_CONNECTIONS_PER_SECOND``: the template and README show that
arithmetic. ``KAFKA_AUTH=none`` is plaintext, for tests against a local cluster, which cannot
speak SASL: everything else is the same code. Without ``KAFKA_BOOTSTRAP`` the module refuses to
load, naming the variable, rather than answer every request with a 503.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lambdakit.idempotency import (
    DynamoDBStore,
    IdempotencyAlreadyInProgressError,
    IdempotencyPayloadMismatchError,
    IdempotencyPersistenceError,
    idempotent,
)
from lambdakit.kafka import (
    KafkaConfigurationError,
    KafkaDeliveryError,
    Producer,
    flush_kafka,
    msk_iam,
)

logger = logging.getLogger(__name__)

store = DynamoDBStore(os.environ.get("IDEMPOTENCY_TABLE", "kafka-publisher-idempotency"))
ORDERS_TOPIC = os.environ.get("ORDERS_TOPIC", "orders")

IDEMPOTENCY_HEADER = "idempotency-key"  # HTTP API and function URLs lower-case header names
MAX_KEY_LENGTH = 255  # a UUID is 36; longer keys are a client bug, not a key
IDEMPOTENCY_EXPIRES_AFTER_S = 24 * 3600  # how long a client may retry and get the same answer
# Seconds a client should wait before retrying a 503 or 409: the function's timeout (10 s), after
# which no lock of this key is held and librdkafka has tried to reconnect several times.
RETRY_AFTER_S = 10
AUTH_MODES = ("iam", "none")
FIELDS = ("order_id", "amount", "currency")
CURRENCY = re.compile(r"[A-Z]{3}")
# message_id = uuid5(MESSAGE_IDS, key and order): the same for every publication of one request.
MESSAGE_IDS = uuid.uuid5(
    uuid.NAMESPACE_URL, "https://github.com/lambdakit/examples/kafka_publisher"
)


def _positive(environ: Mapping[str, str], name: str, default: str) -> int:
    """The environment variable ``name`` as a positive integer, or a configuration error
    naming it: a bad value is refused at init, not on the first order."""
    value = environ.get(name, default).strip()
    if not value.isdigit() or int(value) < 1:
        raise KafkaConfigurationError(f"{name}={value!r}: expected a positive whole number")
    return int(value)


def kafka_config(environ: Mapping[str, str]) -> dict[str, Any]:
    """The producer's configuration (librdkafka's keys) from the function's environment."""
    bootstrap = environ.get("KAFKA_BOOTSTRAP", "").strip()
    if not bootstrap:
        raise KafkaConfigurationError(
            "KAFKA_BOOTSTRAP is not set: set it to the cluster's IAM bootstrap brokers "
            "(aws kafka get-bootstrap-brokers: BootstrapBrokerStringSaslIam, port 9098)"
        )
    auth = environ.get("KAFKA_AUTH", "iam").strip().lower()
    if auth not in AUTH_MODES:
        raise KafkaConfigurationError(f"KAFKA_AUTH={auth!r}: expected one of {AUTH_MODES}")
    if auth == "iam":
        # reconnect.backoff.max.ms = 1000 * concurrency / connections per second (docs/kafka.md)
        security = msk_iam(
            environ.get("AWS_REGION") or None,  # Lambda sets it
            concurrency=_positive(environ, "KAFKA_MAX_CONCURRENCY", "100"),
            connections_per_second=_positive(environ, "KAFKA_BROKER_CONNECTIONS_PER_SECOND", "100"),
        )
    else:
        security = {"security.protocol": "plaintext"}
    return {
        **security,
        "bootstrap.servers": bootstrap,
        "client.id": environ.get("AWS_LAMBDA_FUNCTION_NAME", "kafka-publisher"),
        "enable.idempotence": True,  # acks=all; the client's own retries add no duplicates
        "message.timeout.ms": _positive(environ, "KAFKA_MESSAGE_TIMEOUT_MS", "5000"),
    }


producer = Producer(kafka_config(os.environ))  # no connection until the first order


class BadRequest(Exception):
    """A request this function answers with ``status`` and the message as ``{"error": ...}``,
    before anything is locked, published or stored."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def respond(
    status: int, body: Mapping[str, Any], *, retry_after: int | None = None
) -> dict[str, Any]:
    """A payload format 2.0 response (HTTP API and function URLs share it)."""
    headers = {"content-type": "application/json"}
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    return {
        "statusCode": status,
        "headers": headers,
        "body": json.dumps(body, sort_keys=True, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def parse_request(event: Mapping[str, Any]) -> dict[str, Any]:
    """``{"idempotency_key": ..., "order": {...}}`` from the event, or :class:`BadRequest`
    naming the first thing wrong and where (``body.amount: expected a number``)."""
    method = event.get("requestContext", {}).get("http", {}).get("method")
    if method != "POST":
        raise BadRequest(f"requestContext.http.method: {method!r}: only POST publishes", 405)
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    key = str(headers.get(IDEMPOTENCY_HEADER, "")).strip()
    if not key:
        raise BadRequest(
            f"headers.{IDEMPOTENCY_HEADER}: missing: send a new Idempotency-Key (a UUID) with "
            "each order, and the same one when you retry it"
        )
    if len(key) > MAX_KEY_LENGTH:
        raise BadRequest(
            f"headers.{IDEMPOTENCY_HEADER}: {len(key)} characters, at most {MAX_KEY_LENGTH}"
        )
    return {"idempotency_key": key, "order": parse_order(event)}


def parse_order(event: Mapping[str, Any]) -> dict[str, str]:
    """The body's order, checked and normalised (the amount as exact decimal text)."""
    body = event.get("body")
    if not isinstance(body, str) or not body:
        raise BadRequest("body: missing: expected a JSON object")
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BadRequest("body: base64-encoded, but not base64 of UTF-8 text") from None
    try:
        data = json.loads(body, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"body: not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})"
        ) from None
    if not isinstance(data, dict):
        raise BadRequest(f"body: expected a JSON object, got {type(data).__name__}")
    order_id = data.get("order_id")
    if not isinstance(order_id, str) or not order_id.strip():
        raise BadRequest("body.order_id: expected a non-empty string")
    amount = data.get("amount")
    if not isinstance(amount, Decimal):  # bool, string, null and NaN/Infinity (floats) too
        raise BadRequest("body.amount: expected a number")
    if amount <= 0:
        raise BadRequest(f"body.amount: expected a number greater than 0, got {amount}")
    currency = data.get("currency")
    if not isinstance(currency, str) or not CURRENCY.fullmatch(currency):
        raise BadRequest("body.currency: expected a 3-letter currency code such as 'EUR'")
    unexpected = sorted(set(data) - set(FIELDS))
    if unexpected:
        raise BadRequest(f"body.{unexpected[0]}: unexpected field (expected {', '.join(FIELDS)})")
    return {"order_id": order_id, "amount": format(amount.normalize(), "f"), "currency": currency}


def message_id_of(request: Mapping[str, Any]) -> str:
    """The message's id: the same for every publication of one request (key and order), so
    consumers can drop the copies at-least-once delivery makes."""
    return str(uuid.uuid5(MESSAGE_IDS, json.dumps(request, sort_keys=True)))


def published_value(message_id: str, order: Mapping[str, str]) -> str:
    """The message value: the order and its id as JSON with sorted keys, the same bytes every
    time the same request is published."""
    return json.dumps({**order, "message_id": message_id}, sort_keys=True, separators=(",", ":"))


@idempotent(
    store,
    key="idempotency_key",  # the client's Idempotency-Key header
    validate="order",  # the same key with another order is a 422, not someone else's 200
    key_prefix="kafka-publisher.publish",  # keys survive renaming the function or its stack
    expires_after=IDEMPOTENCY_EXPIRES_AFTER_S,
)  # the lock ends with the invocation (from the context): a crash frees the key by then
@flush_kafka(producer)  # under @idempotent: only an acknowledged message returns, and is stored
def publish(request: dict[str, Any], context: Any) -> dict[str, Any]:
    order = request["order"]
    message_id = message_id_of(request)
    producer.produce(
        ORDERS_TOPIC,
        published_value(message_id, order),
        key=order["order_id"],  # one order's messages stay in one partition, in order
        headers={"message-id": message_id},
    )
    return respond(200, {"message_id": message_id, "topic": ORDERS_TOPIC})


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The HTTP exchange: every outcome of :func:`publish` as a status code."""
    try:
        request = parse_request(event)
    except BadRequest as exc:
        allow = {"allow": "POST"} if exc.status == 405 else {}
        response = respond(exc.status, {"error": str(exc)})
        response["headers"].update(allow)
        return response
    try:
        return publish(request, context)
    except KafkaDeliveryError as exc:
        logger.warning("order %s not acknowledged: %s", request["order"]["order_id"], exc)
        return respond(
            503,
            {"error": "the order was not acknowledged by Kafka; retry with the same key"},
            retry_after=RETRY_AFTER_S,
        )
    except IdempotencyAlreadyInProgressError:
        return respond(
            409,
            {"error": f"headers.{IDEMPOTENCY_HEADER}: this key is being published right now"},
            retry_after=RETRY_AFTER_S,
        )
    except IdempotencyPayloadMismatchError:
        return respond(
            422,
            {"error": f"headers.{IDEMPOTENCY_HEADER}: already used with a different order"},
        )
    except IdempotencyPersistenceError as exc:
        # Acknowledged by the broker, then not recorded: the 200 is the truth (see above).
        if exc.function_ran and isinstance(exc.result, dict):
            logger.error("order %s published, not recorded: %s", request["order"]["order_id"], exc)
            return exc.result
        logger.warning("idempotency store unavailable, nothing published: %s", exc)
        return respond(
            503,
            {"error": "the order could not be accepted now; retry with the same key"},
            retry_after=RETRY_AFTER_S,
        )
