// Printing modules the way PyTorch prints them: Python's formatting of the values layers show in
// their extraRepr (floats as `1e-05`, tuples as `(4,)`, booleans as `True`), and the indentation
// of torch.nn.Module.__repr__, so `String(model)` reads like `print(model)` in PyTorch.

/** A value as Python's str() would print the matching Python value. */
export type PyValue = number | boolean | string | null | undefined | readonly PyValue[];

/**
 * A number as Python's repr of a float prints it: `0.1`, `1e-05`, `2.0`, `1e+16`, `inf`, `nan`.
 * The digits are the shortest that round-trip, which JavaScript and Python agree on; only the
 * layout differs (Python switches to exponent notation below 1e-4 and from 1e16 on, pads the
 * exponent to two digits and keeps a `.0` on whole numbers).
 */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, expText] = x.toExponential().split("e") as [string, string];
  const exp = Number(expText);
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  const sign = negative ? "-" : "";
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const whole = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  const frac = digits.slice(exp + 1);
  return `${sign}${whole}.${frac === "" ? "0" : frac}`;
}

/**
 * A number as Python prints a value the user would have written as an int when it is whole
 * (`20`, `-1`), else as a float (`0.5`). Used where PyTorch's default is an int.
 */
export function pyNumber(x: number): string {
  return Number.isInteger(x) && !Object.is(x, -0) ? String(x) : pyFloat(x);
}

/** A value as Python's str() prints it: ints, `True`/`False`, `None`, tuples `(4,)`, `(5, 5)`. */
export function pyValue(value: PyValue): string {
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") return pyNumber(value);
  if (typeof value === "string") return value;
  return pyTuple(value);
}

/** An array as a Python tuple: `(4,)` for one element, `(5, 5)` for two. */
export function pyTuple(values: readonly PyValue[]): string {
  const items = values.map(pyValue);
  return items.length === 1 ? `(${items[0]},)` : `(${items.join(", ")})`;
}

/** A string as Python's repr prints it: `'none'`. */
export function pyRepr(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** Indents every line but the first by `spaces`, like torch.nn.modules.module._addindent. */
export function addIndent(text: string, spaces: number): string {
  const lines = text.split("\n");
  if (lines.length === 1) return text;
  const pad = " ".repeat(spaces);
  return [lines[0], ...lines.slice(1).map((line) => pad + line)].join("\n");
}

/**
 * PyTorch's Module.__repr__ layout: `Name(extra)` when there is one line of extra and no children,
 * else the extra lines and `(name): child` lines, each indented by two spaces.
 */
export function formatModule(name: string, extra: string, children: readonly [string, string][]): string {
  const extraLines = extra ? extra.split("\n") : [];
  const childLines = children.map(([key, text]) => `(${key}): ${addIndent(text, 2)}`);
  const lines = [...extraLines, ...childLines];
  if (lines.length === 0) return `${name}()`;
  if (extraLines.length === 1 && childLines.length === 0) return `${name}(${extraLines[0]})`;
  return `${name}(\n  ${lines.join("\n  ")}\n)`;
}
