/**
 * Makes sure a fresh instance can be managed without a human step:
 * - `JMP_ADMIN_PASSWORD` pins the admin password (hashed here when given in plain text);
 * - otherwise, when no admin password is stored and no bootstrap API key is configured, a password is
 *   generated, its hash stored, and the password shown once — on stdout, or written to
 *   `JMP_INITIAL_SECRETS_FILE` (mode 0600, never overwritten). Of several instances starting together on an
 *   empty database exactly one generates it.
 */

import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import type { Logger } from "pino";
import type { ConfigService } from "../config/service.js";
import type { Settings } from "../settings.js";
import { SettingsError } from "../settings.js";
import type { ConfigStore } from "../store/config-store.js";
import { hashPassword } from "./password.js";

export async function ensureAdminCredential(
  settings: Settings,
  store: ConfigStore,
  config: ConfigService,
  log: Logger,
  now: number,
): Promise<void> {
  if (settings.adminPassword !== null) {
    await config.pin("api.admin_token", settings.adminPassword, "env");
    log.info("admin password is set by JMP_ADMIN_PASSWORD");
    return;
  }
  if (settings.bootstrapKeys.length > 0) return;
  const stored = await store.read("api.admin_token");
  if (stored !== undefined && stored !== "") return;

  const file = settings.initialSecretsFile;
  if (file !== null && existsSync(file)) {
    throw new SettingsError(
      "JMP_INITIAL_SECRETS_FILE",
      `${file} already exists; remove it or choose another path`,
    );
  }
  const password = randomBytes(18).toString("base64url");
  if (!(await store.claimEmpty("api.admin_token", await hashPassword(password), now))) return;

  if (file !== null) {
    writeFileSync(file, `JMP_ADMIN_PASSWORD=${password}\n`, { mode: 0o600, flag: "wx" });
    log.warn({ file }, "generated the initial admin password and wrote it to JMP_INITIAL_SECRETS_FILE");
    return;
  }
  process.stdout.write(
    [
      "",
      "  jmp: no admin credential was configured, so one was generated.",
      `  Admin password: ${password}`,
      "  It is shown only this once. Change it with `jmp reset-password`, or set JMP_ADMIN_PASSWORD.",
      "",
      "",
    ].join("\n"),
  );
  log.warn("generated the initial admin password (printed once on stdout)");
}
