/**
 * The redirect hot path: `GET`/`HEAD /{code}` → 307 + `Location`. It runs before Fastify on the raw Node
 * request (see server.ts), answers warm codes synchronously from the cache, and goes to the database only on a
 * cache miss (concurrent misses for one code share a single query). Expiry is checked on every hit.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { isValidCodeSyntax } from "../links/codes.js";
import { locationFor } from "../links/target.js";
import type { CachedLink, LinkCache } from "./cache.js";
import type { ClickBuffer } from "./clicks.js";

export interface StoredRedirect {
  target: string;
  expiresAt: number | null;
}

export interface RedirectDeps {
  cache: LinkCache;
  /** Reads one link from the database (the cache-miss path). */
  lookup(code: string): Promise<StoredRedirect | undefined>;
  clicks: ClickBuffer;
  defaultUrl(): string;
  trackClicks(): boolean;
  /** `features.default_redirect_status` */
  redirectStatus(): number;
  /** `utm.enable_passthrough` */
  utmPassthrough(): boolean;
  log: Logger;
}

const NOT_FOUND_BODY = Buffer.from(
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not Found</title></head>' +
    "<body><h1>Not Found</h1><p>This short link does not exist or has expired.</p></body></html>\n",
);
const NOT_FOUND_HEADERS = [
  "Content-Type",
  "text/html; charset=utf-8",
  "Content-Length",
  String(NOT_FOUND_BODY.length),
  "Cache-Control",
  "public, max-age=60",
  "X-Content-Type-Options",
  "nosniff",
];
const REDIRECT_CACHE_CONTROL = "no-cache, no-store, must-revalidate";

export type RedirectHandler = (req: IncomingMessage, res: ServerResponse, path: string) => void;

export function createRedirectHandler(deps: RedirectDeps): RedirectHandler {
  const { cache, clicks } = deps;
  const inflight = new Map<string, Promise<CachedLink | undefined>>();

  function redirect(res: ServerResponse, location: string): void {
    const headers = ["Location", location, "Cache-Control", REDIRECT_CACHE_CONTROL, "Content-Length", "0"];
    res.writeHead(deps.redirectStatus(), headers);
    res.end();
  }

  function notFound(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(404, NOT_FOUND_HEADERS);
    res.end(req.method === "HEAD" ? undefined : NOT_FOUND_BODY);
  }

  function serve(
    req: IncomingMessage,
    res: ServerResponse,
    code: string,
    link: CachedLink | undefined,
  ): void {
    if (link === undefined || link.expiresAt <= Date.now()) {
      notFound(req, res);
      return;
    }
    // HEAD is what link checkers and previews send: it is answered but not counted as a click.
    if (req.method === "GET" && deps.trackClicks()) clicks.count(code);
    const url = req.url!;
    const query = deps.utmPassthrough() ? url.indexOf("?") : -1;
    redirect(res, query === -1 ? link.location : withUtm(link.location, url.slice(query + 1)));
  }

  function load(code: string): Promise<CachedLink | undefined> {
    let pending = inflight.get(code);
    if (pending === undefined) {
      pending = deps
        .lookup(code)
        .then((row) => {
          if (row === undefined) {
            cache.setMissing(code);
            return undefined;
          }
          const entry = {
            location: locationFor(row.target),
            expiresAt: row.expiresAt ?? Number.POSITIVE_INFINITY,
          };
          cache.set(code, entry);
          return entry;
        })
        .finally(() => inflight.delete(code));
      inflight.set(code, pending);
    }
    return pending;
  }

  return function handleRedirect(req, res, path) {
    if (path === "/") return redirect(res, locationFor(deps.defaultUrl()));
    let code = path.slice(1);
    if (code.includes("%")) {
      try {
        code = decodeURIComponent(code);
      } catch {
        return notFound(req, res);
      }
    }
    if (!isValidCodeSyntax(code)) return notFound(req, res);

    const cached = cache.get(code);
    if (cached !== undefined) return serve(req, res, code, cached);
    if (cache.isKnownMissing(code)) return notFound(req, res);

    load(code).then(
      (link) => serve(req, res, code, link),
      (err) => {
        deps.log.error({ err, code }, "redirect lookup failed");
        if (res.headersSent) return;
        res.writeHead(503, ["Content-Type", "text/plain; charset=utf-8", "Retry-After", "5"]);
        res.end("Service Unavailable\n");
      },
    );
  };
}

const UTM_KEYS = new Set(["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"]);
/** Visible ASCII except `#`: nothing that could break the Location header or move the fragment. */
const SAFE_QUERY_PART = /^[\x21-\x22\x24-\x7e]+$/;

function parameterName(part: string): string {
  const eq = part.indexOf("=");
  return eq === -1 ? part : part.slice(0, eq);
}

/**
 * UTM passthrough: the visitor's `utm_*` parameters (as sent, in their order) appended to the target's query,
 * before any fragment. Other parameters are dropped.
 */
export function withUtm(location: string, query: string): string {
  const utm = query
    .split("&")
    .filter((part) => UTM_KEYS.has(parameterName(part)) && SAFE_QUERY_PART.test(part));
  if (utm.length === 0) return location;
  const hash = location.indexOf("#");
  const base = hash === -1 ? location : location.slice(0, hash);
  const fragment = hash === -1 ? "" : location.slice(hash);
  return `${base}${base.includes("?") ? "&" : "?"}${utm.join("&")}${fragment}`;
}
