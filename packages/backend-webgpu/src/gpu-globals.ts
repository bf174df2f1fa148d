// The WebGPU types that Lockstep's published declarations name (GPUDevice in `getDevice()` and
// `init({ device })`, GPUBuffer in storages, …), declared as empty global interfaces. The package
// is compiled against @webgpu/types, but its .d.ts files do not reference them: @webgpu/types needs
// the DOM lib (EventTarget, BufferSource), and Lockstep's types must check in projects without it
// (`lib: ["ES2022"]`, Node or workers). Where a project loads @webgpu/types (add it to `types`),
// these merge with the full interfaces; elsewhere they stay opaque handles.
/* eslint-disable @typescript-eslint/no-empty-object-type, @typescript-eslint/no-empty-interface */
declare global {
  /** A WebGPU adapter (full type: @webgpu/types). */
  interface GPUAdapter {}
  /** A WebGPU device (full type: @webgpu/types). */
  interface GPUDevice {}
  /** A WebGPU buffer (full type: @webgpu/types). */
  interface GPUBuffer {}
  /** A WebGPU device's queue (full type: @webgpu/types). */
  interface GPUQueue {}
  /** A WebGPU bind group (full type: @webgpu/types). */
  interface GPUBindGroup {}
  /** A WebGPU bind group layout (full type: @webgpu/types). */
  interface GPUBindGroupLayout {}
  /** A WebGPU compute pipeline (full type: @webgpu/types). */
  interface GPUComputePipeline {}
  /** An adapter's or device's limits (full type: @webgpu/types). */
  interface GPUSupportedLimits {}
}

export {};
