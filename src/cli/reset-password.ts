/**
 * `jmp reset-password`: sets the admin password directly in the database (running servers pick it up within
 * seconds, no restart). The password comes from stdin or a file, never from the command line, where it would
 * land in shell history and `ps` output.
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { pino } from "pino";
import { MIN_PASSWORD_LENGTH } from "../util/password.js";
import { ConfigService } from "../config/service.js";
import { AuditLog, internalContext } from "../audit/log.js";
import { ChangeFeed } from "../events/feed.js";
import { ChangeLog } from "../events/transport.js";
import { readSettings } from "../settings.js";
import { ConfigStore } from "../store/config-store.js";
import { openExistingStore } from "./database.js";
import { CliError } from "./errors.js";
import { ChangesStore } from "../store/changes-store.js";

/**
 * A secret from a file, a hidden TTY prompt (asked twice when it sets something: `confirm`), or stdin.
 */
export async function readSecret(file: string | undefined, prompt: string, confirm = true): Promise<string> {
  if (file !== undefined) return readFileSync(file, "utf8").replace(/\r?\n$/, "");
  if (process.stdin.isTTY) {
    const first = await promptHidden(prompt);
    if (!confirm) return first;
    const second = await promptHidden("Repeat: ");
    if (first !== second) throw new CliError("the two entries differ");
    return first;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

async function promptHidden(prompt: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const output = rl as unknown as { _writeToOutput: (s: string) => void };
  process.stderr.write(prompt);
  output._writeToOutput = () => {};
  try {
    return await new Promise<string>((resolve) => rl.question("", resolve));
  } finally {
    rl.close();
    process.stderr.write("\n");
  }
}

export async function resetPassword(options: { passwordFile?: string }): Promise<void> {
  const settings = readSettings();
  if (settings.adminPassword !== null) {
    throw new CliError("the admin password is pinned by JMP_ADMIN_PASSWORD; change that variable instead");
  }
  const password = await readSecret(options.passwordFile, "New admin password: ");
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw new CliError(`the password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  const store = await openExistingStore(settings);
  try {
    // Publishing through the change log tells running servers to re-read the config at once.
    const log = pino({ level: "silent" });
    const feed = new ChangeFeed(log);
    feed.attach(new ChangeLog(new ChangesStore(store.db, store.engine), feed, log));
    const config = new ConfigService(new ConfigStore(store.db), feed, log, new AuditLog());
    await config.seed(Date.now());
    await config.set("api.admin_token", password, internalContext("cli"), Date.now());
  } finally {
    await store.close();
  }
}
