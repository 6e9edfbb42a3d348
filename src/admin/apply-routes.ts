/**
 * Admin API v1 — declarative state: `POST /apply` (a YAML or JSON document → plan → one transaction) and
 * `GET /export` (the current state as such a document). The document may touch links, config and keys, so
 * besides the route's `links:write` each section asks for the scope its own endpoints need.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { stringify as toYaml } from "yaml";
import type { Principal } from "../auth/credentials.js";
import { hasScope, type Scope } from "../auth/scopes.js";
import { badRequest, insufficientScope } from "../errors.js";
import type { Provisioner } from "../provision/apply.js";
import { checkDocument, parseDocument } from "../provision/document.js";
import { auditContextOf } from "./context.js";
import { ok } from "./envelope.js";
import { ApplyDocument, ApplyResultSchema, Envelope } from "./schemas.js";

/** Documents of a few hundred thousand links fit; anything larger is refused before parsing (413). */
export const APPLY_BODY_LIMIT = 16 * 1024 * 1024;
const YAML_TYPES = ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"];

function requireScope(principal: Principal | null | undefined, scope: Scope, why: string): void {
  if (!hasScope(principal?.scopes ?? [], scope)) {
    throw insufficientScope(`${why} requires the scope '${scope}'`);
  }
}

export function applyRoutes(provisioner: Provisioner): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addContentTypeParser(
      YAML_TYPES,
      { parseAs: "string", bodyLimit: APPLY_BODY_LIMIT },
      (_req, body, done) => done(null, body),
    );

    app.post(
      "/apply",
      {
        config: { scope: "links:write", documentedBody: ApplyDocument },
        bodyLimit: APPLY_BODY_LIMIT,
        schema: {
          querystring: Type.Object({
            dry_run: Type.Optional(Type.Boolean()),
            prune: Type.Optional(Type.Boolean()),
            owner: Type.Optional(
              Type.String({
                maxLength: 24,
                description:
                  "Who owns what this document creates or adopts (default: the document's metadata.owner, else " +
                  "'apply'); prune only deletes or revokes that owner's objects, never those made by POST /links, " +
                  "import, the CLI or the panel. 'file': plan the document as the provisioning file " +
                  "(JMP_PROVISION_FILE) is applied at start, to preview the next deploy; needs dry_run=true and " +
                  "the admin scope",
              }),
            ),
          }),
          summary: "Apply a declarative document (YAML or JSON): plan, then write in one transaction",
          operationId: "apply",
          tags: ["apply"],
          body: Type.Unknown(),
          consumes: ["application/json", ...YAML_TYPES],
          response: { 200: Envelope(ApplyResultSchema) },
        },
      },
      async (request) => {
        const owner = request.query.owner === "file" ? "file" : "api";
        if (owner === "file") {
          // Writing as the file would let any API caller take objects out of the API's hands; a preview is safe.
          if (request.query.dry_run !== true) throw badRequest("owner=file only plans: add dry_run=true");
          requireScope(request.principal, "admin", "Planning as the provisioning file");
        }
        const body = request.body;
        const doc = typeof body === "string" ? parseDocument(body) : checkDocument(body);
        if (doc.config && Object.keys(doc.config).length > 0)
          requireScope(request.principal, "config:write", "A document with config");
        if (doc.keys) requireScope(request.principal, "keys:manage", "A document with keys");
        const result = await provisioner.apply(doc, {
          owner,
          applyOwner: owner === "api" ? request.query.owner : undefined,
          dryRun: request.query.dry_run === true,
          prune: request.query.prune,
          by: auditContextOf(request),
          principal: request.principal!,
        });
        return ok(result, result.dry_run ? "Plan" : result.applied ? "Applied" : "No changes");
      },
    );

    app.get(
      "/export",
      {
        config: { scope: "links:read" },
        schema: {
          querystring: Type.Object({
            format: Type.Optional(Type.Union([Type.Literal("json"), Type.Literal("yaml")])),
            include_secrets: Type.Optional(Type.Boolean()),
          }),
          summary: "The current state as an apply document (JSON, or YAML with format=yaml)",
          operationId: "exportState",
          tags: ["apply"],
          response: {
            200: {
              description: "The document",
              content: {
                "application/json": { schema: ApplyDocument },
                "application/yaml": { schema: Type.String() },
              },
            },
          },
        },
      },
      async (request, reply) => {
        const scopes = request.principal?.scopes ?? [];
        const includeSecrets = request.query.include_secrets === true;
        if (includeSecrets) requireScope(request.principal, "admin", "include_secrets");
        const doc = await provisioner.export({
          links: true,
          config: hasScope(scopes, "config:read"),
          keys: hasScope(scopes, "keys:manage"),
          includeSecrets,
        });
        if (request.query.format === "yaml") {
          return reply.type("application/yaml; charset=utf-8").send(toYaml(doc));
        }
        // The document itself, not an envelope: what this returns is what `POST /apply` takes.
        return doc;
      },
    );
  };
}
