// Release check: packs every public package, installs the tarballs into a fresh project outside
// the workspace, type-checks a small program and the README's usage example under NodeNext and
// Bundler resolution with skipLibCheck off — with @types/node, and also without it under
// `lib: ["ES2022"]` and `lib: ["ES2022", "DOM"]` (browser-only and other non-Node projects) — runs
// the program in Node, checks that a stack trace through the packages maps to source files the
// tarballs ship, and bundles the program for the browser with Vite.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
const fail = (message) => {
  console.error(`consumer check: ${message}`);
  process.exit(1);
};

const work = mkdtempSync(join(tmpdir(), "lockstep-consumer-"));
const packages = readdirSync(join(root, "packages"))
  .map((dir) => join(root, "packages", dir))
  .filter((dir) => existsSync(join(dir, "package.json")))
  .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) }))
  .filter(({ pkg }) => !pkg.private);

const tarballs = {};
for (const { dir, pkg } of packages) {
  const [info] = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], dir));
  const files = info.files.map((f) => f.path);
  for (const required of ["README.md", "LICENSE", "dist/index.js", "dist/index.d.ts", "package.json"]) {
    if (!files.includes(required)) fail(`${pkg.name}: tarball lacks ${required}`);
  }
  const stray = files.filter((f) => /(^|\/)(test|tests|fixtures|test-support)\/|\.test\.|\.py$/.test(f));
  if (stray.length) fail(`${pkg.name}: tarball ships test files: ${stray.join(", ")}`);
  tarballs[pkg.name] = `file:./${info.filename}`;
  console.log(`packed ${info.filename} (${info.files.length} files, ${info.size} bytes)`);
}

cpSync(join(import.meta.dirname, "consumer"), work, { recursive: true });
const rootPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
writeFileSync(
  join(work, "package.json"),
  JSON.stringify(
    {
      name: "lockstep-consumer",
      private: true,
      type: "module",
      dependencies: tarballs,
      overrides: tarballs,
      devDependencies: { typescript: rootPkg.devDependencies.typescript, vite: rootPkg.devDependencies.vite, "@types/node": rootPkg.devDependencies["@types/node"] },
    },
    null,
    2,
  ),
);
// The README's usage example, as a user would paste it: the first ```ts block under "## Usage".
const readme = readFileSync(join(root, "README.md"), "utf8");
const usage = /^## Usage\n[\s\S]*?^```ts\n([\s\S]*?)^```/m.exec(readme);
if (usage === null) fail("README.md has no ```ts block under ## Usage");
writeFileSync(join(work, "readme.ts"), `// The usage example from README.md.\n${usage[1]}export {};\n`);
// ES2022 alone has no console (a host API: the DOM lib or @types/node declare it); the README's
// console.log calls need this stand-in where neither is loaded. It declares nothing Lockstep uses.
writeFileSync(join(work, "host-console.d.ts"), "declare const console: { log(...data: unknown[]): void };\n");

const common = { target: "ES2022", lib: ["ES2022", "DOM"], strict: true, skipLibCheck: false, types: ["node"] };
writeFileSync(join(work, "tsconfig.nodenext.json"), JSON.stringify({ compilerOptions: { ...common, module: "NodeNext", moduleResolution: "NodeNext", outDir: "dist-node" }, files: ["main.ts", "readme.ts"] }));
writeFileSync(join(work, "tsconfig.bundler.json"), JSON.stringify({ compilerOptions: { ...common, module: "ESNext", moduleResolution: "Bundler", noEmit: true }, files: ["main.ts", "readme.ts"] }));
// Without @types/node (`types: []` also keeps the installed one from loading automatically).
const noNode = [];
for (const [name, lib] of [["es2022", ["ES2022"]], ["es2022-dom", ["ES2022", "DOM"]]]) {
  for (const [mode, resolution] of [["NodeNext", "NodeNext"], ["ESNext", "Bundler"]]) {
    const file = `tsconfig.${name}.${resolution.toLowerCase()}.json`;
    const files = ["main.ts", "readme.ts", ...(lib.includes("DOM") ? [] : ["host-console.d.ts"])];
    const compilerOptions = { target: "ES2022", lib, strict: true, skipLibCheck: false, types: [], module: mode, moduleResolution: resolution, noEmit: true };
    writeFileSync(join(work, file), JSON.stringify({ compilerOptions, files }));
    noNode.push({ file, label: `lib ${JSON.stringify(lib)}, ${resolution}, no @types/node` });
  }
}

console.log(`installing tarballs into ${work}`);
run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], work);
run("npx", ["tsc", "-p", "tsconfig.nodenext.json"], work);
console.log("type-checked and compiled under NodeNext");
run("npx", ["tsc", "-p", "tsconfig.bundler.json"], work);
console.log("type-checked under Bundler");
for (const { file, label } of noNode) {
  run("npx", ["tsc", "-p", file], work);
  console.log(`type-checked the program and the README example: ${label}`);
}
const output = run("node", ["dist-node/main.js"], work).trim();
const values = JSON.parse(output.split("\n").pop());
if (!Array.isArray(values) || values.length !== 1 || values[0].length !== 2 || !values[0].every(Number.isFinite)) {
  fail(`unexpected program output: ${output}`);
}
console.log(`ran in Node: ${output}`);

// A stack trace through the packages, with source maps on, must name files the tarballs ship.
writeFileSync(
  join(work, "trace.mjs"),
  'import { tensor } from "lockstep";\ntry { tensor([1, 2, 3]).reshape([2, 2]); } catch (e) { console.log(e.stack); }\n',
);
const stack = run("node", ["--enable-source-maps", "trace.mjs"], work);
const frames = [...stack.matchAll(/(?:\(|at )(?:file:\/\/)?(\/[^\s()]+?):\d+:\d+\)?$/gm)].map((m) => m[1]).filter((f) => f.includes("node_modules"));
if (frames.length === 0) fail(`no stack frame inside the packages:\n${stack}`);
const mapped = frames.filter((f) => f.endsWith(".ts"));
if (mapped.length === 0) fail(`source maps did not map any frame to TypeScript:\n${stack}`);
const missing = frames.filter((f) => !existsSync(f));
if (missing.length) fail(`stack frames point to files the tarballs do not ship: ${missing.join(", ")}`);
console.log(`stack trace maps to shipped sources (${mapped.length} frames in src/*.ts, e.g. ${mapped[0].split("node_modules/")[1]})`);
run("npx", ["vite", "build", "--logLevel", "warn", "--outDir", "dist-web"], work);
console.log("bundled for the browser with Vite");
console.log("consumer check passed");
