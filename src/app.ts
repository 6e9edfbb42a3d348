/**
 * Wires the parts together and owns the process lifecycle: open the store, migrate, load config, ensure an
 * admin credential, start serving; on shutdown stop accepting, finish requests, write buffered clicks, close.
 */
import type { Logger } from "pino";
import { ensureAdminCredential } from "./auth/first-start.js";
import { AuditLog, internalContext } from "./audit/log.js";
import { KeyService } from "./auth/api-keys.js";
import { ApiKeyVerifier } from "./auth/key-verifier.js";
import { verifyPassword } from "./util/password.js";
import { localThrottles } from "./auth/rate-limit.js";
import { SessionTokens } from "./auth/sessions.js";
import { ConfigService } from "./config/service.js";
import { ChangeFeed } from "./events/feed.js";
import { ChangeLog } from "./events/transport.js";
import { LinkBatches } from "./links/batch.js";
import { LinkService } from "./links/service.js";
import { LinkWriteRules } from "./links/write-rules.js";
import { LinkCache, toCached } from "./redirect/cache.js";
import { ClickBuffer } from "./redirect/clicks.js";
import { openGeoIp } from "./analytics/geoip.js";
import { robotsTxt } from "./redirect/robots.js";
import { createRedirectHandler } from "./redirect/handler.js";
import { LinkIndex } from "./redirect/link-index.js";
import { DbStats, HttpStats, RedirectStats } from "./metrics/counters.js";
import { createRegistry } from "./metrics/registry.js";
import { buildServer, type HttpServer } from "./server.js";
import { AppError, SettingsError } from "./errors.js";
import type { Settings } from "./settings.js";
import { ConfigStore } from "./store/config-store.js";
import { openStore, type Store } from "./store/db.js";
import { AuditStore } from "./store/audit-store.js";
import { KeysStore } from "./store/keys-store.js";
import { LinksStore } from "./store/links-store.js";
import { RedirectStore } from "./store/redirect-store.js";
import { SqliteClickWriter } from "./store/sqlite-click-writer.js";
import { AnalyticsErasure } from "./analytics/erasure.js";
import { AnalyticsQueries } from "./analytics/queries.js";
import { StatsRetention } from "./analytics/retention.js";
import { ClickCapture, NO_RECORDING } from "./analytics/capture.js";
import type { ReferrerStorage } from "./analytics/classify.js";
import { ClickEventsStore } from "./store/click-events-store.js";
import { AnalyticsStore } from "./store/analytics-store.js";
import { migrateToLatest } from "./store/migrate.js";
import { databaseUse } from "./store/usage.js";
import { Provisioner } from "./provision/apply.js";
import { parseDocument } from "./provision/document.js";
import { readFile } from "node:fs/promises";
import { rmSync } from "node:fs";
import { clusterMetrics, clusterThrottles, isClusterWorker, siblingDoorbell } from "./cluster.js";
import { ChangesStore } from "./store/changes-store.js";

export class App {
  private constructor(
    /** Read by /health/ready: true between listening and the start of shutdown. */
    private readonly readiness: { ready: boolean; provisioned: boolean },
    readonly settings: Settings,
    readonly log: Logger,
    readonly store: Store,
    readonly config: ConfigService,
    private readonly changeLog: ChangeLog,
    readonly clicks: ClickBuffer,
    private readonly clickWriter: SqliteClickWriter | null,
    private readonly index: LinkIndex,
    readonly http: HttpServer,
    readonly statsRetention: StatsRetention,
    /** Detailed analytics (null for an in-memory SQLite database, which its worker could not open). */
    readonly capture: ClickCapture | null,
  ) {}

  /** Everything up to (not including) listening. */
  static async open(settings: Settings, log: Logger): Promise<App> {
    const startedAt = Date.now();
    const geoIp = settings.geoipDatabase ? await openGeoIp(settings.geoipDatabase) : null;
    const dbStats = new DbStats();
    const store = openStore(settings.database, {
      onIdleError: (err) =>
        log.warn(
          { err: err.message },
          "an idle database connection was closed by the server; the pool replaces it",
        ),
      onQuery: settings.metrics
        ? (operation, seconds, failed) => dbStats.observe(operation, seconds, failed)
        : undefined,
    });
    try {
      const { applied } = await migrateToLatest(store.db, store.engine);
      if (applied.length > 0) log.info({ applied }, "database migrated");

      const feed = new ChangeFeed(log);
      const changeLog = new ChangeLog(new ChangesStore(store.db, store.engine), feed, log);
      feed.attach(changeLog);
      const audit = new AuditLog();
      const configStore = new ConfigStore(store.db);
      const config = new ConfigService(configStore, feed, log, audit);
      for (const pin of settings.configPins) {
        try {
          await config.pin(pin.key, pin.value, "env");
        } catch (err) {
          throw new SettingsError(pin.variable, `invalid value for '${pin.key}': ${(err as Error).message}`);
        }
      }
      await ensureAdminCredential(
        settings,
        configStore,
        config,
        (now) => databaseUse(store.db, now),
        log,
        Date.now(),
      );
      await config.seed(Date.now());
      // Another instance (or the CLI) changed config: re-read it.
      feed.subscribe((event, from) => {
        if (event.kind === "config" && from === "remote") {
          config.reload().catch((err) => log.error({ err }, "config reload after a remote change failed"));
        }
      });
      if (isClusterWorker) changeLog.useSiblings(siblingDoorbell);
      await changeLog.start(settings.redisUrl);

      const linksStore = new LinksStore(store.db, store.engine);
      const redirectStore = new RedirectStore(store.db, store.engine, store.sqlite);
      const linkRules = new LinkWriteRules(config);
      const links = new LinkService(linksStore, linkRules, feed, audit);
      const batches = new LinkBatches(linksStore, linkRules, feed, audit);
      const cache = new LinkCache();
      cache.follow(feed);
      const index = new LinkIndex(
        redirectStore,
        {
          rebuildIntervalSeconds: () => config.get("cache.bloom_rebuild_interval"),
          maxBytes: settings.linkIndexBytes,
          // A restarted instance serves the links the index does not hold from memory too, while the cache has
          // room, instead of sending their first visits to the database one by one.
          overflow: {
            room: () => cache.room,
            add: (code, link) => cache.set(code, toCached(code, link)),
          },
        },
        log,
      );
      index.follow(feed);
      const redirectStats = new RedirectStats();
      const httpStats = new HttpStats();
      // A SQLite file gets its click writes from a worker thread; the other engines' writes are already async.
      const clickWriter =
        store.sqlite && store.sqlite.name !== ":memory:" ? new SqliteClickWriter(store.sqlite) : null;
      const clicks = new ClickBuffer(
        clickWriter ?? redirectStore,
        {
          intervalMs: () => config.get("click.flush_interval") * 1000,
          threshold: () => config.get("click.max_clicks_before_flush"),
          keepStats: () => config.get("analytics.enable_auto_rollup"),
        },
        log,
      );
      feed.subscribe((event) => {
        if (event.kind === "config" && event.keys.includes("click.flush_interval")) clicks.schedule();
      });

      const sessions = new SessionTokens(config);
      const bootstrap = {
        keys: settings.bootstrapKeys,
        scopes: settings.bootstrapScopes,
        expiresAt: settings.bootstrapExpiresAt,
      };
      const keysStore = new KeysStore(store.db);
      const keys = new KeyService(keysStore, feed, bootstrap, audit);
      const keyVerifier = new ApiKeyVerifier(keysStore, feed, log);
      const analyticsStore = new AnalyticsStore(store.db);
      const analyticsSettings = {
        hourlyDays: () => config.get("analytics.hourly_retention_days"),
        dailyDays: () => config.get("analytics.daily_retention_days"),
        uniqueVisitors: () => config.get("analytics.unique_visitors"),
      };
      const capture =
        store.sqlite?.name === ":memory:"
          ? null
          : ClickCapture.start(
              { ...settings.database, geoip: settings.geoipDatabase, stream: settings.analyticsStream },
              log,
            );
      const configureCapture = () =>
        capture?.configure(
          {
            enabled: config.get("analytics.enable_detailed_logging"),
            sampleRate: config.get("analytics.sample_rate"),
            respectDnt: config.get("analytics.respect_dnt"),
            optOutParam: config.get("analytics.disable_track_param"),
          },
          {
            anonymizeIp: config.get("analytics.anonymize_ip"),
            storeIp: config.get("analytics.enable_ip_logging"),
            geo: config.get("analytics.enable_geo_lookup"),
            storeReferrer: config.get("analytics.store_referrer") as ReferrerStorage,
            recordBots: config.get("analytics.record_bots"),
            ignoreIps: config.get("analytics.ignore_ips"),
            uniqueVisitors: config.get("analytics.unique_visitors"),
          },
        );
      configureCapture();
      feed.subscribe((event) => {
        if (event.kind === "config" && event.keys.some((key) => key.startsWith("analytics.")))
          configureCapture();
      });
      const clickEvents = new ClickEventsStore(store.db, store.engine);
      const statsRetention = new StatsRetention(
        analyticsStore,
        clickEvents,
        {
          ...analyticsSettings,
          logDays: () => config.get("analytics.log_retention_days"),
          maxLogRows: () => config.get("analytics.max_log_rows"),
          maxRowsAction: () => config.get("analytics.max_rows_action") as "cleanup" | "stop",
        },
        (full) => capture?.setFull(full),
        log,
      );
      const provisioner = new Provisioner(
        store,
        { store: linksStore, rules: linkRules, feed },
        { store: keysStore, feed },
        config,
        audit,
        log,
      );
      const readiness = { ready: false, provisioned: true };
      if (settings.provisionFile) {
        readiness.provisioned = await provision(provisioner, settings.provisionFile, log);
      }
      const registry = settings.metrics
        ? createRegistry({
            redirect: redirectStats,
            http: httpStats,
            db: dbStats,
            feed: changeLog.stats,
            clicks: () => ({ buffered: clicks.size, ...clicks.stats }),
            ...(capture && {
              events: () => ({
                pending: capture.pending,
                recorded: capture.stats.recorded,
                written: capture.stats.written,
                failedWrites: capture.stats.failedWrites,
                dropped: capture.stats.dropped,
                stream: capture.stats.stream,
              }),
            }),
            cache: () => cache.sizes(),
            filter: () => index.status(),
          })
        : null;
      const throttles = isClusterWorker ? clusterThrottles : localThrottles;
      const http = await buildServer({
        log,
        throttles,
        httpStats: settings.metrics ? httpStats : null,
        metrics: !registry
          ? null
          : isClusterWorker
            ? clusterMetrics(registry)
            : async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
        codeFilterReady: () => index.status().ready,
        feed,
        config,
        sessions,
        links,
        batches,
        bootstrap,
        keys,
        keyVerifier,
        audit: new AuditStore(store.db),
        analytics: {
          queries: new AnalyticsQueries(analyticsStore, clickEvents, analyticsSettings),
          erasure: new AnalyticsErasure(analyticsStore, clickEvents, audit),
        },
        engine: store.engine,
        startedAt,
        isReady: () => readiness.ready && readiness.provisioned,
        provisioner,
        countLinks: () => redirectStore.count(),
        geoIpFiles: geoIp?.files ?? [],
        feedStatus: () => changeLog.status(),
        trustedProxies: settings.trustedProxies,
        unixSocket: settings.unixSocket !== null,
        redirect: createRedirectHandler({
          index,
          cache,
          stats: redirectStats,
          clicks,
          events: capture ?? NO_RECORDING,
          lookup: (code) => redirectStore.lookup(code),
          claimClick: (code) => redirectStore.claimClick(code, config.get("analytics.enable_auto_rollup")),
          verifyPassword,
          // 5 wrong passwords per client and link, then one try every 10 s.
          passwordAttempts: throttles("link-password", 0.1, 5),
          robotsTxt: () => robotsTxt(redirectStore),
          permanentCacheSeconds: () => config.get("features.permanent_redirect_cache_seconds"),
          country: geoIp?.country,
          publicQr: () => config.get("features.enable_public_qr"),
          publicBaseUrl: () => config.get("features.public_base_url"),
          defaultUrl: () => config.get("features.default_url"),
          panelPath: () =>
            config.get("features.enable_admin_panel") ? `${config.get("routes.frontend_prefix")}/` : null,
          redirectStatus: () => Number(config.get("features.default_redirect_status")),
          utmPassthrough: () => config.get("utm.enable_passthrough"),
          trackClicks: () => config.get("click.enable_tracking"),
          log,
        }),
      });
      return new App(
        readiness,
        settings,
        log,
        store,
        config,
        changeLog,
        clicks,
        clickWriter,
        index,
        http,
        statsRetention,
        capture,
      );
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
  }

  /** Starts listening; returns the address (URL or socket path). */
  async listen(): Promise<string> {
    const { host, port, unixSocket } = this.settings;
    if (unixSocket) {
      // A stale socket file is removed first; cluster workers share the primary's socket, which removed it.
      if (!isClusterWorker) rmSync(unixSocket, { force: true });
      await this.http.listen({ path: unixSocket });
    } else {
      await this.http.listen({ host, port });
    }
    this.clicks.start();
    this.index.start();
    this.statsRetention.start();
    this.capture?.start();
    this.readiness.ready = true;
    const address = this.http.server.address();
    const where =
      typeof address === "string" || address === null
        ? String(address ?? unixSocket)
        : `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
    this.log.info({ address: where, engine: this.store.engine }, "jmp is listening");
    return where;
  }

  /**
   * Graceful stop: no new requests, in-flight ones get `HTTP_DRAIN_MS` to finish (then their connections are
   * closed), buffered clicks are written, the database is closed. Resolves with the number of clicks that could
   * not be written (0 normally); main.ts bounds the whole stop and exits non-zero when clicks were lost.
   */
  async close(): Promise<{ lostClicks: number; lostEvents: number }> {
    this.readiness.ready = false;
    await this.changeLog.stop();
    await this.index.stop();
    await this.statsRetention.stop();
    const drained = this.http.close();
    const timer = setTimeout(() => this.http.server.closeAllConnections(), HTTP_DRAIN_MS);
    await drained;
    clearTimeout(timer);
    const lostClicks = await this.clicks.stop();
    await this.clickWriter?.close();
    const lostEvents = (await this.capture?.stop()) ?? 0;
    await this.store.close().catch((err: unknown) => this.log.warn({ err }, "closing the database failed"));
    if (lostClicks > 0) {
      this.log.error(
        { clicks: lostClicks },
        `${lostClicks} buffered clicks could not be written and are lost`,
      );
    }
    this.log.info("jmp stopped");
    return { lostClicks, lostEvents };
  }

  /**
   * Writes buffered click counts and analytics events now, without waiting for the flush interval (SIGUSR2:
   * before a backup, or at the end of a benchmark round). A write that fails keeps its clicks for the next one.
   */
  async flush(): Promise<void> {
    await Promise.all([this.clicks.flush(), this.capture?.flush()]);
  }

  /** Clicks counted but not yet written (what a stop cut short would lose). */
  get bufferedClicks(): number {
    return this.clicks.unwritten;
  }
}

/** How long a stop waits for in-flight requests before it closes their connections. */
const HTTP_DRAIN_MS = 3_000;

/**
 * Applies the provisioning file. An unreadable or invalid file, or one that cannot be applied, leaves the
 * instance running but not ready (`/health/ready` answers 503), with every error logged: a bad deploy never
 * takes traffic, and never half-applies.
 */
async function provision(provisioner: Provisioner, file: string, log: Logger): Promise<boolean> {
  try {
    const doc = parseDocument(await readFile(file, "utf8"));
    const result = await provisioner.apply(doc, {
      owner: "file",
      dryRun: false,
      principal: { kind: "system", what: "provision", scopes: ["admin"] },
      by: internalContext("system:provision"),
    });
    log.info(
      { file, ...result.summary },
      result.applied ? "provisioning file applied" : "provisioning file: no changes",
    );
    return true;
  } catch (err) {
    if (err instanceof AppError) {
      log.error(
        { file, errors: err.fields ?? [] },
        `provisioning file rejected, instance not ready: ${err.message}`,
      );
    } else {
      log.error({ file, err }, "provisioning file could not be applied, instance not ready");
    }
    return false;
  }
}
