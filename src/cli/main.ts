#!/usr/bin/env node
/**
 * The `jmp` command. With no subcommand it serves (like Shortlinker). Exit codes: 0 success, 1 failure,
 * 2 invalid settings or usage.
 */
import { Command } from "commander";
import { pino } from "pino";
import { serve } from "../main.js";
import { readSettings, SettingsError } from "../settings.js";
import { openStore } from "../store/db.js";
import { migrateToLatest } from "../store/migrate.js";
import { CliError, resetPassword } from "./reset-password.js";

const program = new Command()
  .name("jmp")
  .description(
    "Self-hosted short links. Settings come from JMP_* environment variables (see docs/configuration.md).",
  )
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

program
  .command("serve", { isDefault: true })
  .description("run the server (the default command)")
  .action(() => serve());

program
  .command("migrate")
  .description("apply pending database migrations and exit")
  .action(async () => {
    const settings = readSettings();
    const store = openStore(settings.database);
    try {
      const { applied } = await migrateToLatest(store.db, store.engine);
      process.stdout.write(applied.length ? `applied: ${applied.join(", ")}\n` : "database is up to date\n");
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
  .action(async (options: { passwordFile?: string }) => {
    await resetPassword(options);
    process.stdout.write("admin password updated\n");
  });

program.parseAsync().catch((err: unknown) => {
  if (err instanceof SettingsError) {
    process.stderr.write(`jmp: invalid setting: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof CliError) {
    process.stderr.write(`jmp: ${err.message}\n`);
    process.exit(1);
  }
  pino().error({ err }, "command failed");
  process.exit(1);
});
