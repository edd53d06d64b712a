import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// Tauri expects a fixed dev port and must not be hidden behind Vite's screen clearing.
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  server: {
    port: 1420,
    strictPort: true,
    host: "localhost",
    watch: { ignored: ["**/node_modules/**", "**/dist/**"] },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // WebKitGTK 2.50 (Debian 12), WebView2 and WKWebView all run this.
    target: "es2022",
    // Inline assets would need `data:` in the CSP; keep every asset a file.
    assetsInlineLimit: 0,
    sourcemap: false,
    // Three window kinds: the main window (index.html), each VM's console window (console.html)
    // and each recorded session's replay window (replay.html).
    rollupOptions: {
      input: {
        main: "index.html",
        console: "console.html",
        replay: "replay.html",
      },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
