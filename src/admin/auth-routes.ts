/**
 * Admin API v1 — login, refresh, logout, verify. Cookie contract: `jmp_access` (path `/`), `jmp_refresh`
 * (path `<admin prefix>/v1/auth`), both HttpOnly; `csrf_token` (path `/`, readable by scripts, always Lax).
 * Cookies are Secure when the request came over HTTPS (directly or via a trusted proxy), when
 * `api.cookie_secure` forces it, or when SameSite=None requires it.
 */
import type { CookieSerializeOptions } from "@fastify/cookie";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { ACCESS_COOKIE, CSRF_COOKIE, REFRESH_COOKIE } from "../auth/credentials.js";
import { verifyPassword } from "../util/password.js";
import type { RateDecision, ThrottleFactory } from "../auth/rate-limit.js";
import type { IssuedSession, SessionTokens } from "../auth/sessions.js";
import type { ConfigService } from "../config/service.js";
import { invalidCredentials, rateLimited, tokenInvalid } from "../errors.js";
import { auditContextOf, clientIpOf } from "./context.js";
import { ok } from "./envelope.js";
import { Envelope, MessageData, SessionData } from "./schemas.js";

export interface AuthRoutesDeps {
  config: ConfigService;
  sessions: SessionTokens;
  throttles: ThrottleFactory;
}

function refuseWhenLimited(decision: RateDecision): void {
  if (!decision.allowed) {
    const seconds = decision.retryAfterSeconds;
    throw rateLimited(`Too many requests, retry in ${seconds}s`, seconds);
  }
}

/** The client IP (after trusted proxies); a Unix-socket peer without X-Forwarded-For has none. */
function clientKey(request: FastifyRequest): string {
  return clientIpOf(request) ?? "local";
}

export function authRoutes({ config, sessions, throttles }: AuthRoutesDeps): FastifyPluginAsyncTypebox {
  // Per client IP. Login charges every attempt before the password is checked and refunds it on success (5 in a
  // burst, then one per 5 s): people who know the password are never slowed down, guessing is, and guesses sent
  // at once are charged too. While an IP is limited every attempt is refused unchecked, so a correct guess
  // cannot be told apart from a wrong one. Refresh keeps Shortlinker's budget: 10, then 1/10 s, all counted.
  const logins = throttles("login", 0.2, 5);
  const refreshes = throttles("refresh", 0.1, 10);

  function cookieOptions(
    request: FastifyRequest,
    path: string,
    maxAge: number,
    httpOnly = true,
  ): CookieSerializeOptions {
    const sameSite = config.get("api.cookie_same_site");
    const domain = config.get("api.cookie_domain");
    const secure = request.protocol === "https" || config.get("api.cookie_secure") || sameSite === "None";
    return {
      path,
      httpOnly,
      secure,
      sameSite: httpOnly ? (sameSite.toLowerCase() as "lax" | "strict" | "none") : "lax",
      maxAge,
      ...(domain ? { domain } : {}),
    };
  }

  const refreshPath = () => `${config.get("routes.admin_prefix")}/v1/auth`;

  function setSession(request: FastifyRequest, reply: FastifyReply, session: IssuedSession): void {
    reply
      .setCookie(ACCESS_COOKIE, session.access, cookieOptions(request, "/", session.accessSeconds))
      .setCookie(
        REFRESH_COOKIE,
        session.refresh,
        cookieOptions(request, refreshPath(), session.refreshSeconds),
      )
      .setCookie(CSRF_COOKIE, session.csrf, cookieOptions(request, "/", session.accessSeconds, false));
  }

  return async (app) => {
    app.post(
      "/auth/login",
      {
        schema: {
          summary: "Log in with the admin password (sets the session cookies)",
          operationId: "login",
          tags: ["auth"],
          security: [],
          body: Type.Object({ password: Type.String({ maxLength: 1024 }) }, { additionalProperties: false }),
          response: { 200: Envelope(SessionData) },
        },
      },
      async (request, reply) => {
        const client = clientKey(request);
        refuseWhenLimited(await logins.take(client));
        // No database read here: a password changed elsewhere (`jmp reset-password`) arrives through the change
        // feed, and an attempt costs the guesser a token before it costs us anything.
        const stored = config.get("api.admin_token");
        if (stored === "" || !(await verifyPassword(stored, request.body.password))) {
          throw invalidCredentials();
        }
        logins.refund(client);
        const session = await sessions.issue();
        setSession(request, reply, session);
        return ok({ message: "Login successful", expires_in: session.accessSeconds }, "Login successful");
      },
    );

    const refreshSchema = {
      summary: "Renew the session with the refresh cookie",
      operationId: "refreshSession",
      tags: ["auth"],
      security: [],
      response: { 200: Envelope(SessionData) },
    };
    app.post("/auth/refresh", { schema: refreshSchema }, async (request, reply) => {
      refuseWhenLimited(await refreshes.take(clientKey(request)));
      const token = request.cookies[REFRESH_COOKIE];
      if (!token) throw tokenInvalid("Refresh token not found");
      if (!(await sessions.verify(token, "refresh"))) {
        throw tokenInvalid("Invalid refresh token");
      }
      const session = await sessions.issue();
      setSession(request, reply, session);
      return ok({ message: "Token refreshed", expires_in: session.accessSeconds }, "Token refreshed");
    });

    const logoutSchema = {
      summary: "Clear the session cookies",
      operationId: "logout",
      tags: ["auth"],
      security: [],
      response: { 200: Envelope(MessageData) },
    };
    app.post("/auth/logout", { schema: logoutSchema }, async (request, reply) => {
      reply
        .setCookie(ACCESS_COOKIE, "", cookieOptions(request, "/", 0))
        .setCookie(REFRESH_COOKIE, "", cookieOptions(request, refreshPath(), 0))
        .setCookie(CSRF_COOKIE, "", cookieOptions(request, "/", 0, false));
      return ok({ message: "Logout successful" }, "Logout successful");
    });

    const everywhereSchema = {
      summary: "End every admin session on every instance",
      operationId: "logoutEverywhere",
      tags: ["auth"],
      response: { 200: Envelope(MessageData) },
    };
    app.post(
      "/auth/logout-everywhere",
      { config: { scope: "admin" }, schema: everywhereSchema },
      async (request, reply) => {
        await config.set("api.sessions_not_before", String(Date.now()), auditContextOf(request), Date.now());
        reply
          .setCookie(ACCESS_COOKIE, "", cookieOptions(request, "/", 0))
          .setCookie(REFRESH_COOKIE, "", cookieOptions(request, refreshPath(), 0))
          .setCookie(CSRF_COOKIE, "", cookieOptions(request, "/", 0, false));
        return ok({ message: "All admin sessions have ended" });
      },
    );

    const verifySchema = {
      summary: "Check the credential",
      operationId: "verifyCredential",
      tags: ["auth"],
      response: { 200: Envelope(MessageData) },
    };
    app.get("/auth/verify", { config: { scope: "authenticated" }, schema: verifySchema }, async () =>
      ok({ message: "Token is valid" }),
    );
  };
}
