/** The audit context of an Admin API request: who is calling (the authenticated principal) and from where. */
import type { FastifyRequest } from "fastify";
import type { AuditContext } from "../audit/log.js";
import { actorOf } from "../auth/credentials.js";

export function auditContextOf(request: FastifyRequest): AuditContext {
  return {
    actor: request.principal ? actorOf(request.principal) : "unknown",
    ip: request.ip || null,
    requestId: request.id,
  };
}
