/**
 * Builds the HTTP server. One Node `http.Server` whose request listener is a small dispatcher:
 * - `GET`/`HEAD` on a path outside the route prefixes goes straight to the redirect handler (no framework work
 *   on the hot path);
 * - everything else goes to Fastify (Admin API, health, panel), which sees the configured prefixes rewritten (here,
 *   not by Fastify's `rewriteUrl`) to fixed internal mounts, so a prefix changed at runtime needs no
 *   re-registration of routes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { BlockList, isIP, isIPv4, type Socket } from "node:net";
import fastifyCookie from "@fastify/cookie";
import fastifyMultipart from "@fastify/multipart";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import Fastify, { type FastifyReply, LogController } from "fastify";
import type { Logger } from "pino";
import { clientErrorAnswer, mapError } from "./admin/envelope.js";
import { badUrl, tooDeep } from "./errors.js";
import { jsonTooDeep, MAX_NESTING } from "./nesting.js";
import { ADMIN_MOUNT, type AdminDeps, adminApi } from "./admin/index.js";
import type { Principal } from "./auth/credentials.js";
import type { ConfigService } from "./config/service.js";
import type { ChangeFeed } from "./events/feed.js";
import { corsHook } from "./admin/cors.js";
import { HEALTH_MOUNT, type HealthDeps, healthRoutes } from "./health/routes.js";
import { loadPanel, PANEL_MOUNT, panelRoutes } from "./panel/routes.js";
import fastifySwagger from "@fastify/swagger";
import { openApiOptions } from "./admin/openapi.js";
import { JMP_VERSION } from "./version.js";
import { requestIdOf, SECURITY_HEADERS } from "./response-headers.js";
import type { RedirectHandler } from "./redirect/handler.js";
import type { HttpStats, RouteClass } from "./metrics/counters.js";

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const UNROUTED = "/-unrouted";
const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Maps the configured route prefixes (first path segment) to the internal mounts. Follows config changes. */
export class RouteTable {
  private mounts = new Map<string, string>();
  /** The reverse of `mounts`: internal mount → configured prefix. */
  private prefixes = new Map<string, string>();

  constructor(private readonly config: ConfigService) {
    this.refresh();
  }

  follow(feed: ChangeFeed): void {
    feed.subscribe((event) => {
      if (event.kind === "config" && event.keys.some((key) => key.startsWith("routes."))) this.refresh();
    });
  }

  /** True when the path belongs to the Admin API, health or panel rather than to a link. */
  isMounted(path: string): boolean {
    return this.mounts.has(firstSegment(path));
  }

  /** The internal URL for Fastify; paths outside every prefix go to a mount that has no routes. */
  rewrite(url: string): string {
    const segment = firstSegment(url);
    const mount = this.mounts.get(segment);
    return mount === undefined ? UNROUTED + url : mount + url.slice(segment.length);
  }

  /** The URL the client sent, from the internal one `rewrite` made (for the access log). */
  publicUrl(internal: string): string {
    const segment = firstSegment(internal);
    const prefix = this.prefixes.get(segment);
    return prefix === undefined ? internal : prefix + internal.slice(segment.length);
  }

  private refresh(): void {
    this.mounts = new Map([
      [this.config.get("routes.admin_prefix"), ADMIN_MOUNT],
      [this.config.get("routes.health_prefix"), HEALTH_MOUNT],
      [this.config.get("routes.frontend_prefix"), PANEL_MOUNT],
    ]);
    this.prefixes = new Map([...this.mounts].map(([prefix, mount]) => [mount, prefix]));
    this.prefixes.set(UNROUTED, "");
  }
}

/** The class of a request Fastify served, from its internal (rewritten) URL. */
function routeClassOf(url: string): RouteClass {
  if (url.startsWith(ADMIN_MOUNT)) return "admin";
  if (url.startsWith(HEALTH_MOUNT)) return "health";
  return "other";
}

/** `/admin/v1/x?y` → `/admin`; `/admin?x` → `/admin`; `/` → `/`. */
function firstSegment(url: string): string {
  let end = 1;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 47 /* / */ || c === 63 /* ? */) break;
    end++;
  }
  return url.slice(0, end);
}

export interface ServerDeps
  extends AdminDeps, Omit<HealthDeps, "config" | "sessions" | "bootstrap" | "keys"> {
  log: Logger;
  feed: ChangeFeed;
  redirect: RedirectHandler;
  trustedProxies: readonly string[];
  unixSocket: boolean;
  /** Where Fastify-served requests are counted; null when metrics are off. */
  httpStats: HttpStats | null;
}

/**
 * Which peers may set X-Forwarded-For/-Proto: `JMP_TRUSTED_PROXIES` plus the runtime key `api.trusted_proxies`
 * (rebuilt when it changes). Behind a Unix socket the first hop is the local proxy by definition.
 */
class TrustedProxies {
  private list = new BlockList();
  /**
   * The list's answer by peer address. `BlockList.check` builds a SocketAddress each call (~1 µs, measured on the
   * redirect path when analytics reads the client address), while the peers are few: the proxy in front, or the
   * same keep-alive clients again and again. Bounded; emptied when the list changes.
   */
  private answers = new Map<string, boolean>();

  constructor(
    private readonly fromSettings: readonly string[],
    private readonly config: ConfigService,
    private readonly unixSocket: boolean,
  ) {
    this.rebuild();
  }

  follow(feed: ChangeFeed): void {
    feed.subscribe((event) => {
      if (event.kind === "config" && event.keys.includes("api.trusted_proxies")) this.rebuild();
    });
  }

  readonly trusts = (address: string, hop: number): boolean => {
    if (this.unixSocket && hop === 0) return true;
    if (!address) return false;
    const known = this.answers.get(address);
    if (known !== undefined) return known;
    const plain = address.startsWith("::ffff:") && isIPv4(address.slice(7)) ? address.slice(7) : address;
    const trusted = this.list.check(plain, isIPv4(plain) ? "ipv4" : "ipv6");
    if (this.answers.size >= MAX_REMEMBERED_PEERS) this.answers.clear();
    this.answers.set(address, trusted);
    return trusted;
  };

  /** The client's address: the socket peer, or what trusted proxies say in X-Forwarded-For (right to left). */
  readonly clientAddress = (req: IncomingMessage): string => {
    let address = req.socket.remoteAddress ?? "";
    // An untrusted peer's X-Forwarded-For means nothing: not reading it spares building the headers object.
    if (!this.trusts(address, 0)) return address;
    const forwarded = req.headers["x-forwarded-for"];
    if (forwarded === undefined) return address;
    const hops = (Array.isArray(forwarded) ? forwarded.join(",") : forwarded).split(",").reverse();
    for (let hop = 0; hop < hops.length && this.trusts(address, hop); hop++) {
      const reported = hops[hop]!.trim();
      // A hop that is not an address is not believed: the client is the proxy that sent it.
      if (isIP(reported) === 0) break;
      address = reported;
    }
    return address;
  };

  /** `proto://host` as the client used it: X-Forwarded-Proto counts only when the peer is a trusted proxy. */
  readonly origin = (req: IncomingMessage): string => {
    const forwarded = req.headers["x-forwarded-proto"];
    const trusted = typeof forwarded === "string" && this.trusts(req.socket.remoteAddress ?? "", 0);
    const proto = trusted
      ? forwarded.split(",")[0]!.trim()
      : (req.socket as { encrypted?: boolean }).encrypted
        ? "https"
        : "http";
    return `${proto === "https" ? "https" : "http"}://${req.headers.host ?? "localhost"}`;
  };

  private rebuild(): void {
    const list = new BlockList();
    for (const entry of [...this.fromSettings, ...this.config.get("api.trusted_proxies")]) {
      const [address, prefix] = entry.split("/") as [string, string | undefined];
      const family = isIPv4(address) ? "ipv4" : "ipv6";
      if (prefix === undefined) list.addAddress(address, family);
      else list.addSubnet(address, Number(prefix), family);
    }
    this.list = list;
    this.answers = new Map();
  }
}

/** Peers whose trust TrustedProxies remembers (a few hundred KB at most); past it, it starts again. */
const MAX_REMEMBERED_PEERS = 4096;

/** Query strings and path parameters arrive as text and are coerced; JSON bodies must have the right types. */
function validators() {
  const strict = new Ajv({
    removeAdditional: false,
    useDefaults: true,
    coerceTypes: false,
    allErrors: false,
  });
  const coercing = new Ajv({
    removeAdditional: false,
    useDefaults: true,
    coerceTypes: "array",
    allErrors: false,
  });
  addFormats.default(strict);
  addFormats.default(coercing);
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    httpPart === "body" ? strict.compile(schema) : finiteOnly(coercing.compile(schema));
}

/**
 * Ajv coerces `"1e999"` to Infinity and lets it pass `integer` and `maximum`; no query value of the API means
 * an infinite number, so one is refused like any other wrong type.
 */
function finiteOnly(validate: ValidateFunction): ValidateFunction {
  const wrapped = ((data: unknown) => {
    if (!validate(data)) {
      wrapped.errors = validate.errors;
      return false;
    }
    for (const [name, value] of Object.entries(data ?? {})) {
      for (const item of Array.isArray(value) ? value : [value]) {
        if (typeof item === "number" && !Number.isFinite(item)) {
          wrapped.errors = [
            {
              instancePath: `/${name}`,
              schemaPath: "",
              keyword: "type",
              params: {},
              message: "must be a finite number",
            },
          ];
          return false;
        }
      }
    }
    wrapped.errors = null;
    return true;
  }) as ValidateFunction;
  return wrapped;
}

export type HttpServer = Awaited<ReturnType<typeof buildServer>>;

/**
 * HTTP timeouts, set explicitly (docs/deployment.md): a client has 15 s to send its headers and 120 s for a
 * whole request (a 16 MiB apply document over a slow link), and an idle keep-alive connection is closed after
 * 30 s — as the reference's `Keep-Alive: timeout=30`, and past the 60 s idle timeout of common load balancers
 * would leave half-closed sockets, so a balancer in front should idle out first or set its own at >30 s.
 */
export const HTTP_TIMEOUTS = { headersMs: 15_000, requestMs: 120_000, keepAliveMs: 30_000 } as const;

function withTimeouts<T extends import("node:http").Server>(server: T): T {
  server.headersTimeout = HTTP_TIMEOUTS.headersMs;
  server.requestTimeout = HTTP_TIMEOUTS.requestMs;
  server.keepAliveTimeout = HTTP_TIMEOUTS.keepAliveMs;
  return server;
}

export async function buildServer(deps: ServerDeps) {
  const routes = new RouteTable(deps.config);
  routes.follow(deps.feed);
  const proxies = new TrustedProxies(deps.trustedProxies, deps.config, deps.unixSocket);
  proxies.follow(deps.feed);

  const app = Fastify({
    loggerInstance: deps.log,
    // One access line per request is written by the onResponse hook below, without query strings.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: DEFAULT_BODY_LIMIT,
    trustProxy: proxies.trusts,
    requestIdHeader: false,
    genReqId: requestIdOf,
    // Errors raised before routing (a URL that does not decode) get the same envelope as every other error.
    frameworkErrors: (error, _request, reply) => {
      const mapped = mapError(error);
      return (reply as FastifyReply).code(mapped.status).headers(mapped.headers).send(mapped.body);
    },
    routerOptions: { ignoreDuplicateSlashes: false },
    clientErrorHandler: (err, socket) => {
      // A reset connection has nobody to answer; otherwise answer in the envelope, then close.
      if ((err as NodeJS.ErrnoException).code === "ECONNRESET" || socket.destroyed) return;
      if (socket.writable) socket.write(clientErrorAnswer(err as NodeJS.ErrnoException));
      socket.destroy();
    },
    serverFactory: (fastifyHandler) =>
      withTimeouts(
        createServer((req: IncomingMessage, res: ServerResponse) => {
          const url = req.url ?? "/";
          const query = url.indexOf("?");
          const path = query === -1 ? url : url.slice(0, query);
          // POST reaches the redirect handler too: it is how the password form of a protected link answers.
          const method = req.method;
          if ((method === "GET" || method === "HEAD" || method === "POST") && !routes.isMounted(path)) {
            deps.redirect(req, res, path, proxies);
            return;
          }
          // Requests, responses and sockets keep one hidden class whichever path serves them: when Node's HTTP
          // internals meet objects of two shapes, V8 deoptimises them and the redirect path runs on the slower,
          // polymorphic code (docs/performance.md, ninth round). So the URL is rewritten here rather than by
          // Fastify's `rewriteUrl`, which would add `req.originalUrl` (`routes.publicUrl` gives it back), and the
          // status is set first, as the redirect path's `writeHead` does (a reply without `code()` would add
          // `statusMessage` before `statusCode`).
          req.url = routes.rewrite(url);
          res.statusCode = 200;
          fastifyHandler(req, res);
        }),
      ).on("connection", (socket: Socket) => {
        // Reading the peer's address caches it on the socket (`_peername`). The Admin API reads it on every
        // request (the client IP); the redirect path mostly does not. Read once here, every socket has one
        // hidden class whichever requests it carries (see above).
        void socket.remoteAddress;
      }),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Fastify's own JSON parser (prototype-poisoning checks included), behind a nesting limit checked on the text.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    if (jsonTooDeep(body as string)) {
      done(tooDeep(MAX_NESTING), undefined);
      return;
    }
    parseJson(request, body as string, done);
  });
  app.setValidatorCompiler(validators());
  // Response schemas document the API (OpenAPI) and type-check handlers; they never reshape an answer.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await app.register(fastifySwagger, openApiOptions(JMP_VERSION));
  app.decorateRequest("principal", null);
  await app.register(fastifyCookie);
  await app.register(fastifyMultipart, {
    limits: { fileSize: 10 * 1024 * 1024, files: 1, fields: 10, parts: 12 },
  });

  app.addHook("onRequest", async (request, reply) => {
    reply.header("X-Request-Id", request.id);
    // No identifier, filter or name of the API may hold a NUL byte; PostgreSQL would refuse it mid-query.
    if (request.raw.url?.includes("%00")) {
      throw badUrl("The URL must not contain NUL bytes (%00)");
    }
  });
  app.addHook("onRequest", corsHook(deps.config));
  app.addHook("onSend", async (_request, reply, payload) => {
    for (let i = 0; i < SECURITY_HEADERS.length; i += 2)
      reply.header(SECURITY_HEADERS[i]!, SECURITY_HEADERS[i + 1]);
    reply.header("Referrer-Policy", "no-referrer");
    return payload;
  });
  const httpStats = deps.httpStats;
  app.addHook("onResponse", async (request, reply) => {
    if (httpStats) {
      const entry = httpStats.of(routeClassOf(request.url));
      entry.statuses.inc(reply.statusCode);
      entry.duration.observe(reply.elapsedTime / 1000);
    }
    request.log.info(
      {
        method: request.method,
        path: routes.publicUrl(request.url).split("?")[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      "request",
    );
  });

  app.setErrorHandler((err, request, reply) => {
    const mapped = mapError(err);
    if (mapped.unexpected) request.log.error({ err }, "unhandled error");
    return reply.code(mapped.status).headers(mapped.headers).send(mapped.body);
  });
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).type("text/plain; charset=utf-8").send("Not Found"),
  );

  await app.register(adminApi(deps), { prefix: ADMIN_MOUNT });
  await app.register(healthRoutes(deps), { prefix: HEALTH_MOUNT });
  await app.register(panelRoutes({ config: deps.config, files: loadPanel() }), { prefix: PANEL_MOUNT });
  return app;
}
