// Removes a package's dist/ before a build, so files whose source was deleted do not linger in
// the published tarball.
import { rmSync } from "node:fs";
rmSync("dist", { recursive: true, force: true });
