/**
 * The `jmp` command tree: every subcommand and its options (main.ts runs it). Exit codes: 0 success, 1 failure,
 * 2 invalid settings or usage — or, for `jmp apply --detailed-exitcode`, changes pending or made.
 */
import { Command } from "commander";
import { serve } from "../main.js";
import { JMP_VERSION } from "../version.js";
import { definitionOf } from "../config/registry.js";
import { readSettings } from "../settings.js";
import { openStore } from "../store/db.js";
import { migrateToLatest } from "../store/migrate.js";
import { registerAnalyticsCommands } from "./analytics.js";
import { registerApplyCommands } from "./apply.js";
import { backup, restore } from "./backup.js";
import { configBackend, exportConfig, importConfig, type ConfigBackend } from "./config.js";
import { describeDatabase } from "./database.js";
import { CliError } from "./errors.js";
import { registerKeyCommands } from "./keys.js";
import { credentialsPath, DEFAULT_URL, login, type LoginOptions, logout } from "./login.js";
import { json, printTable, writeOutput } from "./output.js";
import { readSecret, resetPassword } from "./reset-password.js";

/** Runs a config subcommand against the API (JMP_URL set) or the database, closing what it opened. */
async function withConfig(run: (backend: ConfigBackend) => Promise<void>): Promise<void> {
  const backend = await configBackend();
  try {
    await run(backend);
  } finally {
    await backend.close();
  }
}

export function buildProgram(): Command {
  const program = new Command()
    .name("jmp")
    .description(
      "Self-hosted short links. Settings come from JMP_* environment variables (see docs/configuration.md).",
    )
    .version(JMP_VERSION, "-V, --version", "print the version")
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

  program
    .command("version")
    .description("print the version")
    .option("--json", "print JSON")
    .action((options: { json?: boolean }) =>
      writeOutput(
        options.json ? json({ version: JMP_VERSION, node: process.versions.node }) : `${JMP_VERSION}\n`,
        undefined,
      ),
    );

  program
    .command("serve", { isDefault: true })
    .description("run the server (the default command)")
    .action(() => serve());

  program
    .command("migrate")
    .description("apply pending database migrations and exit")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }) => {
      const settings = readSettings();
      process.stderr.write(`jmp: database: ${describeDatabase(settings.database)}\n`);
      const store = openStore(settings.database);
      try {
        const { applied } = await migrateToLatest(store.db, store.engine);
        if (options.json) writeOutput(json({ applied }), undefined);
        else
          writeOutput(
            applied.length ? `applied: ${applied.join(", ")}\n` : "database is up to date\n",
            undefined,
          );
      } finally {
        await store.close();
      }
    });

  program
    .command("reset-password")
    .description(
      "set the admin password (read from stdin, a TTY prompt, or --password-file); applies without a restart",
    )
    .option("--password-file <path>", "read the new password from this file")
    .option("--json", "print JSON")
    .action(async (options: { passwordFile?: string; json?: boolean }) => {
      await resetPassword(options);
      writeOutput(options.json ? json({ updated: true }) : "admin password updated\n", undefined);
    });

  program
    .command("login [url]")
    .description(
      `log in with the admin password and keep a personal API key for the CLI (URL default: JMP_URL, else ${DEFAULT_URL})`,
    )
    .option("--password-file <path>", "read the admin password from this file (else a prompt, or stdin)")
    .option("--name <name>", "the API key's name (default cli-USER-HOST-TIME)")
    .option("--scope <scope...>", "the key's scopes (default admin)")
    .option("--expires-in <duration>", "the key's lifetime, e.g. 90d (default: no expiry)")
    .option("--json", "print JSON (without the token)")
    .action(async (url: string | undefined, options: LoginOptions & { json?: boolean }) => {
      const stored = await login(url, options);
      const summary = { url: stored.url, key_id: stored.key_id, name: stored.name, scopes: stored.scopes };
      writeOutput(
        options.json
          ? json({ ...summary, file: credentialsPath() })
          : `logged in to ${stored.url} with API key ${stored.name} (${stored.scopes.join(", ")}); ` +
              `saved in ${credentialsPath()}\n`,
        undefined,
      );
    });

  program
    .command("logout")
    .description("revoke the API key `jmp login` made and forget it")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }) => {
      const result = await logout();
      if (options.json) return writeOutput(json(result ?? { file: null, revoked: false }), undefined);
      if (!result) return writeOutput("not logged in\n", undefined);
      writeOutput(
        result.revoked ? "API key revoked; logged out\n" : "the key was no longer valid; logged out\n",
        undefined,
      );
    });

  program
    .command("backup <file>")
    .description("copy the SQLite database to FILE, consistently, while the server runs (online backup API)")
    .option("--force", "overwrite FILE")
    .option("--json", "print JSON")
    .action(async (file: string, options: { force?: boolean; json?: boolean }) => {
      const result = await backup(file, options);
      writeOutput(
        options.json
          ? json(result)
          : `backed up to ${result.file} (${result.bytes} bytes, ${result.pages} pages)\n`,
        undefined,
      );
    });

  program
    .command("restore <file>")
    .description(
      "replace the SQLite database with a backup (refused while a server uses it, unless --stop-server)",
    )
    .option("--stop-server", "stop the server that uses the database (SIGTERM, graceful) before restoring")
    .option("--json", "print JSON")
    .action(async (file: string, options: { stopServer?: boolean; json?: boolean }) => {
      const result = await restore(file, options);
      if (options.json) return writeOutput(json(result), undefined);
      const kept = result.previous ? `; the previous database is kept at ${result.previous}` : "";
      writeOutput(
        `restored ${result.restored} into ${result.into}${kept}. Start the server again.\n`,
        undefined,
      );
    });

  const config = program
    .command("config")
    .description(
      "runtime configuration (through the API when JMP_URL is set, else directly on the database)",
    );

  config
    .command("list")
    .description("every key with its value and source")
    .option("--json", "print JSON")
    .action((options: { json?: boolean }) =>
      withConfig(async (backend) => {
        const items = await backend.list();
        if (options.json) return writeOutput(json(items), undefined);
        writeOutput(
          printTable([["KEY", "VALUE", "SOURCE"], ...items.map((i) => [i.key, i.value, i.source])]),
          undefined,
        );
      }),
    );

  config
    .command("get <key>")
    .description("one key")
    .option("--json", "print JSON")
    .action((key: string, options: { json?: boolean }) =>
      withConfig(async (backend) => {
        const item = await backend.get(key);
        writeOutput(options.json ? json(item) : `${item.value}\n`, undefined);
      }),
    );

  config
    .command("set <key> [value]")
    .description("set a key (the value may come from stdin or --value-file, e.g. for secrets)")
    .option("--value-file <path>", "read the value from this file")
    .option("--json", "print JSON")
    .action((key: string, value: string | undefined, options: { valueFile?: string; json?: boolean }) =>
      withConfig(async (backend) => {
        if (definitionOf(key)?.sensitive && value !== undefined) {
          throw new CliError(`${key} is a secret: give it on stdin or with --value-file, not as an argument`);
        }
        const input = value ?? (await readSecret(options.valueFile, `Value for ${key}: `));
        const item = await backend.set(key, input);
        writeOutput(options.json ? json(item) : `${item.key} = ${item.value}\n`, undefined);
      }),
    );

  config
    .command("reset <key>")
    .description("set a key back to its default")
    .option("--json", "print JSON")
    .action((key: string, options: { json?: boolean }) =>
      withConfig(async (backend) => {
        const item = await backend.reset(key);
        writeOutput(options.json ? json(item) : `${item.key} = ${item.value}\n`, undefined);
      }),
    );

  config
    .command("history <key>")
    .description("changes of a key, newest first")
    .option("--limit <n>", "how many (1-100)", "20")
    .option("--json", "print JSON")
    .action((key: string, options: { limit: string; json?: boolean }) =>
      withConfig(async (backend) => {
        const limit = Math.min(100, Math.max(1, Number.parseInt(options.limit, 10) || 20));
        const entries = await backend.history(key, limit);
        if (options.json) return writeOutput(json(entries), undefined);
        const rows = entries.map((e) => [e.changed_at, e.changed_by ?? "", e.old_value ?? "", e.new_value]);
        writeOutput(printTable([["CHANGED_AT", "BY", "OLD", "NEW"], ...rows]), undefined);
      }),
    );

  config
    .command("export [file]")
    .description("write all keys as JSON (stdout by default); secrets only with --include-secrets (offline)")
    .option(
      "--include-secrets",
      "include the stored secrets (hashes of passwords and tokens, the JWT secret)",
    )
    .action((file: string | undefined, options: { includeSecrets?: boolean }) =>
      withConfig(async (backend) => {
        writeOutput(json(await exportConfig(backend, options.includeSecrets === true)), file);
      }),
    );

  config
    .command("import <file>")
    .description("set every key in an export file (validated as a whole first)")
    .option("--json", "print JSON")
    .action((file: string, options: { json?: boolean }) =>
      withConfig(async (backend) => {
        const changed = await importConfig(backend, file);
        writeOutput(options.json ? json({ changed }) : `${changed} key(s) changed\n`, undefined);
      }),
    );

  registerKeyCommands(program);
  registerAnalyticsCommands(program);
  registerApplyCommands(program);
  return program;
}
