/**
 * The Admin API v1, mounted at `<routes.admin_prefix>/v1`. Every route needs a credential except login,
 * refresh and logout; cookie-authenticated writes also need the CSRF token. With no admin password and no
 * bootstrap API key configured, the whole API answers a plain 404 (Shortlinker's "disabled" state).
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { BootstrapKey } from "../auth/bootstrap.js";
import { CSRF_COOKIE, CSRF_HEADER, csrfMatches, resolvePrincipal } from "../auth/credentials.js";
import type { SessionTokens } from "../auth/sessions.js";
import type { ConfigService } from "../config/service.js";
import { AppError, ErrorCode } from "../errors.js";
import type { LinkService } from "../links/service.js";
import { authRoutes } from "./auth-routes.js";
import { configRoutes } from "./config-routes.js";
import { linksRoutes } from "./links-routes.js";

export const ADMIN_MOUNT = "/admin";
const PUBLIC_ROUTES = new Set(
  ["/auth/login", "/auth/refresh", "/auth/logout"].map((p) => `${ADMIN_MOUNT}/v1${p}`),
);
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export interface AdminDeps {
  config: ConfigService;
  sessions: SessionTokens;
  links: LinkService;
  bootstrapKeys: readonly BootstrapKey[];
}

export function unauthorized(): AppError {
  return new AppError(401, ErrorCode.Unauthorized, "unauthorized", "Unauthorized: Invalid or missing token", {
    "WWW-Authenticate": "Bearer",
  });
}

export function adminApi(deps: AdminDeps): FastifyPluginAsyncTypebox {
  const enabled = () => deps.config.get("api.admin_token") !== "" || deps.bootstrapKeys.length > 0;

  return async (app) => {
    app.addHook("onRequest", async (request, reply) => {
      reply.header("Cache-Control", "no-store");
      if (!enabled()) {
        return reply.code(404).type("text/plain; charset=utf-8").send("Not Found");
      }
      if (request.method === "OPTIONS") return reply.code(204).send();
      if (PUBLIC_ROUTES.has(request.routeOptions.url ?? "")) return;
      const principal = await resolvePrincipal(
        { authorization: request.headers.authorization, cookies: request.cookies },
        deps.bootstrapKeys,
        deps.sessions,
      );
      if (!principal) throw unauthorized();
      const cookieWrite =
        principal.kind === "session" && principal.via === "cookie" && !SAFE_METHODS.has(request.method);
      if (cookieWrite && !csrfMatches(request.cookies[CSRF_COOKIE], request.headers[CSRF_HEADER])) {
        throw new AppError(403, ErrorCode.CsrfInvalid, "csrf_invalid", "CSRF token missing or invalid");
      }
      request.principal = principal;
    });

    app.setNotFoundHandler(async () => {
      throw new AppError(404, ErrorCode.NotFound, "not_found", "Not found");
    });

    await app.register(
      async (v1) => {
        await v1.register(authRoutes(deps));
        await v1.register(linksRoutes(deps.links));
        await v1.register(configRoutes(deps.config));
      },
      { prefix: "/v1" },
    );
  };
}
