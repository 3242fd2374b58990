#!/usr/bin/env node
// Copy the browser-ready builds GraphiQL needs from web/node_modules into
// server/static/graphiql/vendor/ (gitignored), and write vendor/manifest.json
// (file names, sizes, sha256 and package versions) which the Python side reads
// to know the assets are present and to cache-bust their URLs.
//
// Run after `npm ci --prefix web`:  node web/copy-assets.mjs
// Nothing here touches the network.

import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const webDir = dirname(fileURLToPath(import.meta.url));
const modulesDir = join(webDir, "node_modules");
const vendorDir = resolve(webDir, "..", "server", "static", "graphiql", "vendor");

// [package, file inside the package, name in vendor/]. Order is load order in the page.
const ASSETS = [
  ["react", "umd/react.production.min.js", "react.production.min.js"],
  ["react-dom", "umd/react-dom.production.min.js", "react-dom.production.min.js"],
  ["graphql-ws", "umd/graphql-ws.min.js", "graphql-ws.min.js"],
  ["graphiql", "graphiql.min.js", "graphiql.min.js"],
  ["graphiql", "graphiql.min.css", "graphiql.min.css"],
];

function packageVersion(name) {
  const pkg = JSON.parse(readFileSync(join(modulesDir, name, "package.json"), "utf8"));
  return pkg.version;
}

function main() {
  const tmpDir = `${vendorDir}.tmp-${process.pid}`;
  rmSync(tmpDir, { recursive: true, force: true });
  mkdirSync(tmpDir, { recursive: true });
  const manifest = { generatedBy: "web/copy-assets.mjs", packages: {}, files: {} };
  try {
    for (const [pkg, from, to] of ASSETS) {
      const source = join(modulesDir, pkg, from);
      let data;
      try {
        data = readFileSync(source);
      } catch (err) {
        throw new Error(
          `missing ${source} (${err.code ?? err.message}); run \`npm ci --prefix web\` first`,
        );
      }
      copyFileSync(source, join(tmpDir, to));
      manifest.packages[pkg] = packageVersion(pkg);
      manifest.files[to] = {
        package: pkg,
        source: from,
        size: data.length,
        sha256: createHash("sha256").update(data).digest("hex"),
      };
    }
    // The license texts travel with the code they cover.
    for (const pkg of new Set(ASSETS.map(([p]) => p))) {
      for (const name of ["LICENSE", "LICENSE.md"]) {
        try {
          copyFileSync(join(modulesDir, pkg, name), join(tmpDir, `${pkg}.LICENSE.txt`));
          break;
        } catch {
          // Try the next spelling.
        }
      }
    }
    writeFileSync(join(tmpDir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    // Swap the finished directory in, so the server never sees a half-copied vendor/.
    rmSync(vendorDir, { recursive: true, force: true });
    mkdirSync(dirname(vendorDir), { recursive: true });
    renameSync(tmpDir, vendorDir);
  } catch (err) {
    rmSync(tmpDir, { recursive: true, force: true });
    throw err;
  }
  const list = Object.entries(manifest.packages)
    .map(([name, version]) => `${name}@${version}`)
    .join(", ");
  process.stdout.write(`copied GraphiQL assets (${list}) to ${vendorDir}\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`copy-assets: error: ${err.message}\n`);
  process.exit(1);
}
