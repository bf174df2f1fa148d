;; WebAssembly SIMD loops for the float32 elementwise kernels (elementwise.ts drives them; they
;; are assembled by scripts/build-wasm.mjs into elementwise.generated.ts).
;;
;; Every pointer is a byte offset into this module's memory (its own, or the main thread's tensor
;; arena, imported as env.memory by the arena build: see scripts/build-wasm.mjs), aligned to its
;; element (16 bytes in scratch; arena storages are used in place at any element). `n` counts
;; elements and is a multiple of 16, so the loops run whole vectors and never need a tail: the
;; caller pads scratch regions, and writes to a storage only whole vectors that fit it (padding
;; lanes compute on garbage read past an operand, and are never copied out).
;;
;; Each lane computes exactly what the JavaScript kernels compute: f32x4 + − × ÷ √ are correctly
;; rounded, which is what JS's double arithmetic rounded to float32 on store gives; comparisons
;; are IEEE comparisons; relu is `pmax(x, 0)` = `x < 0 ? 0 : x`, which passes NaN and −0 through
;; unchanged; where is a bit select. NaN payloads: x86-64 returns the first operand's NaN when both
;; are NaN. V8's JS code usually computes x + y and x · y as y + x and y · x (x − y and x ÷ y in
;; order), so add and mul take y first here; but optimized JS may commute them either way, so the
;; payload of NaN + NaN was never fixed by the JS kernels (the tests require only NaN there).
(module
  (memory (export "memory") 1)

  ;; d = x ∘ y for ∘ = add (0), sub (1), mul (2), div (3), detmath's flushing division (4), and
  ;; ReLU's backward (5: x where y > 0, else +0); add and mul as y ∘ x (see the top).
  (func (export "arith") (param $op i32) (param $x i32) (param $y i32) (param $d i32) (param $n i32)
    (local $end i32) (local $a v128) (local $b v128) (local $q v128) (local $s v128) (local $tiny v128)
    (local.set $end (i32.add (local.get $d) (i32.shl (local.get $n) (i32.const 2))))
    (block $reluBackward (block $flushDiv (block $div (block $mul (block $sub (block $add
      (br_table $add $sub $mul $div $flushDiv $reluBackward (local.get $op)))
      (loop $l
        (v128.store (local.get $d) (f32x4.add (v128.load (local.get $y)) (v128.load (local.get $x))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (br_if $l (i32.lt_u (local.get $d) (local.get $end))))
      (return))
      (loop $l
        (v128.store (local.get $d) (f32x4.sub (v128.load (local.get $x)) (v128.load (local.get $y))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (br_if $l (i32.lt_u (local.get $d) (local.get $end))))
      (return))
      (loop $l
        (v128.store (local.get $d) (f32x4.mul (v128.load (local.get $y)) (v128.load (local.get $x))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (br_if $l (i32.lt_u (local.get $d) (local.get $end))))
      (return))
      (loop $l
        (v128.store (local.get $d) (f32x4.div (v128.load (local.get $x)) (v128.load (local.get $y))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (br_if $l (i32.lt_u (local.get $d) (local.get $end))))
      (return))
    ;; detmath's detDiv, lane by lane, for the deterministic kernels: a subnormal operand counts as
    ;; a zero of its sign, the quotient is correctly rounded, and a quotient whose 24-bit rounding
    ;; (exponent unbounded) is below the smallest normal float becomes a zero of its sign — what
    ;; detDiv computes in double and GPUs that flush subnormals give. f32x4.div rounds the exact
    ;; quotient once, as detDiv's float32 rounding of its double quotient does (53 ≥ 2·24 + 2 bits),
    ;; except where gradual underflow rounds to the subnormal grid: there (0 < |q| < 2^-100, rare)
    ;; the quotient is taken again scaled by 2^64, so it rounds to 24 bits, and compared with the
    ;; smallest normal before scaling back (scaling back could round up to it).
    (loop $l
      (local.set $a (v128.load (local.get $x)))
      (local.set $a (v128.bitselect (v128.and (local.get $a) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)) (local.get $a)
        (i32x4.eq (v128.and (local.get $a) (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000)) (v128.const i32x4 0 0 0 0))))
      (local.set $b (v128.load (local.get $y)))
      (local.set $b (v128.bitselect (v128.and (local.get $b) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)) (local.get $b)
        (i32x4.eq (v128.and (local.get $b) (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000)) (v128.const i32x4 0 0 0 0))))
      (local.set $q (f32x4.div (local.get $a) (local.get $b)))
      (local.set $tiny (v128.and (f32x4.lt (f32x4.abs (local.get $q)) (v128.const f32x4 0x1p-100 0x1p-100 0x1p-100 0x1p-100))
        (f32x4.ne (local.get $q) (v128.const f32x4 0 0 0 0))))
      (if (v128.any_true (local.get $tiny))
        (then
          (local.set $s (f32x4.div (f32x4.mul (local.get $a) (v128.const f32x4 0x1p64 0x1p64 0x1p64 0x1p64)) (local.get $b)))
          (local.set $s (v128.bitselect (v128.and (local.get $s) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))
            (f32x4.mul (local.get $s) (v128.const f32x4 0x1p-64 0x1p-64 0x1p-64 0x1p-64))
            (f32x4.lt (f32x4.abs (local.get $s)) (v128.const f32x4 0x1p-62 0x1p-62 0x1p-62 0x1p-62))))
          (local.set $q (v128.bitselect (local.get $s) (local.get $q) (local.get $tiny)))))
      (v128.store (local.get $d) (local.get $q))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (local.set $d (i32.add (local.get $d) (i32.const 16)))
      (br_if $l (i32.lt_u (local.get $d) (local.get $end))))
    (return))
    ;; The comparison's lanes are all ones or all zeros: the gradient's bits pass unchanged (a NaN
    ;; keeps its payload, -0 stays -0) where the output is above 0, and NaN or ≤ 0 outputs give
    ;; +0, as the JS kernel's `output > 0 ? grad : 0`.
    (loop $l
      (v128.store (local.get $d) (v128.and (v128.load (local.get $x))
        (f32x4.gt (v128.load (local.get $y)) (v128.const f32x4 0 0 0 0))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (local.set $d (i32.add (local.get $d) (i32.const 16)))
      (br_if $l (i32.lt_u (local.get $d) (local.get $end)))))

  ;; d = x + s·y, the product rounded, then the sum (never fused): plain SGD's update exactly as
  ;; the mul loop (as s·y) then the add loop (as (s·y) + x) above compute it, in one pass.
  (func (export "scaledAdd") (param $x i32) (param $y i32) (param $s f32) (param $d i32) (param $n i32)
    (local $end i32) (local $v v128)
    (local.set $v (f32x4.splat (local.get $s)))
    (local.set $end (i32.add (local.get $d) (i32.shl (local.get $n) (i32.const 2))))
    (loop $l
      (v128.store (local.get $d) (f32x4.add (f32x4.mul (local.get $v) (v128.load (local.get $y))) (v128.load (local.get $x))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (local.set $d (i32.add (local.get $d) (i32.const 16)))
      (br_if $l (i32.lt_u (local.get $d) (local.get $end)))))

  ;; Sixteen lane masks (all ones or zero, four vectors) narrowed to sixteen bytes 0 or 1.
  (func $pack (param $m0 v128) (param $m1 v128) (param $m2 v128) (param $m3 v128) (result v128)
    (v128.and
      (i8x16.narrow_i16x8_s
        (i16x8.narrow_i32x4_s (local.get $m0) (local.get $m1))
        (i16x8.narrow_i32x4_s (local.get $m2) (local.get $m3)))
      (v128.const i8x16 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1)))

  ;; Bytes d = x ∘ y for ∘ = eq (0), ne (1), gt (2), ge (3), sixteen per step; the caller swaps x
  ;; and y for lt, le.
  (func (export "compare") (param $op i32) (param $x i32) (param $y i32) (param $d i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $d) (local.get $n)))
    (block $ge (block $gt (block $ne (block $eq
      (br_table $eq $ne $gt $ge (local.get $op)))
      (loop $l
        (v128.store (local.get $d) (call $pack
          (f32x4.eq (v128.load (local.get $x)) (v128.load (local.get $y)))
          (f32x4.eq (v128.load offset=16 (local.get $x)) (v128.load offset=16 (local.get $y)))
          (f32x4.eq (v128.load offset=32 (local.get $x)) (v128.load offset=32 (local.get $y)))
          (f32x4.eq (v128.load offset=48 (local.get $x)) (v128.load offset=48 (local.get $y)))))
        (local.set $x (i32.add (local.get $x) (i32.const 64)))
        (local.set $y (i32.add (local.get $y) (i32.const 64)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (br_if $l (i32.lt_u (local.get $d) (local.get $end))))
      (return))
      (loop $l
        (v128.store (local.get $d) (call $pack
          (f32x4.ne (v128.load (local.get $x)) (v128.load (local.get $y)))
          (f32x4.ne (v128.load offset=16 (local.get $x)) (v128.load offset=16 (local.get $y)))
          (f32x4.ne (v128.load offset=32 (local.get $x)) (v128.load offset=32 (local.get $y)))
          (f32x4.ne (v128.load offset=48 (local.get $x)) (v128.load offset=48 (local.get $y)))))
        (local.set $x (i32.add (local.get $x) (i32.const 64)))
        (local.set $y (i32.add (local.get $y) (i32.const 64)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (br_if $l (i32.lt_u (local.get $d) (local.get $end))))
      (return))
      (loop $l
        (v128.store (local.get $d) (call $pack
          (f32x4.gt (v128.load (local.get $x)) (v128.load (local.get $y)))
          (f32x4.gt (v128.load offset=16 (local.get $x)) (v128.load offset=16 (local.get $y)))
          (f32x4.gt (v128.load offset=32 (local.get $x)) (v128.load offset=32 (local.get $y)))
          (f32x4.gt (v128.load offset=48 (local.get $x)) (v128.load offset=48 (local.get $y)))))
        (local.set $x (i32.add (local.get $x) (i32.const 64)))
        (local.set $y (i32.add (local.get $y) (i32.const 64)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (br_if $l (i32.lt_u (local.get $d) (local.get $end))))
      (return))
    (loop $l
        (v128.store (local.get $d) (call $pack
          (f32x4.ge (v128.load (local.get $x)) (v128.load (local.get $y)))
          (f32x4.ge (v128.load offset=16 (local.get $x)) (v128.load offset=16 (local.get $y)))
          (f32x4.ge (v128.load offset=32 (local.get $x)) (v128.load offset=32 (local.get $y)))
          (f32x4.ge (v128.load offset=48 (local.get $x)) (v128.load offset=48 (local.get $y)))))
        (local.set $x (i32.add (local.get $x) (i32.const 64)))
        (local.set $y (i32.add (local.get $y) (i32.const 64)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (br_if $l (i32.lt_u (local.get $d) (local.get $end)))))

  ;; d = f(x) for f = relu (0), neg (1), abs (2), sqrt (3).
  (func (export "unary") (param $op i32) (param $x i32) (param $d i32) (param $n i32)
    (local $end i32) (local $v v128) (local $k v128) (local $r v128) (local $p v128) (local $y v128) (local $e v128)
    (local.set $end (i32.add (local.get $d) (i32.shl (local.get $n) (i32.const 2))))
    (block $detExp (block $sqrt (block $abs (block $neg (block $relu
      (br_table $relu $neg $abs $sqrt $detExp (local.get $op)))
      (loop $l
        (v128.store (local.get $d) (f32x4.pmax (v128.load (local.get $x)) (v128.const i32x4 0 0 0 0)))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (br_if $l (i32.lt_u (local.get $d) (local.get $end))))
      (return))
      (loop $l
        (v128.store (local.get $d) (f32x4.neg (v128.load (local.get $x))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (br_if $l (i32.lt_u (local.get $d) (local.get $end))))
      (return))
      (loop $l
        (v128.store (local.get $d) (f32x4.abs (v128.load (local.get $x))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (br_if $l (i32.lt_u (local.get $d) (local.get $end))))
      (return))
      (loop $l
        (v128.store (local.get $d) (f32x4.sqrt (v128.load (local.get $x))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (br_if $l (i32.lt_u (local.get $d) (local.get $end))))
      (return))
    ;; detmath's detExp, lane by lane, every step the float32 operation (rounded, never fused) the
    ;; JS function rounds with fround: n = floor(x·log2e + 1/2), r = x − n·C1 − n·C2 (Cody–Waite), the
    ;; degree-7 Cephes polynomial, then 2^n through the exponent bits (n = 128 in two steps), a
    ;; subnormal result flushed to +0; NaN in, JS's NaN out; x > EXP_MAX → +∞, x < EXP_MIN → +0.
    (loop $l
      (local.set $v (v128.load (local.get $x)))
      (local.set $k (f32x4.floor (f32x4.add (f32x4.mul (local.get $v) (v128.const i32x4 0x3fb8aa3b 0x3fb8aa3b 0x3fb8aa3b 0x3fb8aa3b)) (v128.const i32x4 0x3f000000 0x3f000000 0x3f000000 0x3f000000))))
      (local.set $r (f32x4.sub (local.get $v) (f32x4.mul (local.get $k) (v128.const i32x4 0x3f318000 0x3f318000 0x3f318000 0x3f318000))))
      (local.set $r (f32x4.sub (local.get $r) (f32x4.mul (local.get $k) (v128.const i32x4 0xb95e8083 0xb95e8083 0xb95e8083 0xb95e8083))))
      (local.set $p (v128.const i32x4 0x39506967 0x39506967 0x39506967 0x39506967))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const i32x4 0x3ab743ce 0x3ab743ce 0x3ab743ce 0x3ab743ce)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const i32x4 0x3c088908 0x3c088908 0x3c088908 0x3c088908)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const i32x4 0x3d2aa9c1 0x3d2aa9c1 0x3d2aa9c1 0x3d2aa9c1)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const i32x4 0x3e2aaaaa 0x3e2aaaaa 0x3e2aaaaa 0x3e2aaaaa)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const i32x4 0x3f000000 0x3f000000 0x3f000000 0x3f000000)))
      (local.set $y (f32x4.add (f32x4.add (f32x4.mul (local.get $p) (f32x4.mul (local.get $r) (local.get $r))) (local.get $r)) (v128.const i32x4 0x3f800000 0x3f800000 0x3f800000 0x3f800000)))
      ;; The integer n (|n| ≤ 128 on the lanes kept) and 2^n as bits; the n = 128 lanes take y·2·2^127.
      (local.set $e (i32x4.trunc_sat_f32x4_s (local.get $k)))
      (local.set $y (v128.bitselect
        (f32x4.mul (f32x4.mul (local.get $y) (v128.const i32x4 0x40000000 0x40000000 0x40000000 0x40000000)) (v128.const i32x4 0x7f000000 0x7f000000 0x7f000000 0x7f000000))
        (f32x4.mul (local.get $y) (i32x4.shl (i32x4.add (local.get $e) (v128.const i32x4 127 127 127 127)) (i32.const 23)))
        (i32x4.gt_s (local.get $e) (v128.const i32x4 127 127 127 127))))
      ;; Subnormal results become +0 (results are never negative here).
      (local.set $y (v128.andnot (local.get $y) (f32x4.lt (local.get $y) (v128.const i32x4 0x00800000 0x00800000 0x00800000 0x00800000))))
      (local.set $y (v128.bitselect (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000) (local.get $y) (f32x4.gt (local.get $v) (v128.const i32x4 0x42b17218 0x42b17218 0x42b17218 0x42b17218))))
      (local.set $y (v128.andnot (local.get $y) (f32x4.lt (local.get $v) (v128.const i32x4 0xc2aeac4f 0xc2aeac4f 0xc2aeac4f 0xc2aeac4f))))
      (local.set $y (v128.bitselect (v128.const i32x4 0x7fc00000 0x7fc00000 0x7fc00000 0x7fc00000) (local.get $y) (f32x4.ne (local.get $v) (local.get $v))))
      (v128.store (local.get $d) (local.get $y))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $d (i32.add (local.get $d) (i32.const 16)))
      (br_if $l (i32.lt_u (local.get $d) (local.get $end)))))

  ;; 32-bit d = c ? x : y, with c one byte per element (any non-zero byte is true).
  (func (export "where") (param $c i32) (param $x i32) (param $y i32) (param $d i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $d) (i32.shl (local.get $n) (i32.const 2))))
    (loop $l
      (v128.store (local.get $d)
        (v128.bitselect (v128.load (local.get $x)) (v128.load (local.get $y))
          (i32x4.ne
            (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (local.get $c))))
            (v128.const i32x4 0 0 0 0))))
      (local.set $c (i32.add (local.get $c) (i32.const 4)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (local.set $d (i32.add (local.get $d) (i32.const 16)))
      (br_if $l (i32.lt_u (local.get $d) (local.get $end)))))

  ;; Whole 4×4 blocks of a transpose: o[r·ldo + c] = s[c·ld + r] for r < rows, c < cols, both
  ;; multiples of 4 (the caller copies the ragged edges). Pure data movement, so every bit passes.
  (func (export "transpose") (param $s i32) (param $ld i32) (param $o i32) (param $ldo i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $c i32) (local $p i32) (local $q i32) (local $ldb i32) (local $colsb i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $ldb (i32.shl (local.get $ld) (i32.const 2)))
    (local.set $colsb (i32.shl (local.get $ldo) (i32.const 2)))
    (block $done
      (br_if $done (i32.or (i32.eqz (local.get $rows)) (i32.eqz (local.get $cols))))
      (loop $cl
        (local.set $r (i32.const 0))
        (loop $rl
          ;; p: s[c·ld + r]; q: o[r·ldo + c] (bytes)
          (local.set $p (i32.add (local.get $s)
            (i32.shl (i32.add (i32.mul (local.get $c) (local.get $ld)) (local.get $r)) (i32.const 2))))
          (local.set $q (i32.add (local.get $o)
            (i32.shl (i32.add (i32.mul (local.get $r) (local.get $ldo)) (local.get $c)) (i32.const 2))))
          (local.set $a0 (v128.load (local.get $p)))
          (local.set $a1 (v128.load (i32.add (local.get $p) (local.get $ldb))))
          (local.set $a2 (v128.load (i32.add (local.get $p) (i32.shl (local.get $ldb) (i32.const 1)))))
          (local.set $a3 (v128.load (i32.add (local.get $p) (i32.mul (local.get $ldb) (i32.const 3)))))
          (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a0) (local.get $a1)))
          (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a0) (local.get $a1)))
          (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a2) (local.get $a3)))
          (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a2) (local.get $a3)))
          (v128.store (local.get $q) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
          (local.set $q (i32.add (local.get $q) (local.get $colsb)))
          (v128.store (local.get $q) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
          (local.set $q (i32.add (local.get $q) (local.get $colsb)))
          (v128.store (local.get $q) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
          (local.set $q (i32.add (local.get $q) (local.get $colsb)))
          (v128.store (local.get $q) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
          (local.set $r (i32.add (local.get $r) (i32.const 4)))
          (br_if $rl (i32.lt_u (local.get $r) (local.get $rows))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br_if $cl (i32.lt_u (local.get $c) (local.get $cols))))))

  ;; count runs of len floats: run r from s + r·ss floats to o + r·os floats (the two regions do
  ;; not overlap). Whole vectors, then the len mod 4 tail, moved as i32 so that every bit (NaN
  ;; payloads too) arrives unchanged. For copies whose contiguous runs are short (a convolution's
  ;; columns: 32-float rows of the input; pad's pieces of a row), where a JS loop spends ~2 ns per
  ;; float on the float64 round trip of every element it moves.
  (func (export "copyRuns") (param $s i32) (param $ss i32) (param $o i32) (param $os i32) (param $len i32) (param $count i32)
    (local $r i32) (local $p i32) (local $q i32) (local $end i32) (local $vend i32) (local $ssb i32) (local $osb i32)
    (local.set $ssb (i32.shl (local.get $ss) (i32.const 2)))
    (local.set $osb (i32.shl (local.get $os) (i32.const 2)))
    (block $done
      (br_if $done (i32.or (i32.eqz (local.get $count)) (i32.eqz (local.get $len))))
      (loop $runs
        (local.set $p (i32.add (local.get $s) (i32.mul (local.get $r) (local.get $ssb))))
        (local.set $q (i32.add (local.get $o) (i32.mul (local.get $r) (local.get $osb))))
        (local.set $end (i32.add (local.get $q) (i32.shl (local.get $len) (i32.const 2))))
        (local.set $vend (i32.add (local.get $q) (i32.shl (i32.and (local.get $len) (i32.const -4)) (i32.const 2))))
        (block $vdone
          (br_if $vdone (i32.ge_u (local.get $q) (local.get $vend)))
          (loop $v
            (v128.store (local.get $q) (v128.load (local.get $p)))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (br_if $v (i32.lt_u (local.get $q) (local.get $vend)))))
        (block $tdone
          (br_if $tdone (i32.ge_u (local.get $q) (local.get $end)))
          (loop $t
            (i32.store (local.get $q) (i32.load (local.get $p)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (br_if $t (i32.lt_u (local.get $q) (local.get $end)))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br_if $runs (i32.lt_u (local.get $r) (local.get $count))))))
)
