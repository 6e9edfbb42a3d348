/**
 * The Admin API v1, mounted at `<routes.admin_prefix>/v1`. Every route needs a credential except login,
 * refresh and logout; cookie-authenticated writes also need the CSRF token. With no admin password and no
 * bootstrap API key configured, the whole API answers a plain 404 (Shortlinker's "disabled" state).
 */
import type { TSchema } from "typebox";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { KeyService } from "../auth/api-keys.js";
import type { ApiKeyVerifier } from "../auth/key-verifier.js";
import {
  type BootstrapAccess,
  CSRF_COOKIE,
  CSRF_HEADER,
  csrfMatches,
  resolvePrincipal,
} from "../auth/credentials.js";
import type { ThrottleFactory } from "../auth/rate-limit.js";
import { hasScope, type Scope } from "../auth/scopes.js";
import type { SessionTokens } from "../auth/sessions.js";
import type { ConfigService } from "../config/service.js";
import { csrfInvalid, insufficientScope, notFound, rateLimited, unauthorized } from "../errors.js";
import type { LinkBatches } from "../links/batch.js";
import type { LinkService } from "../links/service.js";
import { clientIpOf } from "./context.js";
import { authRoutes } from "./auth-routes.js";
import type { AuditStore } from "../store/audit-store.js";
import { auditRoutes } from "./audit-routes.js";
import { configRoutes } from "./config-routes.js";
import { keysRoutes } from "./keys-routes.js";
import { linksRoutes } from "./links-routes.js";
import { applyRoutes } from "./apply-routes.js";
import { type AnalyticsDeps, analyticsRoutes } from "./analytics-routes.js";
import { openApiDocument } from "./openapi.js";
import fastifySwaggerUi from "@fastify/swagger-ui";
import type { Provisioner } from "../provision/apply.js";

export const ADMIN_MOUNT = "/admin";
const PUBLIC_ROUTES = new Set(
  ["/auth/login", "/auth/refresh", "/auth/logout", "/openapi.json"].map((p) => `${ADMIN_MOUNT}/v1${p}`),
);
/** The OpenAPI viewer (Swagger UI, from local files): public, like the description it shows. */
const DOCS_PREFIX = `${ADMIN_MOUNT}/v1/docs`;
/**
 * Scripts and styles only from this origin, no inline script, no framing; the viewer fetches the description
 * from the same origin (`connect-src 'self'`) and nothing else. Swagger UI injects one fixed <style> element: it
 * is allowed by its hash, not by 'unsafe-inline' (test/browser/api-docs.test.ts fails when an upgrade changes it).
 */
const DOCS_CSP =
  "default-src 'none'; base-uri 'none'; connect-src 'self'; img-src 'self' data:; font-src 'self'; " +
  "script-src 'self'; script-src-attr 'none'; " +
  "style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; " +
  "frame-ancestors 'none'; form-action 'none'";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** What a route needs: a scope, or only some valid credential. Routes that declare nothing need `admin`. */
export type RouteScope = Scope | "authenticated";

declare module "fastify" {
  interface FastifyContextConfig {
    scope?: RouteScope;
    /**
     * A route that serves several operations on one path pattern decides per request (`GET /links/*` also
     * serves the analytics of codes with a `/`); `scope` stays what the description documents.
     */
    scopeOf?: (request: FastifyRequest) => RouteScope;
    /**
     * The request body as the OpenAPI description shows it, when the route parses the body itself (the apply
     * document, which also comes as YAML, is checked by its own code to report item paths).
     */
    documentedBody?: TSchema;
  }
}

export interface AdminDeps {
  config: ConfigService;
  sessions: SessionTokens;
  links: LinkService;
  batches: LinkBatches;
  keys: KeyService;
  keyVerifier: ApiKeyVerifier;
  bootstrap: BootstrapAccess;
  audit: AuditStore;
  analytics: AnalyticsDeps;
  provisioner: Provisioner;
  /** Where guarded checks charge their attempts (shared by every worker of a cluster). */
  throttles: ThrottleFactory;
}

export function adminApi(deps: AdminDeps): FastifyPluginAsyncTypebox {
  const enabled = () => deps.config.get("api.admin_token") !== "" || deps.bootstrap.keys.length > 0;
  // Failed credentials per client IP: 20 in a burst, then one per 3 s. Every attempt is charged before its
  // credential is checked and refunded when it was valid, so attempts sent at once are counted too. A valid
  // credential is honoured even from an exhausted address (it is 256 bits, not a guess); past the limit a
  // failing request gets 429 instead of 401.
  const failures = deps.throttles("credentials", 1 / 3, 20);

  return async (app) => {
    app.addHook("onRequest", async (request, reply) => {
      reply.header("Cache-Control", "no-store");
      if (!enabled()) {
        return reply.code(404).type("text/plain; charset=utf-8").send("Not Found");
      }
      if (request.method === "OPTIONS") return reply.code(204).send();
      const route = request.routeOptions.url;
      if (PUBLIC_ROUTES.has(route ?? "") || route?.startsWith(DOCS_PREFIX)) return;
      const client = clientIpOf(request) ?? "local";
      const decision = await failures.take(client);
      const principal = await resolvePrincipal(
        { authorization: request.headers.authorization, cookies: request.cookies },
        deps.bootstrap,
        deps.sessions,
        (token) => deps.keyVerifier.verify(token),
      );
      if (principal && decision.allowed) failures.refund(client);
      if (!principal) {
        if (!decision.allowed) {
          throw rateLimited(
            `Too many failed authentication attempts, retry in ${decision.retryAfterSeconds}s`,
            decision.retryAfterSeconds,
          );
        }
        throw unauthorized();
      }
      const cookieWrite =
        principal.kind === "session" && principal.via === "cookie" && !SAFE_METHODS.has(request.method);
      if (cookieWrite && !csrfMatches(request.cookies[CSRF_COOKIE], request.headers[CSRF_HEADER])) {
        throw csrfInvalid();
      }
      // Unknown routes (404) need only a valid credential, so they reveal nothing to anonymous callers.
      const config = request.routeOptions.config;
      const needed: RouteScope =
        route === undefined ? "authenticated" : (config.scopeOf?.(request) ?? config.scope ?? "admin");
      if (needed !== "authenticated" && !hasScope(principal.scopes, needed)) {
        throw insufficientScope(`This requires the scope '${needed}'`);
      }
      request.principal = principal;
    });

    app.setNotFoundHandler(async () => {
      throw notFound("Not found");
    });

    await app.register(
      async (v1) => {
        await v1.register(authRoutes(deps));
        await v1.register(linksRoutes(deps.links, deps.batches, deps.config, deps.analytics));
        await v1.register(analyticsRoutes(deps.analytics));
        await v1.register(configRoutes(deps.config));
        await v1.register(keysRoutes(deps.keys));
        await v1.register(auditRoutes(deps.audit));
        await v1.register(applyRoutes(deps.provisioner));
        v1.get("/openapi.json", { schema: { hide: true } }, async (request) =>
          openApiDocument(request.server, deps.config),
        );
        await v1.register(fastifySwaggerUi, {
          routePrefix: "/docs",
          staticCSP: DOCS_CSP,
          // The same live document as /openapi.json (paths under this instance's prefixes).
          transformSpecification: (_spec, request) => openApiDocument(request.server, deps.config),
          transformSpecificationClone: false,
          uiConfig: { validatorUrl: null, deepLinking: true, tryItOutEnabled: false },
          theme: { title: "jmp Admin API" },
        });
      },
      { prefix: "/v1" },
    );
  };
}
