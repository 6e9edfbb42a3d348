/** Admin API v1 — batches of link creates, updates and deletes (Shortlinker's /links/batch). */
import { Type } from "typebox";
import type { LinkBatches } from "../links/batch.js";
import { auditContextOf } from "./context.js";
import { ok } from "./envelope.js";
import { CreateBody, type LinksApp, UpdateBody } from "./link-schemas.js";
import { BatchResultSchema, Envelope } from "./schemas.js";

/** Batches of 5000 links with long targets need more than the default body limit. */
const BATCH_BODY_LIMIT = 8 * 1024 * 1024;

/** Added inline by linksRoutes, so the routes keep their place in the OpenAPI document. */
export function addLinkBatchRoutes(app: LinksApp, batches: LinkBatches): void {
  app.post(
    "/links/batch",
    {
      config: { scope: "links:write" },
      bodyLimit: BATCH_BODY_LIMIT,
      schema: {
        summary: "Create links in a batch",
        operationId: "batchCreateLinks",
        tags: ["links"],
        body: Type.Object({ links: Type.Array(CreateBody) }, { additionalProperties: false }),
        response: { 200: Envelope(BatchResultSchema) },
      },
    },
    async (request) => ok(await batches.batchCreate(request.body.links, auditContextOf(request))),
  );

  app.put(
    "/links/batch",
    {
      config: { scope: "links:write" },
      bodyLimit: BATCH_BODY_LIMIT,
      schema: {
        summary: "Update links in a batch",
        operationId: "batchUpdateLinks",
        tags: ["links"],
        response: { 200: Envelope(BatchResultSchema) },
        body: Type.Object(
          {
            updates: Type.Array(
              Type.Object(
                { code: Type.String({ maxLength: 1024 }), payload: UpdateBody },
                { additionalProperties: false },
              ),
            ),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => ok(await batches.batchUpdate(request.body.updates, auditContextOf(request))),
  );

  app.delete(
    "/links/batch",
    {
      config: { scope: "links:write" },
      bodyLimit: BATCH_BODY_LIMIT,
      schema: {
        summary: "Delete links in a batch",
        operationId: "batchDeleteLinks",
        tags: ["links"],
        response: { 200: Envelope(BatchResultSchema) },
        body: Type.Object(
          { codes: Type.Array(Type.String({ maxLength: 1024 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => ok(await batches.batchDelete(request.body.codes, auditContextOf(request))),
  );
}
