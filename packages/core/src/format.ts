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

function makeFormatter(values: number[], dtype: DType): Formatter {
  if (dtype === "bool") return withWidth(values, (v) => (v ? "True" : "False"));
  if (dtype === "int32") return withWidth(values, (v) => String(v));
  const finite = values.filter((v) => Number.isFinite(v));
  let body: (v: number) => string;
  if (finite.length === 0) {
    body = (v) => String(v);
  } else if (finite.every((v) => Math.ceil(v) === v)) {
    const maxAbs = Math.max(...finite.map(Math.abs));
    body = maxAbs > 1e8 ? (v) => pyExponential(v, PRECISION) : (v) => `${v.toFixed(0)}.`;
  } else {
    const nonzero = finite.filter((v) => v !== 0).map(Math.abs);
    const maxAbs = nonzero.length ? Math.max(...nonzero) : 0;
    const minAbs = nonzero.length ? Math.min(...nonzero) : 0;
    const sci = nonzero.length > 0 && (maxAbs / minAbs > 1000 || maxAbs > 1e8 || minAbs < 1e-4);
    body = sci ? (v) => pyExponential(v, PRECISION) : (v) => v.toFixed(PRECISION);
  }
  return withWidth(values, (v) => special(v) ?? (Object.is(v, -0) ? `-${body(0)}` : body(v)));
}

function withWidth(values: number[], format: (v: number) => string): Formatter {
  const width = values.reduce((w, v) => Math.max(w, format(v).length), 0);
  return { format: (v) => format(v).padStart(width), width };
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
    const items = visible(size, summarize).map((i) => (i < 0 ? "..." : formatter.format(data[base + i * stride]!)));
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
