"""A minimal TFLite flatbuffer writer: float32 tensors, builtin operators, one subgraph.

It writes exactly what `tflite.py` lowers the dnn head to (FULLY_CONNECTED, RESHAPE, MEAN,
SUB, MUL, ADD, RSQRT, RELU, CONCATENATION, LOGISTIC) with the generated schema classes of
the pure-Python `tflite` package and the `flatbuffers` builder: no TensorFlow, no
converter. Constant data is 16-byte aligned, as TensorFlow's own converter writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FILE_IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3
DATA_ALIGNMENT = 16

# builder function for an operator's options table -> (BuiltinOptions type, offset)
OptionsFn = Callable[[Any], tuple[int, int]]


@dataclass(frozen=True)
class _Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str  # "float32" or "int32"
    buffer: int  # 0 = no data (an activation)


@dataclass(frozen=True)
class _Op:
    code: int  # tflite.BuiltinOperator value
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: OptionsFn | None


@dataclass
class Graph:
    """Tensors, constant buffers and operators of one subgraph, in execution order."""

    tensors: list[_Tensor] = field(default_factory=list)
    buffers: list[bytes] = field(default_factory=lambda: [b""])  # buffer 0: the empty one
    ops: list[_Op] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)

    def tensor(self, name: str, shape: tuple[int, ...], dtype: str = "float32") -> int:
        self.tensors.append(_Tensor(name, tuple(int(s) for s in shape), dtype, 0))
        return len(self.tensors) - 1

    def constant(self, name: str, value: np.ndarray) -> int:
        arr = np.ascontiguousarray(value)
        if arr.dtype not in (np.float32, np.int32):
            raise TypeError(f"constant {name}: dtype {arr.dtype} (float32 or int32 only)")
        self.buffers.append(arr.astype(arr.dtype.newbyteorder("<")).tobytes())
        self.tensors.append(_Tensor(name, arr.shape, str(arr.dtype), len(self.buffers) - 1))
        return len(self.tensors) - 1

    def op(self, code: int, inputs: list[int], out_name: str, out_shape: tuple[int, ...],
           options: OptionsFn | None = None) -> int:
        out = self.tensor(out_name, out_shape)
        self.ops.append(_Op(code, tuple(inputs), (out,), options))
        return out

    def shape(self, tensor: int) -> tuple[int, ...]:
        return self.tensors[tensor].shape


def serialize(graph: Graph, description: str) -> bytes:
    """The flatbuffer bytes (file identifier TFL3) of `graph`."""
    import flatbuffers
    import tflite

    b = flatbuffers.Builder(1 << 16)
    codes = sorted({op.code for op in graph.ops})
    opcode_index = {code: i for i, code in enumerate(codes)}
    buffers = [_buffer(b, data) for data in graph.buffers]
    tensors = [_tensor(b, t) for t in graph.tensors]
    operators = [_operator(b, op, opcode_index[op.code]) for op in graph.ops]
    name = b.CreateString("main")
    sub_tensors, sub_ops = _vector(b, tensors), _vector(b, operators)
    sub_in, sub_out = _ints(b, graph.inputs), _ints(b, graph.outputs)
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, sub_tensors)
    tflite.SubGraphAddInputs(b, sub_in)
    tflite.SubGraphAddOutputs(b, sub_out)
    tflite.SubGraphAddOperators(b, sub_ops)
    tflite.SubGraphAddName(b, name)
    subgraph = tflite.SubGraphEnd(b)
    opcodes = [_opcode(b, code) for code in codes]
    desc = b.CreateString(description)
    opcode_vec, subgraph_vec, buffer_vec = (_vector(b, opcodes), _vector(b, [subgraph]),
                                            _vector(b, buffers))
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, SCHEMA_VERSION)
    tflite.ModelAddOperatorCodes(b, opcode_vec)
    tflite.ModelAddSubgraphs(b, subgraph_vec)
    tflite.ModelAddDescription(b, desc)
    tflite.ModelAddBuffers(b, buffer_vec)
    b.Finish(tflite.ModelEnd(b), file_identifier=FILE_IDENTIFIER)
    return bytes(b.Output())


def _vector(b: Any, offsets: list[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return int(b.EndVector())


def _ints(b: Any, values: list[int] | tuple[int, ...]) -> int:
    return int(b.CreateNumpyVector(np.asarray(values, dtype=np.int32)))


def _bytes(b: Any, data: bytes, alignment: int) -> int:
    """A ubyte vector whose first byte is `alignment`-aligned (for float32 weights)."""
    b.StartVector(1, len(data), alignment)
    b.head = b.head - len(data)
    b.Bytes[b.head:b.head + len(data)] = data
    return int(b.EndVector())


def _buffer(b: Any, data: bytes) -> int:
    import tflite

    vec = _bytes(b, data, DATA_ALIGNMENT) if data else None
    tflite.BufferStart(b)
    if vec is not None:
        tflite.BufferAddData(b, vec)
    return int(tflite.BufferEnd(b))


def _tensor(b: Any, t: _Tensor) -> int:
    import tflite

    name = b.CreateString(t.name)
    shape = _ints(b, t.shape)
    tflite.TensorStart(b)
    tflite.TensorAddShape(b, shape)
    tflite.TensorAddType(b, tflite.TensorType.FLOAT32 if t.dtype == "float32"
                         else tflite.TensorType.INT32)
    tflite.TensorAddBuffer(b, t.buffer)
    tflite.TensorAddName(b, name)
    return int(tflite.TensorEnd(b))


def _operator(b: Any, op: _Op, index: int) -> int:
    import tflite

    options = op.options(b) if op.options is not None else None
    inputs, outputs = _ints(b, op.inputs), _ints(b, op.outputs)
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, index)
    tflite.OperatorAddInputs(b, inputs)
    tflite.OperatorAddOutputs(b, outputs)
    if options is not None:
        tflite.OperatorAddBuiltinOptionsType(b, options[0])
        tflite.OperatorAddBuiltinOptions(b, options[1])
    return int(tflite.OperatorEnd(b))


def _opcode(b: Any, code: int) -> int:
    import tflite

    tflite.OperatorCodeStart(b)
    tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
    tflite.OperatorCodeAddBuiltinCode(b, code)
    tflite.OperatorCodeAddVersion(b, 1)
    return int(tflite.OperatorCodeEnd(b))


# --- options tables -----------------------------------------------------------------------

def fully_connected_options(b: Any) -> tuple[int, int]:
    import tflite

    tflite.FullyConnectedOptionsStart(b)
    tflite.FullyConnectedOptionsAddFusedActivationFunction(b, tflite.ActivationFunctionType.NONE)
    tflite.FullyConnectedOptionsAddKeepNumDims(b, False)
    return tflite.BuiltinOptions.FullyConnectedOptions, int(tflite.FullyConnectedOptionsEnd(b))


def reducer_options(b: Any) -> tuple[int, int]:
    import tflite

    tflite.ReducerOptionsStart(b)
    tflite.ReducerOptionsAddKeepDims(b, True)
    return tflite.BuiltinOptions.ReducerOptions, int(tflite.ReducerOptionsEnd(b))


def concatenation_options(axis: int) -> OptionsFn:
    def build(b: Any) -> tuple[int, int]:
        import tflite

        tflite.ConcatenationOptionsStart(b)
        tflite.ConcatenationOptionsAddAxis(b, axis)
        return tflite.BuiltinOptions.ConcatenationOptions, int(tflite.ConcatenationOptionsEnd(b))

    return build


def reshape_options(shape: tuple[int, ...]) -> OptionsFn:
    def build(b: Any) -> tuple[int, int]:
        import tflite

        vec = _ints(b, shape)
        tflite.ReshapeOptionsStart(b)
        tflite.ReshapeOptionsAddNewShape(b, vec)
        return tflite.BuiltinOptions.ReshapeOptions, int(tflite.ReshapeOptionsEnd(b))

    return build
