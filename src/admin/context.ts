/** The audit context of an Admin API request: who is calling (the authenticated principal) and from where. */
import { isIP } from "node:net";
import type { FastifyRequest } from "fastify";
import type { AuditContext } from "../audit/log.js";
import { actorOf } from "../auth/credentials.js";

export function auditContextOf(request: FastifyRequest): AuditContext {
  return {
    actor: request.principal ? actorOf(request.principal) : "unknown",
    ip: clientIpOf(request),
    requestId: request.id,
  };
}

/**
 * The client's address: what trusted proxies report in X-Forwarded-For when it is an IP address, else the
 * socket peer (a proxy that forwards something else is not believed); null for a Unix-socket peer. Never an
 * arbitrary string, so rate-limit keys and the audit log's `ip` stay short and meaningful.
 */
export function clientIpOf(request: FastifyRequest): string | null {
  if (isIP(request.ip)) return request.ip;
  const peer = request.socket.remoteAddress;
  return peer && isIP(peer) ? peer : null;
}
