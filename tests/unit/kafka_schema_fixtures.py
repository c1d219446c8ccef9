"""Schemas and payloads for the Kafka schema tests, made by the real libraries.

There is no ``protoc`` here: the Protobuf classes are built from a ``FileDescriptorProto``
written out field by field, which is what ``protoc`` would generate from::

    package lk.test;
    message Zeta  { string note = 1; }                               // Confluent [0], Glue 4
    message Order {                                                  // Confluent [1], Glue 1
      message Line  { string sku = 1; int32 qty = 2; }               // Confluent [1,0], Glue 3
      message Audit { string by = 1; }                               // Confluent [1,1], Glue 2
      string id = 1; int64 amount = 2; repeated Line lines = 3;
    }
    message Alpha { string name = 1; }                               // Confluent [2], Glue 0

Declaration order and sorted full names differ on purpose, so Confluent's index path and
Glue's sorted-name index disagree for every type but ``Order``.
"""

from __future__ import annotations

import io
import uuid
from importlib import import_module
from typing import Any

ORDER_AVRO: dict[str, Any] = {
    "type": "record",
    "name": "Order",
    "namespace": "lk.test",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "name", "type": "string"},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}
ORDER = {"id": 42, "name": "widget", "note": None}

GLUE_ID = uuid.UUID("12345678-1234-1234-1234-123456789012")
OTHER_GLUE_ID = uuid.UUID("87654321-4321-4321-4321-210987654321")


def avro_bytes(record: Any, schema: Any = ORDER_AVRO) -> bytes:
    """``record`` as fastavro's schemaless_writer writes it (what Confluent's client calls)."""
    import fastavro

    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), record)
    return out.getvalue()


def _field(
    name: str, number: int, kind: str, *, repeated: bool = False, type_name: str = ""
) -> Any:
    proto = import_module("google.protobuf.descriptor_pb2").FieldDescriptorProto
    field = proto(
        name=name,
        number=number,
        type=getattr(proto, f"TYPE_{kind}"),
        label=proto.LABEL_REPEATED if repeated else proto.LABEL_OPTIONAL,
    )
    if type_name:
        field.type_name = type_name
    return field


def protobuf_classes() -> dict[str, Any]:
    """The message classes of the file above by short path: ``Zeta``, ``Order``,
    ``Order.Line``, ``Order.Audit``, ``Alpha`` (a fresh pool per call: no global state)."""
    # protobuf ships no type stubs: Any at this boundary.
    descriptor_pb2 = import_module("google.protobuf.descriptor_pb2")
    descriptor_pool = import_module("google.protobuf.descriptor_pool")
    message_factory = import_module("google.protobuf.message_factory")
    file = descriptor_pb2.FileDescriptorProto(
        name="lk_test/orders.proto", package="lk.test", syntax="proto3"
    )
    zeta = file.message_type.add(name="Zeta")
    zeta.field.append(_field("note", 1, "STRING"))
    order = file.message_type.add(name="Order")
    line = order.nested_type.add(name="Line")
    line.field.extend([_field("sku", 1, "STRING"), _field("qty", 2, "INT32")])
    audit = order.nested_type.add(name="Audit")
    audit.field.append(_field("by", 1, "STRING"))
    order.field.extend(
        [
            _field("id", 1, "STRING"),
            _field("amount", 2, "INT64"),
            _field("lines", 3, "MESSAGE", repeated=True, type_name=".lk.test.Order.Line"),
        ]
    )
    alpha = file.message_type.add(name="Alpha")
    alpha.field.append(_field("name", 1, "STRING"))
    classes = message_factory.GetMessages([file], pool=descriptor_pool.DescriptorPool())
    found = {name.removeprefix("lk.test."): cls for name, cls in classes.items()}
    found["Order.Line"] = found["Order"].Line  # nested classes hang off their parent
    found["Order.Audit"] = found["Order"].Audit
    return found
