/**
 * `jmp serve`: read settings, open the app, listen, and shut down gracefully on SIGTERM/SIGINT (buffered clicks
 * are written before exit). A second signal during shutdown exits at once.
 */
import { App } from "./app.js";
import { createLogger } from "./log.js";
import { readSettings, SettingsError, unknownVariables } from "./settings.js";

export async function serve(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let settings: ReturnType<typeof readSettings>;
  try {
    settings = readSettings(env);
  } catch (err) {
    return failStartup(err);
  }
  const log = createLogger(settings.logLevel, settings.logFormat);
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

  let app: App;
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
      log.warn({ signal }, "second signal: exiting immediately");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, "shutting down");
    app.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

function failStartup(err: unknown): never {
  const message = err instanceof SettingsError ? err.message : String((err as Error)?.message ?? err);
  process.stderr.write(`jmp: invalid setting: ${message}\n`);
  process.exit(2);
}
