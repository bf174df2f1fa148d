// Tiny ONNX models built in memory, for onnxruntime-node: a MatMul graph and the MLP as
// Gemm/Relu nodes. ONNX files are protobuf; this is the minimal protobuf writer they need
// (varints, length-delimited fields, little-endian float bytes) and the handful of messages used.
// Field numbers are those of onnx/onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto,
// TensorProto, ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto).
import type { LayerWeights } from "../workloads.js";

const IR_VERSION = 8;
const OPSET = 17;
const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTRIBUTE_INT = 2; // AttributeProto.AttributeType.INT

type Field = Uint8Array;

function varint(value: number): number[] {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`);
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Wire type 0: a varint field (int32, int64, enum). */
function intField(field: number, value: number): Field {
  return new Uint8Array([...varint(field << 3), ...varint(value)]);
}

/** Wire type 2: bytes, a string or an embedded message. */
function bytesField(field: number, bytes: Uint8Array): Field {
  return concat([new Uint8Array([...varint((field << 3) | 2), ...varint(bytes.length)]), bytes]);
}

function stringField(field: number, text: string): Field {
  return bytesField(field, new TextEncoder().encode(text));
}

function message(fields: readonly Field[]): Uint8Array {
  return concat(fields);
}

// ---------------------------------------------------------------------------------------------
// ONNX messages.

/** ValueInfoProto for a float tensor of a fixed shape. */
function valueInfo(name: string, shape: readonly number[]): Uint8Array {
  const dims = shape.map((d) => bytesField(1, message([intField(1, d)]))); // TensorShapeProto.dim { dim_value }
  const tensorType = message([intField(1, FLOAT), bytesField(2, message(dims))]); // elem_type, shape
  const type = message([bytesField(1, tensorType)]); // TypeProto.tensor_type
  return message([stringField(1, name), bytesField(2, type)]);
}

/** TensorProto holding float32 values as raw little-endian bytes. */
function initializer(name: string, shape: readonly number[], values: Float32Array): Uint8Array {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return message([...shape.map((d) => intField(1, d)), intField(2, FLOAT), stringField(8, name), bytesField(9, raw)]);
}

function intAttribute(name: string, value: number): Uint8Array {
  return message([stringField(1, name), intField(3, value), intField(20, ATTRIBUTE_INT)]);
}

function node(opType: string, inputs: readonly string[], outputs: readonly string[], attributes: readonly Uint8Array[] = []): Uint8Array {
  return message([
    ...inputs.map((i) => stringField(1, i)),
    ...outputs.map((o) => stringField(2, o)),
    stringField(3, `${opType}_${outputs[0]}`),
    stringField(4, opType),
    ...attributes.map((a) => bytesField(5, a)),
  ]);
}

interface Graph {
  name: string;
  nodes: Uint8Array[];
  initializers?: Uint8Array[];
  inputs: Uint8Array[];
  outputs: Uint8Array[];
}

function model(graph: Graph): Uint8Array {
  const g = message([
    ...graph.nodes.map((n) => bytesField(1, n)),
    stringField(2, graph.name),
    ...(graph.initializers ?? []).map((t) => bytesField(5, t)),
    ...graph.inputs.map((v) => bytesField(11, v)),
    ...graph.outputs.map((v) => bytesField(12, v)),
  ]);
  const opset = message([stringField(1, ""), intField(2, OPSET)]);
  return message([intField(1, IR_VERSION), stringField(2, "lockstep-bench"), bytesField(7, g), bytesField(8, opset)]);
}

/** Y[M,N] = A[M,K] · B[K,N], both operands graph inputs (like every other peer, nothing is constant-folded). */
export function matmulModel(m: number, k: number, n: number): Uint8Array {
  return model({
    name: "matmul",
    nodes: [node("MatMul", ["A", "B"], ["Y"])],
    inputs: [valueInfo("A", [m, k]), valueInfo("B", [k, n])],
    outputs: [valueInfo("Y", [m, n])],
  });
}

/** AttributeProto of type INTS (7): repeated int64 in field 8. */
function intsAttribute(name: string, values: readonly number[]): Uint8Array {
  return message([stringField(1, name), ...values.map((v) => intField(8, v)), intField(20, 7)]);
}

/** Y = Conv(X [n, c, s, s], W [out, c, k, k]) with zero padding on every side, no bias; X and W are graph inputs. */
export function convModel(n: number, c: number, s: number, out: number, k: number, padding: number): Uint8Array {
  const size = s + 2 * padding - k + 1;
  return model({
    name: "conv",
    nodes: [node("Conv", ["X", "W"], ["Y"], [intsAttribute("kernel_shape", [k, k]), intsAttribute("pads", [padding, padding, padding, padding])])],
    inputs: [valueInfo("X", [n, c, s, s]), valueInfo("W", [out, c, k, k])],
    outputs: [valueInfo("Y", [n, out, size, size])],
  });
}

/** The MLP for inference: Gemm(transB=1) with PyTorch-layout weights, Relu between layers. */
export function mlpModel(batch: number, layers: readonly LayerWeights[]): Uint8Array {
  const nodes: Uint8Array[] = [];
  const initializers: Uint8Array[] = [];
  let current = "x";
  layers.forEach((l, i) => {
    initializers.push(initializer(`w${i}`, [l.outFeatures, l.inFeatures], l.weight));
    initializers.push(initializer(`b${i}`, [l.outFeatures], l.bias));
    const last = i === layers.length - 1;
    const gemmOut = last ? "y" : `h${i}`;
    nodes.push(node("Gemm", [current, `w${i}`, `b${i}`], [gemmOut], [intAttribute("transB", 1)]));
    if (!last) {
      nodes.push(node("Relu", [gemmOut], [`r${i}`]));
      current = `r${i}`;
    }
  });
  const first = layers[0]!;
  const final = layers[layers.length - 1]!;
  return model({
    name: "mlp",
    nodes,
    initializers,
    inputs: [valueInfo("x", [batch, first.inFeatures])],
    outputs: [valueInfo("y", [batch, final.outFeatures])],
  });
}
