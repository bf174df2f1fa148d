// PyTorch's printed form of a tensor (torch._tensor_str with default print options: precision 4,
// line width 80, summarised past 1000 elements with 3 edge items), so output can be compared
// with PyTorch's by eye.
import type { DType, DataArray } from "./dtype.js";

const PRECISION = 4;
const LINE_WIDTH = 80;
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;

/** Python's "{:.4e}": two-digit exponent with sign. */
function pyExponential(v: number, digits: number): string {
  const [mantissa, exponent] = v.toExponential(digits).split("e") as [string, string];
  const sign = exponent.startsWith("-") ? "-" : "+";
  return `${mantissa}e${sign}${exponent.replace(/^[+-]/, "").padStart(2, "0")}`;
}

function special(v: number): string | undefined {
  if (Number.isNaN(v)) return "nan";
  if (v === Number.POSITIVE_INFINITY) return "inf";
  if (v === Number.NEGATIVE_INFINITY) return "-inf";
  return undefined;
}

type Formatter = { format(v: number): string; width: number };

/** PyTorch's _Formatter: the width comes from the nonzero finite values only. */
function makeFormatter(values: number[], dtype: DType): Formatter {
  if (dtype === "bool" || dtype === "int32") {
    const text = (v: number) => (dtype === "bool" ? (v ? "True" : "False") : String(v));
    const width = values.reduce((w, v) => Math.max(w, text(v).length), 1);
    return { format: (v) => text(v).padStart(width), width };
  }
  const nonzero = values.filter((v) => Number.isFinite(v) && v !== 0);
  const intMode = values.every((v) => !Number.isFinite(v) || Math.ceil(v) === v);
  let width = 1;
  let sci = false;
  if (nonzero.length > 0) {
    const max = Math.max(...nonzero.map(Math.abs));
    const min = Math.min(...nonzero.map(Math.abs));
    sci = max / min > 1000 || max > 1e8 || (!intMode && min < 1e-4);
    for (const v of nonzero) {
      const text = sci ? pyExponential(v, PRECISION) : intMode ? `${v.toFixed(0)}.` : v.toFixed(PRECISION);
      width = Math.max(width, text.length);
    }
  }
  const body = (v: number): string => {
    const s = special(v);
    if (s !== undefined) return s;
    if (sci) return pyExponential(v, PRECISION);
    if (intMode) return `${Object.is(v, -0) ? "-" : ""}${v.toFixed(0)}.`;
    return `${Object.is(v, -0) ? "-" : ""}${v.toFixed(PRECISION)}`;
  };
  return { format: (v) => body(v).padStart(width), width };
}

/** Index lists for each dim, with -1 marking the "..." gap when summarising. */
function visible(size: number, summarize: boolean): number[] {
  if (!summarize || size <= 2 * EDGE_ITEMS) return Array.from({ length: size }, (_, i) => i);
  return [0, 1, 2, -1, size - 3, size - 2, size - 1];
}

export function formatTensor(data: DataArray, shape: readonly number[], dtype: DType, suffixes: string[]): string {
  const prefix = "tensor(";
  const indent = prefix.length;
  const count = data.length;
  const summarize = count > THRESHOLD;
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));

  // The formatter sees only the values that will be printed, as PyTorch's does.
  const shown: number[] = [];
  const collect = (dim: number, base: number) => {
    if (dim === shape.length) return void shown.push(data[base]!);
    for (const i of visible(shape[dim]!, summarize)) if (i >= 0) collect(dim + 1, base + i * strides[dim]!);
  };
  if (count > 0) collect(0, 0);
  const formatter = makeFormatter(shown, dtype);

  const vector = (base: number, size: number, stride: number, ind: number): string => {
    const perLine = Math.max(1, Math.floor((LINE_WIDTH - ind) / (formatter.width + 2)));
    const items = visible(size, summarize).map((i) => (i < 0 ? " ..." : formatter.format(data[base + i * stride]!)));
    const lines: string[] = [];
    for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(", "));
    return `[${lines.join(",\n" + " ".repeat(ind + 1))}]`;
  };
  const block = (dim: number, base: number, ind: number): string => {
    if (dim === shape.length - 1) return vector(base, shape[dim]!, strides[dim]!, ind);
    const rest = shape.length - dim;
    const parts = visible(shape[dim]!, summarize).map((i) => (i < 0 ? "..." : block(dim + 1, base + i * strides[dim]!, ind + 1)));
    return `[${parts.join("," + "\n".repeat(rest - 1) + " ".repeat(ind + 1))}]`;
  };

  let body: string;
  const extra = [...suffixes];
  if (count === 0) {
    body = "[]";
    if (shape.length !== 1) extra.unshift(`size=(${shape.join(", ")}${shape.length === 1 ? "," : ""})`);
  } else if (shape.length === 0) {
    body = formatter.format(data[0]!).trim();
  } else {
    body = block(0, 0, indent);
  }
  let text = prefix + body;
  for (const suffix of extra) {
    const lastLine = text.slice(text.lastIndexOf("\n") + 1);
    text += lastLine.length + suffix.length + 2 > LINE_WIDTH ? `,\n${" ".repeat(indent)}${suffix}` : `, ${suffix}`;
  }
  return text + ")";
}
