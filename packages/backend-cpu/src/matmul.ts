// Matrix multiply over identical (possibly broadcast, stride-0) batch dims. Each output element
// is a sequential sum over k with the product rounded before the add — for float32,
// fround(acc + fround(a·b)) — the order of reference BLAS. It depends only on K, so it is
// deterministic and batch-invariant.
import type { KernelFn } from "@lockstep/core";
import { elementOffsets, type CpuStorage } from "./storage.js";

export const matmulKernel: KernelFn<"matmul", CpuStorage> = ([a, b], [out]) => {
  const A = a!;
  const B = b!;
  const nd = A.shape.length;
  const m = A.shape[nd - 2]!;
  const k = A.shape[nd - 1]!;
  const n = B.shape[nd - 1]!;
  const batchShape = A.shape.slice(0, nd - 2);
  const aBases = elementOffsets(batchShape, A.strides.slice(0, nd - 2), A.offset);
  const bBases = elementOffsets(batchShape, B.strides.slice(0, nd - 2), B.offset);
  const [aRow, aCol] = [A.strides[nd - 2]!, A.strides[nd - 1]!];
  const [bRow, bCol] = [B.strides[nd - 2]!, B.strides[nd - 1]!];
  const x = A.storage.data;
  const y = B.storage.data;
  const dst = out!.storage.data;
  const round = A.dtype === "float32" ? Math.fround : null;
  const integer = A.dtype === "int32";
  let o = 0;
  for (let batch = 0; batch < aBases.length; batch++) {
    const aBase = aBases[batch]!;
    const bBase = bBases[batch]!;
    for (let i = 0; i < m; i++) {
      const rowStart = aBase + i * aRow;
      for (let j = 0; j < n; j++) {
        const colStart = bBase + j * bCol;
        let acc = 0;
        if (round !== null) {
          for (let p = 0; p < k; p++) acc = round(acc + round(x[rowStart + p * aCol]! * y[colStart + p * bRow]!));
        } else if (integer) {
          for (let p = 0; p < k; p++) acc = (acc + Math.imul(x[rowStart + p * aCol]!, y[colStart + p * bRow]!)) | 0;
        } else {
          for (let p = 0; p < k; p++) acc += x[rowStart + p * aCol]! * y[colStart + p * bRow]!;
        }
        dst[o++] = acc;
      }
    }
  }
};
