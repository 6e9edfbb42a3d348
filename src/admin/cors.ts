/**
 * CORS for the Admin and health APIs, read from the `cors.*` runtime keys on every request (so changes apply
 * live). Off by default. A preflight from an allowed origin is answered here with 204; a request from any other
 * origin gets no CORS headers, and the browser blocks it. Credentials are never combined with the `*` origin.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ConfigService } from "../config/service.js";

export function corsHook(config: ConfigService) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!config.get("cors.enabled")) return;
    const origin = request.headers.origin;
    if (!origin) return;
    const origins = config.get("cors.allowed_origins");
    const any = origins.includes("*");
    if (!any && !origins.includes(origin)) return;
    const credentials = config.get("cors.allow_credentials") && !any;
    reply.header("Access-Control-Allow-Origin", any && !credentials ? "*" : origin);
    reply.header("Vary", "Origin");
    if (credentials) reply.header("Access-Control-Allow-Credentials", "true");
    if (request.method === "OPTIONS" && request.headers["access-control-request-method"]) {
      reply.header("Access-Control-Allow-Methods", config.get("cors.allowed_methods").join(", "));
      reply.header("Access-Control-Allow-Headers", config.get("cors.allowed_headers").join(", "));
      reply.header("Access-Control-Max-Age", String(config.get("cors.max_age")));
      return reply.code(204).send();
    }
  };
}
