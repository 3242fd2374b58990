// Builds the owner's web app (app/) into ../server/static/app, which the API serves at `/`
// (server/webapp.py). `npm run dev --prefix web` serves it with hot reload on :5173 and
// forwards the API (/graphql, its WebSocket, /export) to `make dev` on :8000.
import { defineConfig } from "vite";

const api = process.env.BRIEFING_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  root: "app",
  base: "/",
  publicDir: false,
  build: {
    outDir: "../../server/static/app",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2020",
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    proxy: {
      "/graphql": { target: api, ws: true },
      "/export": { target: api },
    },
  },
});
