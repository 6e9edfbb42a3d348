/**
 * The redirect hot path: `GET`/`HEAD /{code}` → status + `Location`. It runs before Fastify on the raw Node
 * request (see server.ts), answers synchronously from memory — the link index (link-index.ts), which holds every
 * plain link within its memory bound, then the bounded cache — and goes to the database only when both miss
 * (concurrent misses for one code share a single query). Expiry is checked on every hit.
 *
 * A plain link (the common case) takes `serveHeld` from the index, or the short branch in `serve` from the
 * cache. Links with settings (see links/settings.ts) take `serveExtra`: availability (enabled, valid_from, expiry, fallback), the password form (also `POST
 * /{code}`), the exact click limit (an atomic database claim per visit), rules and query forwarding.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Throttle } from "../auth/rate-limit.js";
import { isValidCodeSyntax } from "../links/codes.js";
import { matchRule } from "../links/rules.js";
import { qrOptions, renderQr, shortUrl } from "../links/qr.js";
import type { RedirectFields } from "../links/model.js";
import { locationFor } from "../links/target.js";
import type { RedirectStats } from "../metrics/counters.js";
import { type CachedLink, type LinkCache, type LinkExtras, toCached } from "./cache.js";
import type { ClickRecorder } from "../analytics/capture.js";
import type { ClickBuffer } from "./clicks.js";
import type { CountryLookup } from "../analytics/geoip.js";
import { type LinkIndex, NOT_A_LINK } from "./link-index.js";
import type { LinkTable } from "./link-table.js";
import { landingPage } from "./landing.js";
import { readPasswordForm, sendPasswordPage } from "./password-page.js";
import { writeHead } from "../response-headers.js";
import { withQuery, withUtm } from "./query.js";

export interface RedirectDeps {
  /** Every code, and plain links' redirects: a code it has never seen is a 404 without a database query. */
  index: LinkIndex;
  /** Links the index does not hold (links with settings, or past its memory bound). */
  cache: LinkCache;
  stats: RedirectStats;
  /** Reads one link from the database (the cache-miss path). */
  lookup(code: string): Promise<RedirectFields | undefined>;
  /** Counts one visit of a link with `max_clicks`, atomically; false when the limit is reached. */
  claimClick(code: string): Promise<boolean>;
  verifyPassword(hash: string, password: string): Promise<boolean>;
  /** Failed password attempts, per client IP and link. */
  passwordAttempts: Throttle;
  /** The body of `/robots.txt`. */
  robotsTxt(): Promise<string>;
  clicks: ClickBuffer;
  /** Detailed analytics: records a counted click for the analytics worker when it is on. */
  events: ClickRecorder;
  /** `features.default_url`: where `/` redirects; "" = the landing page. */
  defaultUrl(): string;
  /** Where the admin panel is, when it is enabled (the landing page links to it); null when it is off. */
  panelPath(): string | null;
  trackClicks(): boolean;
  /** `features.default_redirect_status` */
  redirectStatus(): number;
  /** `features.permanent_redirect_cache_seconds`: how long browsers may keep a 301/308. */
  permanentCacheSeconds(): number;
  /** `utm.enable_passthrough` */
  utmPassthrough(): boolean;
  /** The visitor's country, when a GeoIP database is configured. */
  country?: CountryLookup | undefined;
  /** `features.enable_public_qr` */
  publicQr(): boolean;
  /** `features.public_base_url` ("" = the request's origin) */
  publicBaseUrl(): string;
  log: Logger;
}

/** The header an API client sends a link's password in (instead of the form). */
export const PASSWORD_HEADER = "x-link-password";

/**
 * A string, not a Buffer: Node writes a string body in the same write as the headers, a Buffer in a second one
 * (writev), which halves the throughput of 404s under load.
 */
const NOT_FOUND_BODY =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not Found</title></head>' +
  "<body><h1>Not Found</h1><p>This short link does not exist or has expired.</p></body></html>\n";
const NOT_FOUND_HEADERS = [
  "Content-Type",
  "text/html; charset=utf-8",
  "Content-Length",
  String(Buffer.byteLength(NOT_FOUND_BODY)),
  "Cache-Control",
  "public, max-age=60",
];
const NO_CACHE = "no-cache, no-store, must-revalidate";

/**
 * A visitor whose link is not cached waits at most this long for the database (then 503 + Retry-After): a
 * redirect is worth less than the 15 s a statement may take (store/db.ts).
 */
const LOOKUP_TIMEOUT_MS = 3_000;

function bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error("database lookup timed out"), { code: "ETIMEDOUT" })),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** What the server knows about the peer (it alone knows which proxies to trust). */
export interface Peer {
  clientAddress(req: IncomingMessage): string;
  /** `proto://host` as the client used it. */
  origin(req: IncomingMessage): string;
}

export type RedirectHandler = (req: IncomingMessage, res: ServerResponse, path: string, peer: Peer) => void;

export function createRedirectHandler(deps: RedirectDeps): RedirectHandler {
  const { cache, clicks, events, index, stats } = deps;
  const inflight = new Map<string, Promise<CachedLink | undefined>>();

  function redirect(res: ServerResponse, location: string, status: number, crawlable: boolean): void {
    const code = status === 0 ? deps.redirectStatus() : status;
    const cacheControl =
      code === 301 || code === 308 ? `public, max-age=${deps.permanentCacheSeconds()}` : NO_CACHE;
    const headers = ["Location", location, "Cache-Control", cacheControl, "Content-Length", "0"];
    if (!crawlable) headers.push("X-Robots-Tag", "noindex");
    writeHead(res, code, headers);
    res.end();
  }

  function notFound(req: IncomingMessage, res: ServerResponse): void {
    writeHead(res, 404, NOT_FOUND_HEADERS.slice());
    res.end(req.method === "HEAD" ? undefined : NOT_FOUND_BODY);
  }

  function home(req: IncomingMessage, res: ServerResponse): void {
    const url = deps.defaultUrl();
    if (url !== "") return redirect(res, locationFor(url), 0, false);
    const page = landingPage(deps.panelPath());
    writeHead(res, page.status, page.headers);
    res.end(req.method === "HEAD" ? undefined : page.body);
  }

  /** The visitor's query string, as sent (without `?`), or "" */
  function queryOf(req: IncomingMessage): string {
    const url = req.url!;
    const question = url.indexOf("?");
    return question === -1 ? "" : url.slice(question + 1);
  }

  /** HEAD is what link checkers and previews send: it is answered but not counted as a click. */
  function counts(req: IncomingMessage): boolean {
    return req.method === "GET" && deps.trackClicks();
  }

  function count(req: IncomingMessage, link: CachedLink, peer: Peer): void {
    if (!counts(req)) return;
    clicks.countSlot(link);
    if (events.on) events.record(link.code, req, peer.clientAddress(req));
  }

  /** The redirect of a plain link: its `Location`, with the visitor's UTM parameters when passed through. */
  function plainRedirect(req: IncomingMessage, res: ServerResponse, location: string): void {
    const query = deps.utmPassthrough() ? queryOf(req) : "";
    redirect(res, query === "" ? location : withUtm(location, query), 0, false);
  }

  /** A link the index holds: served from its table, counted in it. */
  function serveHeld(
    req: IncomingMessage,
    res: ServerResponse,
    code: string,
    table: LinkTable,
    entry: number,
    peer: Peer,
  ): void {
    if (req.method === "POST") return methodNotAllowed(res);
    if (table.expiresAt(entry) <= Date.now()) return notFound(req, res);
    if (counts(req)) {
      clicks.countEntry(table, entry);
      if (events.on) events.record(code, req, peer.clientAddress(req));
    }
    plainRedirect(req, res, table.location(entry));
  }

  function serve(
    req: IncomingMessage,
    res: ServerResponse,
    code: string,
    link: CachedLink | undefined,
    peer: Peer,
  ) {
    if (link === undefined) return notFound(req, res);
    if (link.extra !== null) return serveExtra({ req, res, code, link, extra: link.extra, peer });
    if (req.method === "POST") return methodNotAllowed(res);
    if (link.expiresAt <= Date.now()) return notFound(req, res);
    count(req, link, peer);
    plainRedirect(req, res, link.location);
  }

  function serveExtra(hit: Hit): void {
    const { req, res, link, extra } = hit;
    const now = Date.now();
    if (!extra.enabled || now < extra.validFrom || link.expiresAt <= now) return unavailable(req, res, extra);
    if (extra.passwordHash !== null) {
      void guarded(hit).catch((err: unknown) => failed(res, err, hit.code));
      return;
    }
    if (req.method === "POST") return methodNotAllowed(res);
    proceed(hit, 0);
  }

  /** Password-protected: the form on GET, its answer on POST, or the password in a header (API clients). */
  async function guarded(hit: Hit): Promise<void> {
    const { req, res, code, extra } = hit;
    const action = `/${code.split("/").map(encodeURIComponent).join("/")}`;
    const header = req.headers[PASSWORD_HEADER];
    const given =
      req.method === "POST" ? await readPasswordForm(req) : typeof header === "string" ? header : undefined;
    if (given === undefined) return sendPasswordPage(req, res, action, 200, null);
    if (given === null) return sendPasswordPage(req, res, action, 400, "wrong");
    const key = `${hit.peer.clientAddress(req)}\u0000${code}`;
    // Charged before the check, refunded on success: guesses sent at once are limited too.
    const allowed = await deps.passwordAttempts.take(key);
    if (!allowed.allowed) return sendPasswordPage(req, res, action, 429, allowed);
    if (!(await deps.verifyPassword(extra.passwordHash!, given))) {
      return sendPasswordPage(req, res, action, 401, "wrong");
    }
    deps.passwordAttempts.refund(key);
    // A form post continues with a GET to the target (303); a header-carrying request gets the link's status.
    proceed(hit, req.method === "POST" ? 303 : 0);
  }

  /** The visit is allowed: claim a click when the link is limited, pick the target, redirect. */
  function proceed(hit: Hit, status: number): void {
    const { req, res, code, link, extra } = hit;
    const go = () => {
      const query = queryOf(req);
      let location = link.location;
      if (extra.rules.length > 0) {
        const visit = {
          userAgent: req.headers["user-agent"],
          acceptLanguage: req.headers["accept-language"],
          query,
          now: Date.now(),
          country: () => deps.country?.(hit.peer.clientAddress(req)),
        };
        const match = matchRule(extra.rules, visit);
        if (match !== -1) location = extra.ruleLocations[match]!;
      }
      if (extra.forwardQuery) location = withQuery(location, query);
      else if (query !== "" && deps.utmPassthrough()) location = withUtm(location, query);
      redirect(res, location, status || extra.status, extra.crawlable);
    };
    if (!extra.limited || req.method === "HEAD") {
      count(req, link, hit.peer);
      return go();
    }
    deps.claimClick(code).then(
      (claimed) => {
        if (!claimed) return unavailable(req, res, extra);
        if (events.on && deps.trackClicks()) events.record(code, req, hit.peer.clientAddress(req));
        go();
      },
      (err: unknown) => failed(res, err, code),
    );
  }

  /** Disabled, not yet valid, expired or used up: the fallback URL, or 404. */
  function unavailable(req: IncomingMessage, res: ServerResponse, extra: LinkExtras): void {
    if (extra.fallback === null) return notFound(req, res);
    redirect(res, extra.fallback, 302, extra.crawlable);
  }

  function methodNotAllowed(res: ServerResponse): void {
    writeHead(res, 405, ["Allow", "GET, HEAD", "Content-Length", "0"]);
    res.end();
  }

  function failed(res: ServerResponse, err: unknown, code: string): void {
    deps.log.error({ err, code }, "redirect failed");
    if (res.headersSent) return;
    writeHead(res, 503, ["Content-Type", "text/plain; charset=utf-8", "Retry-After", "5"]);
    res.end("Service Unavailable\n");
  }

  function load(code: string): Promise<CachedLink | undefined> {
    let pending = inflight.get(code);
    if (pending === undefined) {
      stats.dbLookups++;
      const version = cache.version;
      const indexVersion = index.version;
      pending = bounded(deps.lookup(code), LOOKUP_TIMEOUT_MS)
        .then((row) => {
          // A write committed while the row was read: serve what was read, cache nothing.
          const current = cache.version === version;
          if (row === undefined) {
            if (current) cache.setMissing(code);
            return undefined;
          }
          const entry = toCached(code, row);
          // A plain link goes to the index (unless it is past its budget); the rest to the bounded cache.
          if (current && !index.hold(code, row, indexVersion)) cache.set(code, entry);
          return entry;
        })
        .finally(() => inflight.delete(code));
      inflight.set(code, pending);
    }
    return pending;
  }

  function robots(req: IncomingMessage, res: ServerResponse): void {
    deps.robotsTxt().then(
      (text) => {
        const body = Buffer.from(text);
        writeHead(res, 200, [
          "Content-Type",
          "text/plain; charset=utf-8",
          "Content-Length",
          String(body.length),
          "Cache-Control",
          "public, max-age=300",
        ]);
        res.end(req.method === "HEAD" ? undefined : body);
      },
      (err: unknown) => failed(res, err, "robots.txt"),
    );
  }

  /** `/{code}/qr` when public QR codes are on: the code of an available link, else 404. */
  function publicQr(req: IncomingMessage, res: ServerResponse, code: string, peer: Peer): void {
    const query = new URLSearchParams(queryOf(req));
    const options = qrOptions({ format: query.get("format") ?? "png", size: query.get("size") ?? undefined });
    if (typeof options === "string") {
      writeHead(res, 400, ["Content-Type", "text/plain; charset=utf-8"]);
      return void res.end(`${options}\n`);
    }
    (cache.get(code) ? Promise.resolve(cache.get(code)) : load(code))
      .then(async (link) => {
        const now = Date.now();
        const extra = link?.extra;
        const available =
          link !== undefined &&
          link.expiresAt > now &&
          (extra == null || (extra.enabled && now >= extra.validFrom));
        if (!available) return notFound(req, res);
        const image = await renderQr(shortUrl(deps.publicBaseUrl() || peer.origin(req), code), options);
        writeHead(res, 200, [
          "Content-Type",
          image.type,
          "Content-Length",
          String(image.body.length),
          "Cache-Control",
          "public, max-age=300",
        ]);
        res.end(req.method === "HEAD" ? undefined : image.body);
      })
      .catch((err: unknown) => failed(res, err, code));
  }

  function route(req: IncomingMessage, res: ServerResponse, path: string, peer: Peer): void {
    if (path === "/") return home(req, res);
    if (path === "/robots.txt") return robots(req, res);
    let code = path.slice(1);
    if (code.includes("%")) {
      try {
        code = decodeURIComponent(code);
      } catch {
        return notFound(req, res);
      }
    }
    if (!isValidCodeSyntax(code)) return notFound(req, res);

    const entry = index.lookup(code);
    if (entry >= 0) {
      stats.indexHits++;
      return serveHeld(req, res, code, index.current, entry, peer);
    }
    const cached = cache.get(code);
    if (cached !== undefined) {
      stats.cacheHits++;
      return serve(req, res, code, cached, peer);
    }
    stats.cacheMisses++;
    // Codes never end in /qr (reserved), so this is the public QR code of a link, when that is switched on.
    if (code.endsWith("/qr") && req.method !== "POST" && deps.publicQr()) {
      return publicQr(req, res, code.slice(0, -3), peer);
    }
    if (entry === NOT_A_LINK) {
      stats.filterRejects++;
      return notFound(req, res);
    }
    stats.filterPasses++;
    if (cache.isKnownMissing(code)) {
      stats.negativeHits++;
      return notFound(req, res);
    }
    stats.negativeMisses++;

    load(code).then(
      (link) => serve(req, res, code, link, peer),
      (err: unknown) => failed(res, err, code),
    );
  }

  function observe(status: number, started: number): void {
    stats.statuses.inc(status);
    stats.duration.observe((performance.now() - started) / 1000);
  }

  return function handleRedirect(req, res, path, peer) {
    const started = performance.now();
    route(req, res, path, peer);
    // Most answers are written synchronously; the rest (database, password check) are counted when they end.
    if (res.headersSent) return observe(res.statusCode, started);
    res.once("close", () => observe(res.statusCode, started));
  };
}

/** One visit of a link with settings, as the steps of `serveExtra` pass it on. */
interface Hit {
  req: IncomingMessage;
  res: ServerResponse;
  code: string;
  link: CachedLink;
  extra: LinkExtras;
  peer: Peer;
}
