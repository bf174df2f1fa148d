// Release check: packs every public package, installs the tarballs into a fresh project outside
// the workspace, type-checks a small program under NodeNext and Bundler resolution with
// skipLibCheck off, runs it in Node and bundles it for the browser with Vite.
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
const common = { target: "ES2022", lib: ["ES2022", "DOM"], strict: true, skipLibCheck: false, types: ["node"] };
writeFileSync(join(work, "tsconfig.nodenext.json"), JSON.stringify({ compilerOptions: { ...common, module: "NodeNext", moduleResolution: "NodeNext", outDir: "dist-node" }, files: ["main.ts"] }));
writeFileSync(join(work, "tsconfig.bundler.json"), JSON.stringify({ compilerOptions: { ...common, module: "ESNext", moduleResolution: "Bundler", noEmit: true }, files: ["main.ts"] }));

console.log(`installing tarballs into ${work}`);
run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], work);
run("npx", ["tsc", "-p", "tsconfig.nodenext.json"], work);
console.log("type-checked and compiled under NodeNext");
run("npx", ["tsc", "-p", "tsconfig.bundler.json"], work);
console.log("type-checked under Bundler");
const output = run("node", ["dist-node/main.js"], work).trim();
const values = JSON.parse(output.split("\n").pop());
if (!Array.isArray(values) || values.length !== 1 || values[0].length !== 2 || !values[0].every(Number.isFinite)) {
  fail(`unexpected program output: ${output}`);
}
console.log(`ran in Node: ${output}`);
run("npx", ["vite", "build", "--logLevel", "warn", "--outDir", "dist-web"], work);
console.log("bundled for the browser with Vite");
console.log("consumer check passed");
