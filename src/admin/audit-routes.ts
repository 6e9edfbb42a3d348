/** Admin API v1 — `GET /audit`: who changed what, newest first (scope `admin`). */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { invalidDate } from "../errors.js";
import { parseRfc3339 } from "../util/time.js";
import type { AuditStore } from "../store/audit-store.js";
import { paginated } from "./envelope.js";
import { AuditEntrySchema, Page } from "./schemas.js";

const Query = Type.Object({
  actor: Type.Optional(Type.String({ maxLength: 160 })),
  object_type: Type.Optional(Type.String({ maxLength: 32 })),
  object_id: Type.Optional(Type.String({ maxLength: 255 })),
  since: Type.Optional(Type.String({ maxLength: 64 })),
  until: Type.Optional(Type.String({ maxLength: 64 })),
  page: Type.Optional(Type.Integer({ maximum: 1_000_000 })),
  page_size: Type.Optional(Type.Integer()),
});

function time(name: string, value: string | undefined): number | undefined {
  if (!value) return undefined;
  const parsed = parseRfc3339(value);
  if (parsed === null) throw invalidDate(`Invalid ${name}: use RFC 3339`);
  return parsed;
}

const json = (text: string | null) => (text === null ? null : (JSON.parse(text) as unknown));

export function auditRoutes(audit: AuditStore): FastifyPluginAsyncTypebox {
  return async (app) => {
    const schema = {
      summary: "Who changed what, newest first",
      operationId: "listAudit",
      tags: ["audit"],
      querystring: Query,
      response: { 200: Page(AuditEntrySchema) },
    };
    app.get("/audit", { config: { scope: "admin" }, schema }, async (request) => {
      const q = request.query;
      const page = Math.max(1, q.page ?? 1);
      const pageSize = Math.min(100, Math.max(1, q.page_size ?? 50));
      const { rows, total } = await audit.page(
        {
          actor: q.actor,
          objectType: q.object_type,
          objectId: q.object_id,
          since: time("since", q.since),
          until: time("until", q.until),
        },
        (page - 1) * pageSize,
        pageSize,
      );
      const entries = rows.map((row) => ({
        id: Number(row.id),
        at: new Date(Number(row.at)).toISOString(),
        actor: row.actor,
        ip: row.ip,
        request_id: row.request_id,
        action: row.action,
        object_type: row.object_type,
        object_id: row.object_id,
        before: json(row.before),
        after: json(row.after),
      }));
      return paginated(entries, page, pageSize, total);
    });
  };
}
