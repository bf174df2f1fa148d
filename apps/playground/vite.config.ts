import { defineConfig } from "vite";

export default defineConfig({
  // Relative asset paths, so the static build works from any directory of any web server.
  base: "./",
  worker: { format: "es" },
  build: { target: "es2022", chunkSizeWarningLimit: 4096 },
});
