/**
 * `jmp serve`: read settings, open the app, listen, and shut down gracefully on SIGTERM/SIGINT (buffered clicks
 * are written before exit). A second signal during shutdown exits at once. SIGUSR2 writes buffered clicks and
 * analytics events at once and goes on serving. With `JMP_WORKERS` > 1 this process
 * becomes the cluster primary (cluster.ts) and every worker runs `serve` again as a single instance.
 */
import { setFlagsFromString } from "node:v8";
import { App } from "./app.js";
import { isClusterWorker, runPrimary, signalWorkers } from "./cluster.js";
import { createLogger } from "./log.js";
import { SettingsError } from "./errors.js";
import { readSettings, unknownVariables } from "./settings.js";
import { markServing } from "./store/sqlite-server-mark.js";
import { onFlushSignal } from "./flush-signal.js";
import { settleTickObjectShape } from "./tick-shapes.js";

/** A graceful stop takes at most this long (documented in docs/deployment.md; Kubernetes waits 30 s). */
export const SHUTDOWN_TIMEOUT_MS = 10_000;

export async function serve(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let settings: ReturnType<typeof readSettings>;
  try {
    settings = readSettings(env);
  } catch (err) {
    return failStartup(err);
  }
  const log = createLogger(settings.logLevel, settings.logFormat);
  // A cluster primary passes SIGUSR2 on (a signal to the process group reaches the workers twice; the second
  // write finds nothing or little to do).
  let app: App | undefined;
  onFlushSignal(() => {
    if (settings.workers > 1 && !isClusterWorker) return signalWorkers("SIGUSR2");
    log.info({ signal: "SIGUSR2" }, "writing buffered clicks and events now");
    void app?.flush();
  });
  disablePretenuring();
  settleTickObjectShape();
  limitHeapGrowth(settings.heapGrowthPercent);
  for (const name of unknownVariables(env))
    log.warn({ variable: name }, "unknown JMP_ variable (typo?); ignored");
  for (const key of settings.bootstrapKeys) {
    log.info({ fingerprint: key.fingerprint }, "bootstrap API key configured");
    if (key.nonStandardFormat) {
      log.warn(
        { fingerprint: key.fingerprint },
        "bootstrap API key is not in the jmp_ format; secret scanners will not recognise it",
      );
    }
  }

  // `jmp restore` refuses while this mark names a live process (one mark per server: the primary's).
  if (settings.database.engine === "sqlite" && !isClusterWorker) markServing(settings.database.location);

  if (settings.workers > 1 && !isClusterWorker) {
    try {
      const code = await runPrimary(
        settings,
        log,
        async () => void (await (await App.open(settings, log)).close()),
      );
      process.exit(code);
    } catch (err) {
      if (err instanceof SettingsError) return failStartup(err);
      log.fatal({ err }, "start-up failed");
      process.exit(1);
    }
  }

  try {
    app = await App.open(settings, log);
    await app.listen();
  } catch (err) {
    if (err instanceof SettingsError) return failStartup(err);
    log.fatal({ err }, "start-up failed");
    process.exit(1);
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A worker gets the signal twice (its process group, then the primary); the primary decides on force.
      if (isClusterWorker) return;
      log.warn({ signal }, "second signal: exiting immediately");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, "shutting down");
    // A stop is bounded: an orchestrator's SIGKILL would otherwise come first and lose every buffered click
    // without a word. What could not be written is logged with its count, and the exit code says so.
    setTimeout(() => {
      const lost = app.bufferedClicks;
      log.error(
        { clicks: lost, timeout_ms: SHUTDOWN_TIMEOUT_MS },
        `shutdown did not finish in time; ${lost} buffered clicks are lost`,
      );
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    app.close().then(
      ({ lostClicks, lostEvents }) => process.exit(lostClicks + lostEvents > 0 ? 1 : 0),
      (err) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

/**
 * Turns off V8's allocation-site pretenuring before the cache fill and the first request. Pretenuring moves an
 * allocation site's objects straight into the old generation once most of them survived a scavenge. Start-up
 * and the first burst of traffic can show that for sites the request path uses (86–100 % survival while
 * 100 000 cache entries are built and the code is not yet optimised), and the decision then sticks: per-request
 * objects are born old, die there, and pin the young objects they point to, so about two thirds of every
 * scavenge survives, scavenges take ~8 ms instead of ~0.5 and the process needs a full GC every second. It
 * happened to about one fresh process in six (2 of 12 interleaved, ~1 in 7 over 46 runs), which then ran its
 * whole life at ~2× the CPU per request. With the flag off: 0 of 39 runs, and no cost in the good case
 * (100 000-link misses: 19.5 µs of CPU per request against 20.0). docs/performance.md, fourth round.
 * Read at each scavenge, so setting it at run time works (checked with the flag set at start and at run time).
 */
function disablePretenuring(): void {
  setFlagsFromString("--no-allocation-site-pretenuring");
}

/**
 * Sets how far V8 lets the old generation grow past what the last major GC kept (settings.ts explains the
 * default). V8 reads this flag at each major GC, so setting it once the process runs takes effect; heap limits,
 * by contrast, are fixed at start and only `--max-old-space-size` in NODE_OPTIONS changes them. 0 leaves V8's
 * own heuristic (and any `--heap-growing-percent` given in NODE_OPTIONS) in place.
 */
function limitHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}

function failStartup(err: unknown): never {
  const message = err instanceof SettingsError ? err.message : String((err as Error)?.message ?? err);
  process.stderr.write(`jmp: invalid setting: ${message}\n`);
  process.exit(2);
}
