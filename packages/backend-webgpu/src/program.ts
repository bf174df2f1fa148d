// Running a WGSL compute shader: the pipeline cache (keyed by a shader key), cached bind groups,
// each dispatch's metadata (shapes, strides, offsets as u32, placed in the batch's arena), the
// 2-D dispatch grid for large launches, and the WGSL helpers every kernel file shares. Kernel files only produce WGSL
// source and metadata; this file is the only one that talks to the command batch.
import { DTypeError, DeviceError, type DType } from "@lockstep/core";
import type { GpuContext } from "./device.js";

/** Threads per workgroup of the one-thread-per-element kernels. */
export const WORKGROUP_SIZE = 64;

const SHADER_STAGE_COMPUTE = 0x4;

/** The WGSL element type storing each dtype: bool is one u32 (0 or 1) per element. */
export function wgslType(dtype: DType): "f32" | "i32" | "u32" {
  switch (dtype) {
    case "float32":
      return "f32";
    case "int32":
      return "i32";
    case "bool":
      return "u32";
    case "float64":
      throw new DTypeError("float64 is not supported on webgpu (WGSL has no 64-bit floats): cast to float32 first");
  }
}

export interface ShaderRun {
  /** Identifies the generated source: two runs with the same key must produce the same WGSL. */
  key: string;
  /** WGSL source, generated only when the key is not cached yet. */
  source: () => string;
  /** Buffers bound read_write at bindings 0, 1, … */
  outputs: readonly GPUBuffer[];
  /** Buffers bound read-only after the outputs. */
  inputs: readonly GPUBuffer[];
  /** Metadata, bound read-only as `info: array<u32>` after the inputs. */
  info: Uint32Array;
  /** Number of workgroups to launch (laid out on a 2-D grid when above the per-dimension limit). */
  workgroups: number;
}

/**
 * WGSL declarations matching `ShaderRun`'s binding order: outputs, inputs, then `info`.
 * `outputs` and `inputs` are [name, element type] pairs.
 */
export function bindings(outputs: readonly [string, string][], inputs: readonly [string, string][]): string {
  const lines: string[] = [];
  let binding = 0;
  for (const [name, type] of outputs) {
    lines.push(`@group(0) @binding(${binding++}) var<storage, read_write> ${name}: array<${type}>;`);
  }
  for (const [name, type] of inputs) {
    lines.push(`@group(0) @binding(${binding++}) var<storage, read> ${name}: array<${type}>;`);
  }
  lines.push(`@group(0) @binding(${binding}) var<storage, read> info: array<u32>;`);
  return lines.join("\n");
}

/** Entry point of a one-thread-per-item kernel: declares `index`, the item this thread handles. */
export function linearMain(): string {
  return `@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
  let index = (wid.y * groups.x + wid.x) * ${WORKGROUP_SIZE}u + lane;`;
}

/**
 * Items each thread of an elementwise kernel walks (`itemsMain`). On lavapipe (and other CPU
 * "GPUs") every invocation has a fixed cost of about 15 ns, several times the work of an add or a
 * copy; four items per thread made a 200k-element add 3× faster there. GPUs do not mind: the
 * items of one thread are a workgroup apart, so neighbouring lanes still touch neighbouring words.
 */
export const ITEMS_PER_THREAD = 4;

/**
 * Entry point of a kernel whose threads each handle ITEMS_PER_THREAD items: `body` runs once per
 * item with `index` declared (and may `return` when `index` is past the end: later items are
 * further still). Launch `workgroupsFor(items, ITEMS_PER_THREAD)` workgroups.
 */
export function itemsMain(body: string): string {
  return `@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
  let first = (wid.y * groups.x + wid.x) * ${WORKGROUP_SIZE * ITEMS_PER_THREAD}u + lane;
  for (var item = 0u; item < ${ITEMS_PER_THREAD}u; item = item + 1u) {
    let index = first + item * ${WORKGROUP_SIZE}u;
${body}
  }
}`;
}

/**
 * Float helpers by bit pattern. Shader compilers may assume no NaN or infinity in float
 * comparisons, so NaN tests look at the bits; NaN and infinity constants come from private
 * variables because a WGSL constant expression that evaluates to NaN or infinity is an error.
 */
export const FLOAT_HELPERS = `
var<private> NAN_BITS: u32 = 0x7fc00000u;
var<private> INF_BITS: u32 = 0x7f800000u;
fn nan_f32() -> f32 { return bitcast<f32>(NAN_BITS); }
fn inf_f32() -> f32 { return bitcast<f32>(INF_BITS); }
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn is_inf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
fn sign_bit(x: f32) -> bool { return (bitcast<u32>(x) >> 31u) == 1u; }
fn truthy_f32(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) != 0u; }
`;

/** Number of workgroups per grid dimension: x up to the device limit, y for the rest. */
export function grid(ctx: GpuContext, workgroups: number): [number, number] {
  const limit = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (workgroups <= limit) return [Math.max(1, workgroups), 1];
  const y = Math.ceil(workgroups / limit);
  if (y > limit) throw new DeviceError(`a dispatch of ${workgroups} workgroups exceeds this adapter's ${limit}×${limit} grid`);
  return [limit, y];
}

function layoutFor(ctx: GpuContext, outputs: number, inputs: number): GPUBindGroupLayout {
  const key = `${outputs}/${inputs}`;
  let layout = ctx.layouts.get(key);
  if (layout === undefined) {
    const entries: GPUBindGroupLayoutEntry[] = [];
    for (let i = 0; i < outputs + inputs + 1; i++) {
      entries.push({
        binding: i,
        visibility: SHADER_STAGE_COMPUTE,
        // The metadata (last binding) sits in the batch's arena at a per-dispatch offset.
        buffer: i < outputs ? { type: "storage" } : i < outputs + inputs ? { type: "read-only-storage" } : { type: "read-only-storage", hasDynamicOffset: true },
      });
    }
    layout = ctx.device.createBindGroupLayout({ entries });
    ctx.layouts.set(key, layout);
  }
  return layout;
}

function pipelineFor(ctx: GpuContext, run: ShaderRun): GPUComputePipeline {
  const key = `${run.key}#${run.outputs.length}/${run.inputs.length}`;
  let pipeline = ctx.pipelines.get(key);
  if (pipeline === undefined) {
    const code = run.source();
    const device = ctx.device;
    device.pushErrorScope("validation");
    const module = device.createShaderModule({ code, label: run.key });
    pipeline = device.createComputePipeline({
      label: run.key,
      layout: device.createPipelineLayout({ bindGroupLayouts: [layoutFor(ctx, run.outputs.length, run.inputs.length)] }),
      compute: { module, entryPoint: "main" },
    });
    void device.popErrorScope().then(async (error) => {
      if (error === null) return;
      const info = await module.getCompilationInfo();
      const details = info.messages.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join("\n");
      ctx.errors.push(`shader '${run.key}' failed to compile: ${error.message}\n${details}\n${code}`);
    });
    ctx.pipelines.set(key, pipeline);
  }
  return pipeline;
}

/** Small ids for buffers, so that a bind group's buffers make a string key. */
const bufferIds = new WeakMap<GPUBuffer, number>();
let nextBufferId = 1;

function bufferId(buffer: GPUBuffer): number {
  let id = bufferIds.get(buffer);
  if (id === undefined) bufferIds.set(buffer, (id = nextBufferId++));
  return id;
}

/** Cached bind groups beyond this many are dropped all at once (a training loop needs a few hundred). */
const MAX_BIND_GROUPS = 4096;

/**
 * The bind group of these buffers, made once: pooled buffers come back in the same order every
 * step of a loop, so the groups of one step serve the next. The metadata binding is the arena
 * (the same buffer for every dispatch; its offset is given at dispatch time).
 */
function bindGroupFor(ctx: GpuContext, outputs: readonly GPUBuffer[], inputs: readonly GPUBuffer[]): GPUBindGroup {
  let key = `${outputs.length}/${inputs.length}`;
  for (const buffer of outputs) key += `,${bufferId(buffer)}`;
  for (const buffer of inputs) key += `,${bufferId(buffer)}`;
  let group = ctx.bindGroups.get(key);
  if (group === undefined) {
    const entries: GPUBindGroupEntry[] = [...outputs, ...inputs].map((buffer, binding) => ({ binding, resource: { buffer } }));
    entries.push({ binding: entries.length, resource: { buffer: ctx.metadata.buffer, offset: 0, size: ctx.metadata.window } });
    group = ctx.device.createBindGroup({ layout: layoutFor(ctx, outputs.length, inputs.length), entries });
    if (ctx.bindGroups.size >= MAX_BIND_GROUPS) ctx.bindGroups.clear();
    ctx.bindGroups.set(key, group);
  }
  return group;
}

/**
 * Records one dispatch. When an input buffer is also an output (an in-place copy between views of
 * one storage), the input is first copied to a temporary buffer, since WebGPU forbids binding a
 * buffer both writable and read-only in one dispatch.
 */
export function runShader(ctx: GpuContext, run: ShaderRun): void {
  if (run.workgroups === 0) return;
  if (run.info.byteLength > ctx.metadata.window) {
    throw new DeviceError(`internal error: a dispatch's metadata (${run.info.byteLength} bytes) exceeds ${ctx.metadata.window} bytes`);
  }
  const pipeline = pipelineFor(ctx, run);
  const submit = () => ctx.batch.submit();
  let temporaries: GPUBuffer[] | undefined;
  let inputs = run.inputs;
  if (inputs.some((buffer) => run.outputs.includes(buffer))) {
    temporaries = [];
    inputs = inputs.map((buffer) => {
      if (!run.outputs.includes(buffer)) return buffer;
      const copy = ctx.pool.acquire(buffer.size, submit);
      ctx.batch.copy(buffer, copy, buffer.size);
      temporaries!.push(copy);
      return copy;
    });
  }
  let offset = ctx.metadata.place(run.info);
  if (offset === undefined) {
    // The batch's arena is full: submit it (its metadata goes with it) and start a new one.
    submit();
    offset = ctx.metadata.place(run.info)!;
  }
  const bindGroup = bindGroupFor(ctx, run.outputs, inputs);
  const [x, y] = grid(ctx, run.workgroups);
  ctx.batch.dispatch(pipeline, bindGroup, offset, x, y);
  if (temporaries !== undefined) for (const t of temporaries) ctx.pool.release(t);
}

/** Workgroups needed for `items` items, `perThread` of them per thread. */
export function workgroupsFor(items: number, perThread = 1): number {
  return Math.ceil(items / (WORKGROUP_SIZE * perThread));
}

/**
 * Merges adjacent dims that every operand walks contiguously (stride[d] = stride[d+1]·size[d+1])
 * and drops size-1 dims, so a contiguous tensor of any rank indexes as rank 1. The element order
 * (row-major over `shape`) is unchanged. Returns at least one dim.
 */
export function collapseDims(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d]!;
    if (size === 1) continue;
    const last = outShape.length - 1;
    const mergeable =
      last >= 0 && strides.every((s, j) => s[d]! === outStrides[j]![0]! * outShape[0]!);
    if (mergeable) {
      outShape[0] = outShape[0]! * size;
    } else {
      outShape.unshift(size);
      strides.forEach((s, j) => outStrides[j]!.unshift(s[d]!));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}

/**
 * WGSL that turns the row-major position `rem` (a `var`) over `rank` dims into element offsets
 * `p0, p1, …` (already declared `var`s holding each operand's base offset). Sizes are read from
 * `info[sizeAt + d]`, strides of operand j from `info[strideAt[j] + d]`.
 */
export function offsetCode(rank: number, sizeAt: number, strideAt: readonly number[], names: readonly string[]): string {
  const lines: string[] = [];
  for (let d = rank - 1; d >= 0; d--) {
    if (d === 0) {
      lines.push(`  let c${d} = rem;`);
    } else {
      lines.push(`  let c${d} = rem % info[${sizeAt + d}u];`);
      lines.push(`  rem = rem / info[${sizeAt + d}u];`);
    }
    strideAt.forEach((at, j) => lines.push(`  ${names[j]} = ${names[j]} + c${d} * info[${at + d}u];`));
  }
  return lines.join("\n");
}
