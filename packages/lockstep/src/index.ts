// lockstep: the one import most users want. Re-exports the tensor core and registers the CPU
// backend, so `import { tensor } from "lockstep"` is ready to compute.
import "@lockstep/backend-cpu";

export * from "@lockstep/core";
