/**
 * What every response carries, whichever path wrote it (the redirect path here, Fastify through its hooks).
 *
 * Request ids (`X-Request-ID` on every response, redirects and 404s included, as Shortlinker sends): the
 * client's own id when it sent a well-formed one, so a proxy's id follows the request through; otherwise a new
 * one. New ids are a per-process random prefix and a counter: unique across instances and restarts, and cheap
 * enough for the redirect path (no random bytes per request).
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

const WELL_FORMED = /^[A-Za-z0-9._-]{1,128}$/;
const PREFIX = randomBytes(6).toString("base64url");
let sequence = 0;

export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers["x-request-id"];
  if (typeof incoming === "string" && WELL_FORMED.test(incoming)) return incoming;
  sequence = sequence === Number.MAX_SAFE_INTEGER ? 1 : sequence + 1;
  return `${PREFIX}-${sequence.toString(36)}`;
}

/** Sent with every response: no MIME sniffing, no framing by other sites (the reference's values). */
export const SECURITY_HEADERS = [
  "X-Content-Type-Options",
  "nosniff",
  "X-Frame-Options",
  "SAMEORIGIN",
] as const;

/**
 * `res.writeHead` for the redirect path: `headers` (a fresh array, which this extends) plus the request id and the
 * security headers, in one call (headers set one by one would take Node's slow path).
 */
export function writeHead(res: ServerResponse, status: number, headers: string[]): void {
  headers.push("X-Request-ID", requestIdOf(res.req), ...SECURITY_HEADERS);
  // Set before `writeHead` (which sets `statusMessage`, then `statusCode`), as for every response Fastify sends
  // (src/server.ts): the response's own properties then come in one order, and so in one hidden class.
  res.statusCode = status;
  res.writeHead(status, headers);
}
