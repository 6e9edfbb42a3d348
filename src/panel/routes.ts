/**
 * The web admin panel (web/, built by scripts/build-panel.mjs into dist/panel/), served by the same process under
 * the live `routes.frontend_prefix` (Fastify sees it at the fixed PANEL_MOUNT). It is a client of the Admin API
 * like any other: there are no panel-only routes. `features.enable_admin_panel=false` makes every panel path a 404
 * at once, on every instance (the key applies live).
 *
 * - `<prefix>` → 302 `<prefix>/`; `<prefix>/assets/<name>` → a hashed file, cached for a year (immutable);
 *   any other path → `index.html` (the panel routes in the browser), never cached.
 * - `index.html` is templated per request with the live prefixes and the version in a `<meta>` element: no inline
 *   script, so the Content-Security-Policy can forbid every script but the panel's own file.
 * - Files are read once, at start, and kept in memory with their gzip form.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { ConfigService } from "../config/service.js";
import { JMP_VERSION } from "../version.js";

export const PANEL_MOUNT = "/panel";

/** Where `npm run build` writes the panel: dist/panel, beside dist/src. */
export const PANEL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../panel");

/**
 * Only the panel's own files; Preact and uPlot set styles through the CSSOM, which `style-src 'self'` allows.
 * `img-src data: blob:` is for the QR preview and its download.
 */
export const PANEL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
].join("; ");

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".map": "application/json; charset=utf-8",
};

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer | null;
}

export interface PanelFiles {
  /** index.html with its `%JMP_…%` placeholders. */
  template: string;
  assets: Map<string, Asset>;
}

/** The built panel, or null when this install has none (a build without `npm run build`'s panel step). */
export function loadPanel(dir: string = PANEL_DIR): PanelFiles | null {
  const index = path.join(dir, "index.html");
  if (!existsSync(index)) return null;
  const assets = new Map<string, Asset>();
  const assetDir = path.join(dir, "assets");
  for (const name of existsSync(assetDir) ? readdirSync(assetDir) : []) {
    const body = readFileSync(path.join(assetDir, name));
    const type = TYPES[path.extname(name)] ?? "application/octet-stream";
    const compressible =
      type.startsWith("text/") || type.startsWith("application/json") || name.endsWith(".svg");
    assets.set(name, { type, body, gzip: compressible ? gzipSync(body, { level: 9 }) : null });
  }
  return { template: readFileSync(index, "utf8"), assets };
}

/** Text for a double-quoted HTML attribute. */
function attribute(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The page with the live prefixes: `<base href>` for relative asset URLs, the rest for the panel's API calls. */
export function renderIndex(template: string, config: ConfigService): string {
  const panel = config.get("routes.frontend_prefix");
  const settings = {
    panel,
    admin: config.get("routes.admin_prefix"),
    health: config.get("routes.health_prefix"),
    version: JMP_VERSION,
  };
  return template
    .replaceAll("%JMP_BASE%", attribute(`${panel}/`))
    .replaceAll("%JMP_CONFIG%", attribute(JSON.stringify(settings)));
}

function acceptsGzip(request: FastifyRequest): boolean {
  const accepted = request.headers["accept-encoding"];
  return typeof accepted === "string" && /\bgzip\b/.test(accepted);
}

function notFound(reply: FastifyReply) {
  return reply.code(404).type("text/plain; charset=utf-8").send("Not Found");
}

export function panelRoutes(deps: { config: ConfigService; files: PanelFiles | null }): FastifyPluginAsync {
  const { config, files } = deps;
  return async (app) => {
    app.addHook("onRequest", async (_request, reply) => {
      if (!config.get("features.enable_admin_panel")) return notFound(reply);
      reply.header("Content-Security-Policy", PANEL_CSP);
      reply.header("Cross-Origin-Opener-Policy", "same-origin");
      reply.header("Cross-Origin-Resource-Policy", "same-origin");
    });

    // Not part of the Admin API's description: the panel is a client of it.
    const hidden = { schema: { hide: true } };
    app.get("/assets/:name", hidden, async (request, reply) => {
      const asset = files?.assets.get((request.params as { name: string }).name);
      if (!asset) return notFound(reply);
      reply
        .type(asset.type)
        .header("Cache-Control", "public, max-age=31536000, immutable")
        .header("Vary", "Accept-Encoding");
      if (asset.gzip && acceptsGzip(request))
        return reply.header("Content-Encoding", "gzip").send(asset.gzip);
      return reply.send(asset.body);
    });

    const page = async (request: FastifyRequest, reply: FastifyReply) => {
      // `<prefix>` alone (a prefix is one segment, so `<prefix>/` reaches here as `PANEL_MOUNT/`): relative URLs
      // must resolve under `<prefix>/`.
      if (request.url.split("?")[0] === PANEL_MOUNT) {
        return reply.redirect(`${config.get("routes.frontend_prefix")}/`, 302);
      }
      if (!files) {
        return reply
          .code(503)
          .type("text/plain; charset=utf-8")
          .send("The admin panel is not built in this install: run `npm run build`.");
      }
      return reply
        .type("text/html; charset=utf-8")
        .header("Cache-Control", "no-cache")
        .send(renderIndex(files.template, config));
    };
    app.get("/", hidden, page);
    app.get("/*", hidden, page);
  };
}
