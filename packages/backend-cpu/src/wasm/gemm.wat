;; WebAssembly SIMD kernels for the float32 matmul. Assembled at build time by
;; scripts/build-wasm.mjs into kernels.generated.ts; gemm-wasm.ts drives them.
;;
;; Every pointer is a byte offset into this module's memory (its own, or the main thread's tensor
;; arena, imported as env.memory by the arena build: see scripts/build-wasm.mjs); every stride and size is in floats.
;; The caller copies operands in, packs them, runs `gemm` (or a GEMV) and copies the result out.
;;
;; The deterministic contract (see packages/backend-cpu/README.md): `gemm` vectorises across
;; OUTPUT COLUMNS. Each f32x4 lane is a different output element, and every lane performs
;;     acc = round(acc + round(a[k] * b[k]))    for k = 0, 1, ..., K-1, starting from acc = +0
;; with f32x4.mul then f32x4.add (never fused), which is exactly the scalar loop of reference BLAS
;; and of the JS kernel `sequentialMatmul`. The caller cuts K into blocks of KC (gemm-wasm.ts):
;; between blocks the float32 accumulators are stored to C and loaded back, which is exact, so
;; blocking never changes a result.
;; Padding lanes (columns past N, rows past M) compute on zeros and are never copied out. A NaN
;; result is NaN here too, but WebAssembly does not fix NaN payload bits.
;;
;; The GEMV kernel at the end is for the fast (flag off) path only: it sums in partial sums
;; across k, so its rounding differs from `gemm`.
;;
;; Size: the module is under 4 KiB. Chrome's main thread refused to compile modules over
;; 4 KiB synchronously until the limit became 8 MiB, and some WebViews still refuse; there
;; instance.ts compiles asynchronously and the JS kernels (the same bits in deterministic mode)
;; run until it is done. Node and workers have no limit. Stay well under 8 MiB.
(module
  (memory (export "memory") 1)

  ;; Blocks of 4 rows taken together against each panel of packed B: 256 rows × KC = 256 of A
  ;; (256 KiB, contiguous: packed A is laid out K block by K block) stay in L2 beside the
  ;; group of packed B (at most 192 KiB, see gemm-wasm.ts).
  (global $MC_BLOCKS i32 (i32.const 64))

  ;; One row (rows 4m+1..4m+3 left over) against two panels: C[1×16]. A is read from its lane
  ;; of a block (step as per k), B as in tile4x8. Four accumulator chains hide the add latency
  ;; better than one 8-wide panel would.
  (func $tile1x16 (param $a i32) (param $as i32) (param $b i32) (param $b2 i32) (param $bs i32) (param $c i32) (param $kc i32) (param $load i32)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $x v128) (local $end i32)
    (if (local.get $load)
      (then
        (local.set $c0 (v128.load (local.get $c)))
        (local.set $c1 (v128.load offset=16 (local.get $c)))
        (local.set $c2 (v128.load offset=32 (local.get $c)))
        (local.set $c3 (v128.load offset=48 (local.get $c)))))
    (local.set $end (i32.add (local.get $b) (i32.mul (local.get $kc) (local.get $bs))))
    (loop $k
      (local.set $x (v128.load32_splat (local.get $a)))
      (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $x) (v128.load (local.get $b)))))
      (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $b)))))
      (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (local.get $x) (v128.load (local.get $b2)))))
      (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $b2)))))
      (local.set $a (i32.add (local.get $a) (local.get $as)))
      (local.set $b (i32.add (local.get $b) (local.get $bs)))
      (local.set $b2 (i32.add (local.get $b2) (local.get $bs)))
      (br_if $k (i32.lt_u (local.get $b) (local.get $end))))
    (v128.store (local.get $c) (local.get $c0))
    (v128.store offset=16 (local.get $c) (local.get $c1))
    (v128.store offset=32 (local.get $c) (local.get $c2))
    (v128.store offset=48 (local.get $c) (local.get $c3)))

  ;; One row against one panel: C[1×8], for an odd last panel.
  (func $tile1x8 (param $a i32) (param $as i32) (param $b i32) (param $bs i32) (param $c i32) (param $kc i32) (param $load i32)
    (local $c0 v128) (local $c1 v128) (local $x v128) (local $end i32)
    (if (local.get $load)
      (then
        (local.set $c0 (v128.load (local.get $c)))
        (local.set $c1 (v128.load offset=16 (local.get $c)))))
    (local.set $end (i32.add (local.get $b) (i32.mul (local.get $kc) (local.get $bs))))
    (loop $k
      (local.set $x (v128.load32_splat (local.get $a)))
      (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $x) (v128.load (local.get $b)))))
      (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $b)))))
      (local.set $a (i32.add (local.get $a) (local.get $as)))
      (local.set $b (i32.add (local.get $b) (local.get $bs)))
      (br_if $k (i32.lt_u (local.get $b) (local.get $end))))
    (v128.store (local.get $c) (local.get $c0))
    (v128.store offset=16 (local.get $c) (local.get $c1)))

  ;; The 4×8 tile (inside `gemm`): C[4×8] = (load ? C : 0) + A·B over kc steps. A: 4 floats (one per row) at a, a + as, …
  ;; (as = 16 for packed A; a transposed A is read in place); B: 8 floats at b, b + bs, … (bs = 32
  ;; for packed B; a row-major B is read in place); C: row stride ldc bytes. Eight accumulators +
  ;; two B vectors + one broadcast of A + one product fit the 15 xmm registers TurboFan allocates
  ;; (xmm15 is its scratch). Unrolling k made TurboFan interleave the steps and spill (measured
  ;; slower, 2× and 4×), and a sixth row needs a 16th register, so neither is done. Steps in
  ;; registers cost nothing over immediates (one add either way).
  ;; C[rows × 8·panels] = (load ? C : 0) + A·B over kc ≥ 1 steps; the caller cuts K into blocks
  ;; of at most KC (gemm-wasm.ts), passing load = 1 after the first. A: ceil(rows/4) blocks of 4
  ;; rows, block r at ap + r·ab bytes, its 4 floats for step p at + p·as (packA output: ab = 16kc,
  ;; as = 16; a transposed A in place: ab = 16, as = 4·lda). B: panels of 8 columns, panel j at
  ;; bp + j·bb, its 8 floats for step p at + p·bs (packB output: bb = 32k, bs = 32; a row-major B
  ;; in place: bb = 32, bs = 4·ldb). Lanes past the last row or column read whatever is there
  ;; (each lane is its own output element, and those are never copied out). C: row stride ldc
  ;; floats (≥ 8·panels), ceil(rows/4)·4 rows.
  (func (export "gemm") (param $ap i32) (param $ab i32) (param $as i32) (param $bp i32) (param $bb i32) (param $bs i32)
    (param $c i32) (param $rows i32) (param $panels i32) (param $kc i32) (param $ldc i32) (param $load i32)
    (local $full i32) (local $ib i32) (local $ie i32) (local $p i32) (local $r i32) (local $bptr i32) (local $q i32)
    (local $arow i32) (local $crow i32)
    ;; The 4×8 tile's pointers (A, B, C, C row) and registers (see the tile below).
    (local $ta i32) (local $tb i32) (local $tc i32) (local $tp i32) (local $end i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $x v128)
    (local.set $full (i32.shr_u (local.get $rows) (i32.const 2)))
    (local.set $ldc (i32.shl (local.get $ldc) (i32.const 2)))
    ;; Full blocks of 4 rows, MC_BLOCKS at a time, each against every panel.
    (local.set $ib (i32.const 0))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.ge_u (local.get $ib) (local.get $full)))
        (local.set $ie (i32.add (local.get $ib) (global.get $MC_BLOCKS)))
        (if (i32.gt_u (local.get $ie) (local.get $full)) (then (local.set $ie (local.get $full))))
        (local.set $p (i32.const 0))
        (loop $panelLoop
          (local.set $bptr (i32.add (local.get $bp) (i32.mul (local.get $p) (local.get $bb))))
          (local.set $r (local.get $ib))
          (loop $rowLoop
            ;; One 4×8 tile: C[4×8] = (load ? C : 0) + A·B over kc steps. Written out here rather than
            ;; called: Node 20's V8 does not inline WebAssembly calls, and the call and its eight
            ;; arguments cost 10–18 % of a tile with a short K (measured; the same bits either way).
            (local.set $ta (i32.add (local.get $ap) (i32.mul (local.get $r) (local.get $ab))))
            (local.set $tb (local.get $bptr))
            (local.set $tc (i32.add (i32.add (local.get $c) (i32.shl (local.get $p) (i32.const 5)))
              (i32.mul (i32.shl (local.get $r) (i32.const 2)) (local.get $ldc))))
            (if (local.get $load)
              (then
                (local.set $tp (local.get $tc))
                (local.set $c00 (v128.load (local.get $tp)))
                (local.set $c01 (v128.load offset=16 (local.get $tp)))
                (local.set $tp (i32.add (local.get $tp) (local.get $ldc)))
                (local.set $c10 (v128.load (local.get $tp)))
                (local.set $c11 (v128.load offset=16 (local.get $tp)))
                (local.set $tp (i32.add (local.get $tp) (local.get $ldc)))
                (local.set $c20 (v128.load (local.get $tp)))
                (local.set $c21 (v128.load offset=16 (local.get $tp)))
                (local.set $tp (i32.add (local.get $tp) (local.get $ldc)))
                (local.set $c30 (v128.load (local.get $tp)))
                (local.set $c31 (v128.load offset=16 (local.get $tp))))
              (else
                (local.set $c00 (v128.const i32x4 0 0 0 0))
                (local.set $c01 (v128.const i32x4 0 0 0 0))
                (local.set $c10 (v128.const i32x4 0 0 0 0))
                (local.set $c11 (v128.const i32x4 0 0 0 0))
                (local.set $c20 (v128.const i32x4 0 0 0 0))
                (local.set $c21 (v128.const i32x4 0 0 0 0))
                (local.set $c30 (v128.const i32x4 0 0 0 0))
                (local.set $c31 (v128.const i32x4 0 0 0 0))))
            (local.set $end (i32.add (local.get $tb) (i32.mul (local.get $kc) (local.get $bs))))
            (loop $k
              (local.set $b0 (v128.load (local.get $tb)))
              (local.set $b1 (v128.load offset=16 (local.get $tb)))
              (local.set $x (v128.load32_splat (local.get $ta)))
              (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
              (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
              (local.set $x (v128.load32_splat offset=4 (local.get $ta)))
              (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
              (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
              (local.set $x (v128.load32_splat offset=8 (local.get $ta)))
              (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
              (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
              (local.set $x (v128.load32_splat offset=12 (local.get $ta)))
              (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
              (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
              (local.set $ta (i32.add (local.get $ta) (local.get $as)))
              (local.set $tb (i32.add (local.get $tb) (local.get $bs)))
              (br_if $k (i32.lt_u (local.get $tb) (local.get $end))))
            (local.set $tp (local.get $tc))
            (v128.store (local.get $tp) (local.get $c00))
            (v128.store offset=16 (local.get $tp) (local.get $c01))
            (local.set $tp (i32.add (local.get $tp) (local.get $ldc)))
            (v128.store (local.get $tp) (local.get $c10))
            (v128.store offset=16 (local.get $tp) (local.get $c11))
            (local.set $tp (i32.add (local.get $tp) (local.get $ldc)))
            (v128.store (local.get $tp) (local.get $c20))
            (v128.store offset=16 (local.get $tp) (local.get $c21))
            (local.set $tp (i32.add (local.get $tp) (local.get $ldc)))
            (v128.store (local.get $tp) (local.get $c30))
            (v128.store offset=16 (local.get $tp) (local.get $c31))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br_if $rowLoop (i32.lt_u (local.get $r) (local.get $ie))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br_if $panelLoop (i32.lt_u (local.get $p) (local.get $panels))))
        (local.set $ib (local.get $ie))
        (br $blocks)))
    ;; The 1–3 rows left over live in lanes of the last block; one row at a time.
    (local.set $q (i32.const 0))
    (block $restDone
      (loop $rest
        (br_if $restDone (i32.ge_u (local.get $q) (i32.and (local.get $rows) (i32.const 3))))
        (local.set $arow (i32.add (i32.add (local.get $ap) (i32.mul (local.get $full) (local.get $ab)))
          (i32.shl (local.get $q) (i32.const 2))))
        (local.set $crow (i32.add (local.get $c)
          (i32.mul (i32.add (i32.shl (local.get $full) (i32.const 2)) (local.get $q)) (local.get $ldc))))
        (local.set $p (i32.const 0))
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.ge_u (i32.add (local.get $p) (i32.const 1)) (local.get $panels)))
            (local.set $bptr (i32.add (local.get $bp) (i32.mul (local.get $p) (local.get $bb))))
            (call $tile1x16 (local.get $arow) (local.get $as) (local.get $bptr)
              (i32.add (local.get $bptr) (local.get $bb)) (local.get $bs)
              (i32.add (local.get $crow) (i32.shl (local.get $p) (i32.const 5)))
              (local.get $kc) (local.get $load))
            (local.set $p (i32.add (local.get $p) (i32.const 2)))
            (br $pairs)))
        (if (i32.lt_u (local.get $p) (local.get $panels))
          (then
            (call $tile1x8 (local.get $arow) (local.get $as)
              (i32.add (local.get $bp) (i32.mul (local.get $p) (local.get $bb)))
              (local.get $bs)
              (i32.add (local.get $crow) (i32.shl (local.get $p) (i32.const 5)))
              (local.get $kc) (local.get $load))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $rest))))

  ;; Packs rows×k of A (element (i, p) at src + 4·(i·rowStride + p·kStride)) into blocks of 4
  ;; rows: dst[block][p][lane] = A[4·block + lane][p], zero past the last row.
  (func (export "packA") (param $src i32) (param $rowStride i32) (param $kStride i32) (param $rows i32) (param $k i32) (param $dst i32)
    (local $i i32) (local $p i32) (local $lane i32) (local $row i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local.set $i (i32.const 0))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $p (i32.const 0))
        (if (i32.and (i32.le_u (i32.add (local.get $i) (i32.const 4)) (local.get $rows))
                     (i32.eq (local.get $kStride) (i32.const 1)))
          (then
            ;; Row-major A: transpose 4×4 tiles (unpcklps/unpckhps, then movlhps/movhlps).
            (local.set $r0 (i32.add (local.get $src) (i32.shl (i32.mul (local.get $i) (local.get $rowStride)) (i32.const 2))))
            (local.set $r1 (i32.add (local.get $r0) (i32.shl (local.get $rowStride) (i32.const 2))))
            (local.set $r2 (i32.add (local.get $r1) (i32.shl (local.get $rowStride) (i32.const 2))))
            (local.set $r3 (i32.add (local.get $r2) (i32.shl (local.get $rowStride) (i32.const 2))))
            (block $tilesDone
              (loop $tiles
                (br_if $tilesDone (i32.gt_u (i32.add (local.get $p) (i32.const 4)) (local.get $k)))
                (local.set $x0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23
                  (v128.load (local.get $r0)) (v128.load (local.get $r1))))
                (local.set $x1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31
                  (v128.load (local.get $r0)) (v128.load (local.get $r1))))
                (local.set $x2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23
                  (v128.load (local.get $r2)) (v128.load (local.get $r3))))
                (local.set $x3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31
                  (v128.load (local.get $r2)) (v128.load (local.get $r3))))
                (v128.store (local.get $dst)
                  (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $x0) (local.get $x2)))
                (v128.store offset=16 (local.get $dst)
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $x0) (local.get $x2)))
                (v128.store offset=32 (local.get $dst)
                  (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $x1) (local.get $x3)))
                (v128.store offset=48 (local.get $dst)
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $x1) (local.get $x3)))
                (local.set $r0 (i32.add (local.get $r0) (i32.const 16)))
                (local.set $r1 (i32.add (local.get $r1) (i32.const 16)))
                (local.set $r2 (i32.add (local.get $r2) (i32.const 16)))
                (local.set $r3 (i32.add (local.get $r3) (i32.const 16)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (br $tiles))))
          (else
            (if (i32.and (i32.le_u (i32.add (local.get $i) (i32.const 4)) (local.get $rows))
                         (i32.eq (local.get $rowStride) (i32.const 1)))
              (then
                ;; Transposed A (e.g. dYᵀ in a weight gradient): the 4 rows are contiguous per k.
                (local.set $r0 (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2))))
                (block $columnsDone
                  (loop $columns
                    (br_if $columnsDone (i32.ge_u (local.get $p) (local.get $k)))
                    (v128.store (local.get $dst) (v128.load (local.get $r0)))
                    (local.set $r0 (i32.add (local.get $r0) (i32.shl (local.get $kStride) (i32.const 2))))
                    (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                    (local.set $p (i32.add (local.get $p) (i32.const 1)))
                    (br $columns)))))))
        ;; Whatever the fast paths left (k tail, last partial block, other layouts): one float at a time.
        (block $scalarDone
          (loop $scalar
            (br_if $scalarDone (i32.ge_u (local.get $p) (local.get $k)))
            (local.set $lane (i32.const 0))
            (loop $lanes
              (local.set $row (i32.add (local.get $i) (local.get $lane)))
              (f32.store (local.get $dst)
                (if (result f32) (i32.lt_u (local.get $row) (local.get $rows))
                  (then (f32.load (i32.add (local.get $src)
                    (i32.shl (i32.add (i32.mul (local.get $row) (local.get $rowStride))
                      (i32.mul (local.get $p) (local.get $kStride))) (i32.const 2)))))
                  (else (f32.const 0))))
              (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
              (local.set $lane (i32.add (local.get $lane) (i32.const 1)))
              (br_if $lanes (i32.lt_u (local.get $lane) (i32.const 4))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $scalar)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $blocks))))

  ;; Packs k×n of B (element (p, j) at src + 4·(p·kStride + j·jStride)) into panels of 8
  ;; columns: dst[panel][p][lane] = B[p][8·panel + lane], zero past the last column.
  (func (export "packB") (param $src i32) (param $kStride i32) (param $jStride i32) (param $k i32) (param $n i32) (param $dst i32)
    (local $j i32) (local $p i32) (local $lane i32) (local $col i32) (local $s i32) (local $step i32) (local $q i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $y0 v128) (local $y1 v128) (local $y2 v128) (local $y3 v128)
    (local.set $j (i32.const 0))
    (block $done
      (loop $panels
        (br_if $done (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $p (i32.const 0))
        (if (i32.le_u (i32.add (local.get $j) (i32.const 8)) (local.get $n))
          (then
            (if (i32.eq (local.get $jStride) (i32.const 1))
              (then
                ;; Row-major B: each k row of the panel is two contiguous vectors.
                (local.set $s (i32.add (local.get $src) (i32.shl (local.get $j) (i32.const 2))))
                (local.set $step (i32.shl (local.get $kStride) (i32.const 2)))
                (block $rowsDone
                  (loop $rowsLoop
                    (br_if $rowsDone (i32.ge_u (local.get $p) (local.get $k)))
                    (v128.store (local.get $dst) (v128.load (local.get $s)))
                    (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $s)))
                    (local.set $s (i32.add (local.get $s) (local.get $step)))
                    (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
                    (local.set $p (i32.add (local.get $p) (i32.const 1)))
                    (br $rowsLoop))))
              (else
                (if (i32.eq (local.get $kStride) (i32.const 1))
                  (then
                    ;; Transposed B (x·Wᵀ): columns are contiguous in k; transpose two 4×4 tiles
                    ;; per 4 values of k.
                    (local.set $s (i32.add (local.get $src) (i32.shl (i32.mul (local.get $j) (local.get $jStride)) (i32.const 2))))
                    (local.set $step (i32.shl (local.get $jStride) (i32.const 2)))
                    (block $tilesDone
                      (loop $tiles
                        (br_if $tilesDone (i32.gt_u (i32.add (local.get $p) (i32.const 4)) (local.get $k)))
                        ;; Columns j..j+3, then j+4..j+7: load 4×4, transpose, store per k.
                        (local.set $q (local.get $s))
                        (local.set $y0 (v128.load (local.get $q)))
                        (local.set $q (i32.add (local.get $q) (local.get $step)))
                        (local.set $y1 (v128.load (local.get $q)))
                        (local.set $q (i32.add (local.get $q) (local.get $step)))
                        (local.set $y2 (v128.load (local.get $q)))
                        (local.set $q (i32.add (local.get $q) (local.get $step)))
                        (local.set $y3 (v128.load (local.get $q)))
                        (local.set $x0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $y0) (local.get $y1)))
                        (local.set $x1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $y0) (local.get $y1)))
                        (local.set $x2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $y2) (local.get $y3)))
                        (local.set $x3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $y2) (local.get $y3)))
                        (v128.store offset=0 (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $x0) (local.get $x2)))
                        (v128.store offset=32 (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $x0) (local.get $x2)))
                        (v128.store offset=64 (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $x1) (local.get $x3)))
                        (v128.store offset=96 (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $x1) (local.get $x3)))
                        (local.set $q (i32.add (local.get $q) (local.get $step)))
                        (local.set $y0 (v128.load (local.get $q)))
                        (local.set $q (i32.add (local.get $q) (local.get $step)))
                        (local.set $y1 (v128.load (local.get $q)))
                        (local.set $q (i32.add (local.get $q) (local.get $step)))
                        (local.set $y2 (v128.load (local.get $q)))
                        (local.set $q (i32.add (local.get $q) (local.get $step)))
                        (local.set $y3 (v128.load (local.get $q)))
                        (local.set $x0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $y0) (local.get $y1)))
                        (local.set $x1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $y0) (local.get $y1)))
                        (local.set $x2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $y2) (local.get $y3)))
                        (local.set $x3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $y2) (local.get $y3)))
                        (v128.store offset=16 (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $x0) (local.get $x2)))
                        (v128.store offset=48 (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $x0) (local.get $x2)))
                        (v128.store offset=80 (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $x1) (local.get $x3)))
                        (v128.store offset=112 (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $x1) (local.get $x3)))
                        (local.set $s (i32.add (local.get $s) (i32.const 16)))
                        (local.set $dst (i32.add (local.get $dst) (i32.const 128)))
                        (local.set $p (i32.add (local.get $p) (i32.const 4)))
                        (br $tiles)))))))))
        ;; k tail, last partial panel, other layouts: one float at a time.
        (block $scalarDone
          (loop $scalar
            (br_if $scalarDone (i32.ge_u (local.get $p) (local.get $k)))
            (local.set $lane (i32.const 0))
            (loop $lanes
              (local.set $col (i32.add (local.get $j) (local.get $lane)))
              (f32.store (local.get $dst)
                (if (result f32) (i32.lt_u (local.get $col) (local.get $n))
                  (then (f32.load (i32.add (local.get $src)
                    (i32.shl (i32.add (i32.mul (local.get $p) (local.get $kStride))
                      (i32.mul (local.get $col) (local.get $jStride))) (i32.const 2)))))
                  (else (f32.const 0))))
              (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
              (local.set $lane (i32.add (local.get $lane) (i32.const 1)))
              (br_if $lanes (i32.lt_u (local.get $lane) (i32.const 8))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $scalar)))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br $panels))))

  ;; Moves rows of C from row stride `from` to row stride `to` (both in floats, to ≤ from) in
  ;; place, so a padded result leaves in one copy.
  (func (export "compact") (param $c i32) (param $rows i32) (param $from i32) (param $to i32)
    (local $r i32)
    (local.set $r (i32.const 1))
    (block $done
      (loop $rowsLoop
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (memory.copy
          (i32.add (local.get $c) (i32.shl (i32.mul (local.get $r) (local.get $to)) (i32.const 2)))
          (i32.add (local.get $c) (i32.shl (i32.mul (local.get $r) (local.get $from)) (i32.const 2)))
          (i32.shl (local.get $to) (i32.const 2)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowsLoop))))

  ;; Fast GEMV with contiguous rows of B: c[j] (+)= Σ_p a[p]·b[p·ldb + j] for j < n. Eight columns
  ;; per step, each with two partial sums (even and odd p) added at the end: NOT the
  ;; deterministic order, and twice the add chains to hide the latency. Columns past the last
  ;; multiple of 8 take the same two partial sums one column at a time. With `accumulate` the
  ;; sum is added to c (the caller feeds k in chunks that stay in cache).
  (func (export "gemvColumns") (param $a i32) (param $b i32) (param $c i32) (param $k i32) (param $n i32) (param $ldb i32) (param $accumulate i32)
    (local $j i32) (local $p i32) (local $x v128) (local $y v128) (local $stride i32) (local $col i32) (local $ap i32)
    (local $e0 v128) (local $e1 v128) (local $o0 v128) (local $o1 v128) (local $e f32) (local $o f32)
    (local.set $stride (i32.shl (local.get $ldb) (i32.const 2)))
    (local.set $j (i32.const 0))
    (block $vectorsDone
      (loop $vectors
        (br_if $vectorsDone (i32.gt_u (i32.add (local.get $j) (i32.const 8)) (local.get $n)))
        (local.set $e0 (v128.const i32x4 0 0 0 0))
        (local.set $e1 (v128.const i32x4 0 0 0 0))
        (local.set $o0 (v128.const i32x4 0 0 0 0))
        (local.set $o1 (v128.const i32x4 0 0 0 0))
        (local.set $col (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $ap (local.get $a))
        (local.set $p (i32.const 1))
        (block $kDone
          (loop $kLoop
            (br_if $kDone (i32.ge_u (local.get $p) (local.get $k)))
            (local.set $x (v128.load32_splat (local.get $ap)))
            (local.set $y (v128.load32_splat offset=4 (local.get $ap)))
            (local.set $e0 (f32x4.add (local.get $e0) (f32x4.mul (local.get $x) (v128.load (local.get $col)))))
            (local.set $e1 (f32x4.add (local.get $e1) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $col)))))
            (local.set $col (i32.add (local.get $col) (local.get $stride)))
            (local.set $o0 (f32x4.add (local.get $o0) (f32x4.mul (local.get $y) (v128.load (local.get $col)))))
            (local.set $o1 (f32x4.add (local.get $o1) (f32x4.mul (local.get $y) (v128.load offset=16 (local.get $col)))))
            (local.set $col (i32.add (local.get $col) (local.get $stride)))
            (local.set $ap (i32.add (local.get $ap) (i32.const 8)))
            (local.set $p (i32.add (local.get $p) (i32.const 2)))
            (br $kLoop)))
        (if (i32.eq (local.get $p) (local.get $k))
          (then
            (local.set $x (v128.load32_splat (local.get $ap)))
            (local.set $e0 (f32x4.add (local.get $e0) (f32x4.mul (local.get $x) (v128.load (local.get $col)))))
            (local.set $e1 (f32x4.add (local.get $e1) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $col)))))))
        (local.set $e0 (f32x4.add (local.get $e0) (local.get $o0)))
        (local.set $e1 (f32x4.add (local.get $e1) (local.get $o1)))
        (local.set $col (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))))
        (if (local.get $accumulate)
          (then
            (local.set $e0 (f32x4.add (v128.load (local.get $col)) (local.get $e0)))
            (local.set $e1 (f32x4.add (v128.load offset=16 (local.get $col)) (local.get $e1)))))
        (v128.store (local.get $col) (local.get $e0))
        (v128.store offset=16 (local.get $col) (local.get $e1))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br $vectors)))
    (block $scalarsDone
      (loop $scalars
        (br_if $scalarsDone (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $e (f32.const 0))
        (local.set $o (f32.const 0))
        (local.set $col (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $ap (local.get $a))
        (local.set $p (i32.const 1))
        (block $kDone
          (loop $kLoop
            (br_if $kDone (i32.ge_u (local.get $p) (local.get $k)))
            (local.set $e (f32.add (local.get $e) (f32.mul (f32.load (local.get $ap)) (f32.load (local.get $col)))))
            (local.set $col (i32.add (local.get $col) (local.get $stride)))
            (local.set $o (f32.add (local.get $o) (f32.mul (f32.load offset=4 (local.get $ap)) (f32.load (local.get $col)))))
            (local.set $col (i32.add (local.get $col) (local.get $stride)))
            (local.set $ap (i32.add (local.get $ap) (i32.const 8)))
            (local.set $p (i32.add (local.get $p) (i32.const 2)))
            (br $kLoop)))
        (if (i32.eq (local.get $p) (local.get $k))
          (then (local.set $e (f32.add (local.get $e) (f32.mul (f32.load (local.get $ap)) (f32.load (local.get $col)))))))
        (local.set $e (f32.add (local.get $e) (local.get $o)))
        (local.set $col (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))))
        (if (local.get $accumulate) (then (local.set $e (f32.add (f32.load (local.get $col)) (local.get $e)))))
        (f32.store (local.get $col) (local.get $e))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $scalars))))
)
