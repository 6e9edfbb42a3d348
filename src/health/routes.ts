/**
 * Health endpoints at `<routes.health_prefix>`: `/live` and `/ready` are open (for probes); `/health` itself
 * shows details and needs an admin credential or the `api.health_token` bearer.
 */
import { Envelope, HealthSchema, HealthUnavailableSchema } from "../admin/schemas.js";
import { timingSafeEqual } from "node:crypto";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { sha256Hex } from "../auth/api-key-format.js";
import type { ApiKeyVerifier } from "../auth/key-verifier.js";
import { type BootstrapAccess, bearerToken, resolvePrincipal } from "../auth/credentials.js";
import type { SessionTokens } from "../auth/sessions.js";
import type { ConfigService } from "../config/service.js";
import { ErrorCode, notFound, unauthorized } from "../errors.js";
import type { FeedStatus } from "../events/transport.js";
import type { Engine } from "../store/db.js";
import type { GeoIpFile } from "../analytics/geoip.js";

export const HEALTH_MOUNT = "/health";
const STORAGE_TIMEOUT_MS = 5000;

export interface HealthDeps {
  config: ConfigService;
  sessions: SessionTokens;
  bootstrap: BootstrapAccess;
  keyVerifier: ApiKeyVerifier;
  engine: Engine;
  startedAt: number;
  /** False until start-up (migrations, seeding) has finished, and again while shutting down. */
  isReady(): boolean;
  countLinks(): Promise<number>;
  feedStatus(): FeedStatus;
  /** The Prometheus exposition, or null when metrics are off (`JMP_METRICS=off`). */
  metrics: (() => Promise<{ contentType: string; body: string }>) | null;
  /** The GeoIP files in use (`JMP_GEOIP_DATABASE`), empty without one. */
  geoIpFiles: readonly GeoIpFile[];
  /** Whether the code filter has been built (reported by the detailed health). */
  codeFilterReady(): boolean;
}

function healthTokenMatches(stored: string, bearer: string | null): boolean {
  if (bearer === null || !stored.startsWith("sha256:")) return false;
  const expected = Buffer.from(stored.slice("sha256:".length), "hex");
  return timingSafeEqual(expected, Buffer.from(sha256Hex(bearer), "hex"));
}

async function checkStorage(countLinks: () => Promise<number>) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("storage check timed out")), STORAGE_TIMEOUT_MS);
  });
  try {
    return { healthy: true as const, count: await Promise.race([countLinks(), timeout]) };
  } catch (err) {
    return { healthy: false as const, error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(deps: HealthDeps): FastifyPluginAsync {
  return async (app) => {
    app.addHook("onRequest", async (_request, reply) => {
      reply.header("Cache-Control", "no-store");
    });

    const probe = (operationId: string, summary: string, ok: number) => ({
      operationId,
      summary,
      tags: ["health"],
      security: [],
      response: {
        [ok]: {
          description: "Yes",
          content: ok === 204 ? undefined : { "text/plain": { schema: { type: "string" } } },
        },
        503: { description: "No", content: { "text/plain": { schema: { type: "string" } } } },
      },
    });
    app.get(
      "/live",
      { schema: probe("live", "Liveness: the process answers", 204) },
      async (_request, reply) => reply.code(204).send(),
    );

    app.get(
      "/ready",
      { schema: probe("ready", "Readiness: serving, storage reachable, provisioning applied", 200) },
      async (_request, reply) => {
        const ready = deps.isReady() && (await checkStorage(deps.countLinks)).healthy;
        return reply
          .code(ready ? 200 : 503)
          .type("text/plain; charset=utf-8")
          .send(ready ? "OK" : "Service Unavailable");
      },
    );

    const healthSchema = {
      summary: "Detailed health (health token, or any Admin API credential)",
      operationId: "getHealth",
      tags: ["health"],
      security: [{ bearer: [] }, { cookie: [] }] as Record<string, string[]>[],
      response: { 200: Envelope(HealthSchema), 503: HealthUnavailableSchema },
    };
    /**
     * The health token, or any Admin API credential. With neither a health token nor an admin credential (admin
     * password, bootstrap key) configured, the detailed endpoints do not exist (404), as in the reference.
     */
    const authorize = async (request: FastifyRequest) => {
      const disabled =
        deps.config.get("api.health_token") === "" &&
        deps.config.get("api.admin_token") === "" &&
        deps.bootstrap.keys.length === 0;
      if (disabled) throw notFound("Not Found");
      const bearer = bearerToken(request.headers.authorization);
      const allowed =
        healthTokenMatches(deps.config.get("api.health_token"), bearer) ||
        (await resolvePrincipal(
          { authorization: request.headers.authorization, cookies: request.cookies },
          deps.bootstrap,
          deps.sessions,
          (token) => deps.keyVerifier.verify(token),
        )) !== null;
      if (!allowed) throw unauthorized();
    };

    app.get("/", { schema: healthSchema }, async (request, reply) => {
      await authorize(request);

      const started = performance.now();
      const storage = await checkStorage(deps.countLinks);
      const feed = deps.feedStatus();
      const data = {
        status: !storage.healthy ? "unhealthy" : feed.healthy ? "healthy" : "degraded",
        timestamp: new Date().toISOString(),
        uptime: Math.floor((Date.now() - deps.startedAt) / 1000),
        checks: {
          storage: {
            status: storage.healthy ? "healthy" : "unhealthy",
            links_count: storage.healthy ? storage.count : null,
            backend: { storage_type: deps.engine, support_click: true },
            ...(storage.healthy ? {} : { error: storage.error }),
          },
          cache: {
            status: "healthy",
            cache_type: "memory",
            bloom_filter_enabled: deps.codeFilterReady(),
            negative_cache_enabled: true,
          },
          change_feed: {
            status: feed.healthy ? "healthy" : "degraded",
            transport: feed.transport,
            ...(feed.error ? { error: feed.error } : {}),
          },
          // Opened at start (a file that cannot be read stops the start), so configured means healthy.
          geoip: { status: deps.geoIpFiles.length > 0 ? "healthy" : "disabled", files: deps.geoIpFiles },
        },
        response_time_ms: Math.round(performance.now() - started),
      };
      if (!storage.healthy) {
        return reply
          .code(503)
          .send({ code: ErrorCode.ServiceUnavailable, message: "Service Unavailable", data });
      }
      return { code: 0, message: "OK", data };
    });

    app.get(
      "/metrics",
      {
        schema: {
          summary: "Prometheus metrics (health token, or any Admin API credential)",
          operationId: "getMetrics",
          tags: ["health"],
          security: [{ bearer: [] }, { cookie: [] }],
          response: {
            200: {
              description: "Prometheus text exposition format 0.0.4",
              content: { "text/plain": { schema: { type: "string" } } },
            },
          },
        },
      },
      async (request, reply) => {
        await authorize(request);
        if (deps.metrics === null) {
          throw notFound("Metrics are off (JMP_METRICS=off)");
        }
        const { contentType, body } = await deps.metrics();
        return reply.type(contentType).send(body);
      },
    );
  };
}
