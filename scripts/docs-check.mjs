// Fails (exit 1) when an exported name of `lockstep` has no doc comment. Reads the TypeDoc JSON that
// `typedoc` writes next to the HTML (typedoc.json: "json"), so `npm run docs` converts only once;
// with --fresh, or when that file is missing, it runs `typedoc --json` into a temporary folder first.
// TypeDoc's own validation.notDocumented only looks at packages in `packagesRequiringDocumentation`
// (default: "lockstep" itself, which declares nothing); listing @lockstep/core, @lockstep/nn, ... there
// also demands a comment on every field of every inline object type, so this script is the check.
//
// Checked: every top-level export, every member of the namespaces (nn, nn.functional, optim, ...),
// and the public members of exported classes and interfaces (constructors, methods, properties,
// accessors; static ones too). Skipped: @internal and private members (TypeDoc already drops them),
// protected members, re-exports (their target is checked), inherited members whose declaration is
// documented (TypeDoc copies the comment; an undocumented one is reported once, under the class that
// declares it) and members inherited from the platform (Error.stack). Overrides count as documented
// when the member they override is.
//
// Usage: node scripts/docs-check.mjs [--fresh] [path/to/typedoc.json-output]
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const DEFAULT_JSON = "docs/api/lockstep.json";
const args = process.argv.slice(2);
const fresh = args.includes("--fresh");
let jsonPath = args.find((a) => !a.startsWith("--")) ?? DEFAULT_JSON;
let tempDir;
if (fresh || !existsSync(jsonPath)) {
  tempDir = mkdtempSync(join(tmpdir(), "lockstep-docs-"));
  jsonPath = join(tempDir, "api.json");
  execFileSync("npx", ["typedoc", "--json", jsonPath, "--logLevel", "Error"], { stdio: "inherit" });
}
const project = JSON.parse(readFileSync(jsonPath, "utf8"));
if (tempDir) rmSync(tempDir, { recursive: true, force: true });

// ReflectionKind values from TypeDoc's JSON schema.
const Kind = {
  Namespace: 4,
  Enum: 8,
  EnumMember: 16,
  Variable: 32,
  Function: 64,
  Class: 128,
  Interface: 256,
  Constructor: 512,
  Property: 1024,
  Method: 2048,
  Accessor: 262144,
  TypeAlias: 2097152,
  Reference: 4194304,
};
const kindName = Object.fromEntries(Object.entries(Kind).map(([name, value]) => [value, name]));

const hasText = (parts) => (parts ?? []).some((part) => part.text.trim() !== "");
const documented = (comment) =>
  comment !== undefined && (hasText(comment.summary) || (comment.blockTags ?? []).some((tag) => hasText(tag.content)));
const isInternal = (r) => [r.comment, ...(r.signatures ?? []).map((s) => s.comment)].some((c) => c?.modifierTags?.includes("@internal"));

/** Signatures of a function, method, constructor, or of a property/variable typed as a function. */
function signaturesOf(r) {
  if (r.signatures) return r.signatures;
  if (r.type?.type === "reflection") return r.type.declaration.signatures ?? [];
  return [];
}

/** A declaration is documented when it has a comment, or when every one of its signatures has one. */
function isDocumented(r) {
  if (documented(r.comment)) return true;
  if (r.kind === Kind.Accessor) return documented(r.getSignature?.comment) || documented(r.setSignature?.comment);
  const signatures = signaturesOf(r);
  return signatures.length > 0 && signatures.every((s) => documented(s.comment));
}

function where(r) {
  const symbol = project.symbolIdMap?.[r.id];
  if (!symbol) return r.sources?.[0]?.fileName ?? "?";
  const dir = symbol.packageName === "lockstep" ? "lockstep" : symbol.packageName.replace(/^@lockstep\//, "");
  return symbol.packageName.startsWith("@lockstep/") || symbol.packageName === "lockstep"
    ? `packages/${dir}/${symbol.packagePath}`
    : `${symbol.packageName}/${symbol.packagePath}`;
}

// "package:qualified.name" -> the name lockstep exports it under ("optim.Optimizer.step"), so a
// member missing a comment is reported once, under one name, however many classes inherit it.
const symbolKey = (r) => {
  const symbol = project.symbolIdMap?.[r.id];
  return symbol ? `${symbol.packageName}:${symbol.qualifiedName}` : undefined;
};
const fullNames = new Map();
(function index(container, prefix) {
  for (const r of container.children ?? []) {
    if (r.kind === Kind.Reference) continue;
    const key = symbolKey(r);
    if (key && !r.inheritedFrom && !fullNames.has(key)) fullNames.set(key, prefix + r.name);
    index(r, `${prefix}${r.name}.`);
  }
})(project, "");

const missing = new Map(); // full name -> "kind, file"
const counts = { exports: 0, members: 0 };
const report = (name, r) => missing.set(name, `${kindName[r.kind] ?? r.kind}, ${where(r)}`);

function checkMember(owner, m) {
  if (m.flags.isPrivate || m.flags.isProtected || m.name.startsWith("#") || isInternal(m)) return;
  // A constructor without a source is implicit (the class declares none): nothing to comment.
  if (m.kind === Kind.Constructor && !m.sources) return;
  if (m.inheritedFrom) {
    // Checked where it is declared; TypeDoc copies that comment here. Platform members are not ours.
    if (isDocumented(m) || m.flags.isExternal) return;
    const declaredAs = symbolKey(m);
    report((declaredAs && fullNames.get(declaredAs)) ?? declaredAs?.split(":")[1] ?? m.inheritedFrom.name, m);
    return;
  }
  counts.members++;
  if (!isDocumented(m)) report(`${owner}.${m.name}`, m);
}

function walk(container, prefix) {
  for (const r of container.children ?? []) {
    if (r.kind === Kind.Reference || isInternal(r)) continue;
    const name = prefix + r.name;
    counts.exports++;
    if (!isDocumented(r)) report(name, r);
    if (r.kind === Kind.Namespace) walk(r, `${name}.`);
    else if (r.kind === Kind.Class || r.kind === Kind.Interface || r.kind === Kind.Enum) {
      for (const m of r.children ?? []) checkMember(name, m);
    }
  }
}

walk(project, "");

if (missing.size > 0) {
  console.error(`docs-check: ${missing.size} exported names of lockstep have no doc comment:`);
  for (const [name, info] of [...missing].sort(([a], [b]) => a.localeCompare(b))) console.error(`  ${name} (${info})`);
  process.exit(1);
}
console.log(
  `docs-check: all ${counts.exports} exported names and ${counts.members} public class/interface members of lockstep are documented.`,
);
