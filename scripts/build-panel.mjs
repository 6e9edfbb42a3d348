#!/usr/bin/env node
// Builds the web admin panel (web/) into dist/panel: one hashed JS file, one hashed CSS file and the icon under
// assets/, and index.html naming them (its %JMP_BASE% and %JMP_CONFIG% are filled in by the server per request:
// src/panel/routes.ts). Type-checking is `tsc -p web/tsconfig.json`, run before this by `npm run build`.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";

const root = path.resolve(import.meta.dirname, "..");
const out = path.join(root, "dist/panel");
const assets = path.join(out, "assets");
rmSync(out, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const result = await build({
  entryPoints: [path.join(root, "web/src/main.tsx")],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  platform: "browser",
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: assets,
  entryNames: "app-[hash]",
  metafile: true,
  legalComments: "linked",
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file));
const js = outputs.find((name) => name.endsWith(".js"));
const css = outputs.find((name) => name.endsWith(".css"));
if (!js || !css) throw new Error(`the panel build made no ${js ? "CSS" : "JS"} file`);

const icon = readFileSync(path.join(root, "web/icon.svg"));
const iconName = `icon-${createHash("sha256").update(icon).digest("hex").slice(0, 8)}.svg`;
writeFileSync(path.join(assets, iconName), icon);

const html = readFileSync(path.join(root, "web/index.html"), "utf8")
  .replace("%JMP_JS%", js)
  .replace("%JMP_CSS%", css)
  .replace("%JMP_ICON%", iconName);
writeFileSync(path.join(out, "index.html"), html);
console.log(`panel: dist/panel/assets/${js}, ${css}`);
