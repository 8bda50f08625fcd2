"""Keeps an ONNX model's int8 embedding tables int8: the lookup comes before the dequantisation.

The MiniLM int8 model stores each weight as int8 with a scale, dequantised by ``Cast`` then
``Mul``. onnxruntime's constant folding turns every such weight into float32 at load, the token
table included (30,522 x 384: 45 MiB); without folding, every run dequantises the whole table
(most of a question's time). :func:`dequantize_after_lookup` rewrites
``Gather(Mul(Cast(q), scale), ids)`` into ``Mul(Cast(Gather(q, ids)), Gather(scale, ids))`` for a
per-row ``scale``: the same numbers for the rows looked up, computed for those rows only.

:func:`write_lean_model` writes the rewritten model as a small graph file and a file of its
weights (ONNX external data, each tensor at a 64 KiB boundary): onnxruntime maps the weights
from that file instead of copying them onto its heap, and the rewrite never serialises the
whole model (together ~20 MiB off the session's peak, ~10 MiB off what it keeps; the same
vectors).

The model is read and written with a subset of ``onnx.proto`` declared here (node inputs,
outputs, names and types; initializer names, shapes and data); every other field passes
through untouched as an unknown field, so the ``onnx`` package is not needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_INT8, _FLOAT = 3, 1
"""``TensorProto.DataType`` values."""
_EXTERNAL = 1
"""``TensorProto.DataLocation.EXTERNAL``."""
_ALIGN = 64 * 1024
"""Where each external tensor starts (a multiple of every system's mapping granularity)."""
_INLINE_BYTES = 1024
"""Tensors smaller than this stay in the graph file."""

_FIELDS: dict[str, list[tuple[str, int, str, bool]]] = {
    # message: (field, number, type: a scalar type name or a message name, repeated)
    "Attribute": [("name", 1, "string", False), ("i", 3, "int64", False)],
    "Node": [("input", 1, "string", True), ("output", 2, "string", True),
             ("name", 3, "string", False), ("op_type", 4, "string", False),
             ("attribute", 5, "Attribute", True)],
    "Entry": [("key", 1, "string", False), ("value", 2, "string", False)],
    "Tensor": [("dims", 1, "int64", True), ("data_type", 2, "int64", False),
               ("name", 8, "string", False), ("raw_data", 9, "bytes", False),
               ("external_data", 13, "Entry", True), ("data_location", 14, "int64", False)],
    "Graph": [("node", 1, "Node", True), ("initializer", 5, "Tensor", True)],
    "Model": [("graph", 7, "Graph", False)],
}


def _model_class() -> Any:
    """The ``Model`` message class of the subset (a fresh descriptor pool: no global state)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    field = descriptor_pb2.FieldDescriptorProto
    scalars = {"string": field.TYPE_STRING, "int64": field.TYPE_INT64,
               "bytes": field.TYPE_BYTES}
    proto = descriptor_pb2.FileDescriptorProto(
        name="graphready_onnx_subset.proto", package="graphready_onnx", syntax="proto2")
    for message, fields in _FIELDS.items():
        declared = proto.message_type.add(name=message)
        for name, number, kind, repeated in fields:
            entry = declared.field.add(
                name=name, number=number,
                label=field.LABEL_REPEATED if repeated else field.LABEL_OPTIONAL)
            if kind in scalars:
                entry.type = scalars[kind]
            else:
                entry.type = field.TYPE_MESSAGE
                entry.type_name = f".graphready_onnx.{kind}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("graphready_onnx.Model"))


def dequantize_after_lookup(model: bytes) -> tuple[bytes, int]:
    """``model`` with every lookup in a weight-only int8 table (per-row scale) moved before its
    dequantisation, and how many lookups were moved (0: the model is returned unchanged)."""
    parsed = _model_class()()
    parsed.ParseFromString(model)
    moved = _rewrite(parsed.graph)
    return (parsed.SerializeToString(), moved) if moved else (model, 0)


def write_lean_model(model: bytes, path: Path) -> int:
    """Write ``model``, its table lookups moved as :func:`dequantize_after_lookup` moves them,
    to ``path`` with its weights in ``path`` + ``.weights`` (external data, which onnxruntime
    maps); how many lookups were moved."""
    parsed = _model_class()()
    parsed.ParseFromString(model)
    moved = _rewrite(parsed.graph)
    weights = path.with_name(path.name + ".weights")
    offset = 0
    with weights.open("wb") as out:
        for tensor in parsed.graph.initializer:
            size = len(tensor.raw_data)
            if size < _INLINE_BYTES:
                continue
            padding = -offset % _ALIGN
            out.write(bytes(padding))
            offset += padding
            out.write(tensor.raw_data)
            tensor.ClearField("raw_data")
            tensor.data_location = _EXTERNAL
            for key, value in (("location", weights.name), ("offset", str(offset)),
                               ("length", str(size))):
                tensor.external_data.add(key=key, value=value)
            offset += size
    path.write_bytes(parsed.SerializeToString())
    return moved


def _rewrite(graph: Any) -> int:
    """Move the lookups in ``graph`` in place; how many were moved."""
    nodes = list(graph.node)
    shapes = {t.name: tuple(t.dims) for t in graph.initializer}
    int8 = {t.name for t in graph.initializer if t.data_type == _INT8}
    producer = {out: i for i, node in enumerate(nodes) for out in node.output}
    readers: dict[str, int] = {}
    for node in nodes:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
    found: dict[int, tuple[int, int]] = {}
    for i in range(len(nodes)):
        pair = _dequantizers(i, nodes, producer, readers, shapes, int8)
        if pair is not None:
            found[i] = pair
    if not found:
        return 0
    dropped = {j for pair in found.values() for j in pair}
    order: list[Any] = []
    for i, node in enumerate(nodes):
        if i in found:
            order.extend(_moved(node, nodes[found[i][0]], nodes[found[i][1]]))
        elif i not in dropped:
            order.append(_copy(node))
    del graph.node[:]
    graph.node.extend(order)
    return len(found)


def _dequantizers(index: int, nodes: list[Any], producer: dict[str, int],
                  readers: dict[str, int], shapes: dict[str, tuple[int, ...]],
                  int8: set[str]) -> tuple[int, int] | None:
    """The positions of the ``Cast`` and ``Mul`` that dequantise the table that node ``index``
    (a ``Gather`` along the rows) looks up, when only this lookup reads them, the table is an
    int8 initializer cast to float and the scale has one value per row; else None."""
    node = nodes[index]
    if node.op_type != "Gather" or len(node.input) != 2 or node.input[0] not in producer \
            or _attribute(node, "axis", 0) != 0:
        return None
    mul_at = producer[node.input[0]]
    mul = nodes[mul_at]
    if mul.op_type != "Mul" or len(mul.input) != 2 or readers.get(mul.output[0]) != 1 \
            or mul.input[0] not in producer:
        return None
    cast_at = producer[mul.input[0]]
    cast = nodes[cast_at]
    if cast.op_type != "Cast" or readers.get(cast.output[0]) != 1 \
            or cast.input[0] not in int8 or _attribute(cast, "to", 0) != _FLOAT:
        return None
    table, scale = shapes.get(cast.input[0]), shapes.get(mul.input[1])
    if table is None or scale is None or len(table) != 2 or scale != (table[0], 1):
        return None
    return cast_at, mul_at


def _moved(old_lookup: Any, old_cast: Any, old_mul: Any) -> list[Any]:
    """The lookup of the int8 rows, the lookup of their scales, then their dequantisation
    (copies of the old ``Cast`` and ``Mul``, rewired; ``Mul`` writes what the lookup wrote)."""
    lookup, cast, mul = _copy(old_lookup), _copy(old_cast), _copy(old_mul)
    result = lookup.output[0]
    rows, scales = f"{result}__int8_rows", f"{result}__row_scales"
    scale_lookup = _copy(lookup)
    scale_lookup.name = f"{lookup.name}__scales"
    scale_lookup.input[0] = mul.input[1]
    scale_lookup.output[0] = scales
    lookup.input[0] = cast.input[0]
    lookup.output[0] = rows
    cast.input[0] = rows
    mul.input[1] = scales
    mul.output[0] = result
    return [lookup, scale_lookup, cast, mul]


def _attribute(node: Any, name: str, default: int) -> int:
    """An integer attribute of a node, or ``default`` when it has none of that name."""
    for attribute in node.attribute:
        if attribute.name == name:
            return int(attribute.i)
    return default


def _copy(node: Any) -> Any:
    copy = type(node)()
    copy.CopyFrom(node)
    return copy
