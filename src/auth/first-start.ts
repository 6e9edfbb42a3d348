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
import { SettingsError } from "../errors.js";
import type { ConfigStore } from "../store/config-store.js";
import type { DatabaseUse } from "../store/usage.js";
import { hashPassword } from "../util/password.js";

/** The start-up settings first start reads (a subset of `Settings`, so auth does not depend on settings.ts). */
export interface FirstStartSettings {
  adminPassword: string | null;
  bootstrapKeys: readonly unknown[];
  bootstrapExpiresAt: number | null;
  initialSecretsFile: string | null;
}

export async function ensureAdminCredential(
  settings: FirstStartSettings,
  store: ConfigStore,
  config: ConfigService,
  use: (now: number) => Promise<DatabaseUse>,
  log: Logger,
  now: number,
): Promise<void> {
  if (settings.adminPassword !== null) {
    try {
      await config.pin("api.admin_token", settings.adminPassword, "env");
    } catch (err) {
      throw new SettingsError("JMP_ADMIN_PASSWORD", (err as Error).message);
    }
    log.info("admin password is set by JMP_ADMIN_PASSWORD");
  }
  const stored = await store.read("api.admin_token");
  const hasPassword = settings.adminPassword !== null || (stored !== undefined && stored !== "");
  const bootstrapExpired = settings.bootstrapExpiresAt !== null && settings.bootstrapExpiresAt <= now;
  if (settings.bootstrapKeys.length > 0 && bootstrapExpired) {
    const expired = new Date(settings.bootstrapExpiresAt!).toISOString();
    if (!hasPassword && !(await use(now)).hasActiveKey) {
      throw new SettingsError(
        "JMP_BOOTSTRAP_API_KEY_EXPIRES_AT",
        `is ${expired}, in the past: the bootstrap key would be refused and no other admin credential exists. ` +
          "Set a later time, or set JMP_ADMIN_PASSWORD",
      );
    }
    log.error(
      { expired_at: expired },
      "JMP_BOOTSTRAP_API_KEY_EXPIRES_AT is in the past: the bootstrap key is refused (other credentials still work)",
    );
  }
  if (hasPassword || settings.bootstrapKeys.length > 0) return;

  // No credential at all. A fresh database gets a generated password; one that holds data (its bootstrap key
  // was removed, say) must not have a new admin password printed into its logs.
  if ((await use(now)).hasData) {
    log.error(
      "no admin credential is configured and this database already holds data, so no password is generated. " +
        "Set JMP_ADMIN_PASSWORD (or JMP_ADMIN_PASSWORD_FILE), or JMP_BOOTSTRAP_API_KEY, or run `jmp reset-password` " +
        "with the same JMP_DATABASE_URL",
    );
    return;
  }

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
