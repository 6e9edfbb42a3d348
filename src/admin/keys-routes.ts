/**
 * Admin API v1 — API keys (`/keys`) and `/auth/whoami`. Tokens appear once, in the responses of create and
 * rotate; every read shows only the display form. Writes need `keys:manage`; whoami any credential.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import type { KeyService } from "../auth/api-keys.js";
import type { Principal } from "../auth/credentials.js";
import { badRequest } from "../errors.js";
import { auditContextOf } from "./context.js";
import { ok } from "./envelope.js";
import { Envelope, KeyPutSchema, KeySchema, KeyWithTokenSchema, WhoamiSchema } from "./schemas.js";

const manage = { scope: "keys:manage" } as const;
const Str = (maxLength: number) => Type.String({ maxLength });
const IdParams = Type.Object({ id: Str(128) });
const KeyBody = {
  name: Type.Optional(Str(128)),
  scopes: Type.Optional(Type.Array(Str(64), { maxItems: 20 })),
  description: Type.Optional(Type.Union([Str(1024), Type.Null()])),
  expires_at: Type.Optional(Type.Union([Str(64), Type.Null()])),
  expires_in: Type.Optional(Str(64)),
};

function caller(request: FastifyRequest): Principal {
  return request.principal!;
}

export function keysRoutes(keys: KeyService): FastifyPluginAsyncTypebox {
  return async (app) => {
    const whoamiSchema = {
      summary: "Who the credential is",
      operationId: "whoami",
      tags: ["auth"],
      response: { 200: Envelope(WhoamiSchema) },
    };
    app.get("/auth/whoami", { config: { scope: "authenticated" }, schema: whoamiSchema }, async (request) => {
      const p = caller(request);
      const base = { actor: p.kind, scopes: [...p.scopes] };
      if (p.kind === "api_key") {
        return ok({
          ...base,
          key_id: p.id,
          name: p.name,
          expires_at: p.expiresAt === null ? null : new Date(p.expiresAt).toISOString(),
          source: "api",
        });
      }
      if (p.kind === "bootstrap")
        return ok({
          ...base,
          key_id: `bootstrap:${p.fingerprint}`,
          fingerprint: p.fingerprint,
          source: "env",
        });
      return ok({ ...base, source: "session" });
    });

    app.get(
      "/keys",
      {
        config: manage,
        schema: {
          summary: "List API keys",
          operationId: "listKeys",
          tags: ["keys"],
          querystring: Type.Object({ include_revoked: Type.Optional(Type.Boolean()) }),
          response: { 200: Envelope(Type.Array(KeySchema)) },
        },
      },
      async (request) => ok(await keys.list(request.query.include_revoked === true)),
    );

    app.post(
      "/keys",
      {
        config: manage,
        schema: {
          summary: "Create an API key (the token is in this answer only)",
          operationId: "createKey",
          tags: ["keys"],
          body: Type.Object(KeyBody, { additionalProperties: false }),
          response: { 201: Envelope(KeyWithTokenSchema) },
        },
      },
      async (request, reply) => {
        const { key, etag, token } = await keys.create(
          request.body,
          caller(request),
          auditContextOf(request),
        );
        reply.code(201).header("ETag", etag);
        return ok({ ...key, token }, "API key created");
      },
    );

    app.put(
      "/keys/by-name/:name",
      {
        config: manage,
        schema: {
          summary: "Create or update a key by name from a token digest (idempotent)",
          operationId: "putKeyByName",
          tags: ["keys"],
          response: { 200: Envelope(KeyPutSchema), 201: Envelope(KeyPutSchema) },
          params: Type.Object({ name: Str(128) }),
          body: Type.Object(
            { ...KeyBody, name: Type.Optional(Str(128)), token_sha256: Str(80) },
            { additionalProperties: false },
          ),
        },
      },
      async (request, reply) => {
        const result = await keys.putByName(
          request.params.name,
          request.body,
          caller(request),
          auditContextOf(request),
        );
        reply.code(result.created ? 201 : 200).header("ETag", result.etag);
        return ok({ ...result.key, changed: result.changed });
      },
    );

    const getSchema = {
      summary: "One API key",
      operationId: "getKey",
      tags: ["keys"],
      params: IdParams,
      response: { 200: Envelope(KeySchema) },
    };
    app.get("/keys/:id", { config: manage, schema: getSchema }, async (request, reply) => {
      const { key, etag } = await keys.get(request.params.id);
      reply.header("ETag", etag);
      return ok(key);
    });

    app.patch(
      "/keys/:id",
      {
        config: manage,
        schema: {
          summary: "Change a key (If-Match supported)",
          operationId: "updateKey",
          tags: ["keys"],
          params: IdParams,
          body: Type.Object(KeyBody, { additionalProperties: false }),
          response: { 200: Envelope(KeySchema) },
        },
      },
      async (request, reply) => {
        const ifMatch = request.headers["if-match"];
        const { key, etag } = await keys.update(
          request.params.id,
          request.body,
          ifMatch,
          caller(request),
          auditContextOf(request),
        );
        reply.header("ETag", etag);
        return ok(key);
      },
    );

    app.post(
      "/keys/:id/rotate",
      {
        config: manage,
        schema: {
          summary: "Issue a new token; the old one works for grace_seconds more",
          operationId: "rotateKey",
          tags: ["keys"],
          response: { 200: Envelope(KeyWithTokenSchema) },
          params: IdParams,
          body: Type.Optional(
            Type.Object({ grace_seconds: Type.Optional(Type.Integer()) }, { additionalProperties: false }),
          ),
        },
      },
      async (request, reply) => {
        const rotated = await keys.rotate(
          request.params.id,
          request.body?.grace_seconds ?? 0,
          caller(request),
          auditContextOf(request),
        );
        reply.header("ETag", rotated.etag);
        return ok({ ...rotated.key, token: rotated.token }, "API key rotated");
      },
    );

    const revokeSchema = {
      summary: "Revoke a key",
      operationId: "revokeKey",
      tags: ["keys"],
      params: IdParams,
      response: { 204: Type.Null() },
    };
    app.delete("/keys/:id", { config: manage, schema: revokeSchema }, async (request, reply) => {
      await keys.revoke(request.params.id, caller(request), auditContextOf(request));
      return reply.code(204).send(null);
    });

    const revokeSelfSchema = {
      summary: "Revoke the API key this request is made with (any key may end itself: `jmp logout`)",
      operationId: "revokeOwnKey",
      tags: ["auth"],
      response: { 204: Type.Null() },
    };
    app.delete(
      "/auth/api-key",
      { config: { scope: "authenticated" }, schema: revokeSelfSchema },
      async (request, reply) => {
        const p = caller(request);
        if (p.kind !== "api_key") {
          throw badRequest(
            `only an API key can revoke itself; this request is made with a ${p.kind} credential`,
          );
        }
        await keys.revoke(p.id, p, auditContextOf(request));
        return reply.code(204).send(null);
      },
    );
  };
}
