/**
 * `jmp keys …`, `jmp whoami` and `jmp bootstrap check`. Key management goes through the API of a running server
 * (so it is scoped and recorded like any other write); `generate`, `hash` and `bootstrap check` work offline.
 * Tokens are printed once, or written to a file with `--secret-file`; they are never read from arguments.
 */
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { generateApiKey, sha256Hex } from "../auth/api-key-format.js";
import type { ApiKey } from "../client/index.js";
import { readSettings } from "../settings.js";
import { requireClient } from "./api.js";
import { json, printTable, writeOutput } from "./output.js";
import { readSecret } from "./reset-password.js";

function keyTable(keys: ApiKey[]): string {
  return printTable([
    ["ID", "NAME", "SCOPES", "EXPIRES", "LAST USED", "SOURCE"],
    ...keys.map((k) => [
      k.id,
      k.name,
      k.scopes.join(","),
      k.expires_at ?? "never",
      k.last_used_at ?? "-",
      k.source,
    ]),
  ]);
}

function emitToken(token: string, secretFile: string | undefined): void {
  if (secretFile) {
    writeFileSync(secretFile, `${token}\n`, { mode: 0o600, flag: "wx" });
    process.stderr.write(`token written to ${secretFile}\n`);
  } else {
    process.stdout.write(`${token}\n`);
  }
}

export function registerKeyCommands(program: Command): void {
  const keys = program
    .command("keys")
    .description("API keys (through the API of a running server: JMP_URL, JMP_TOKEN)");

  keys
    .command("generate")
    .description(
      "print a new jmp_ token and its sha256: form (offline; for PUT /keys/by-name or JMP_BOOTSTRAP_API_KEY)",
    )
    .option("--json", "print JSON")
    .action((options: { json?: boolean }) => {
      const token = generateApiKey();
      const digest = `sha256:${sha256Hex(token)}`;
      writeOutput(options.json ? json({ token, sha256: digest }) : `${token}\n${digest}\n`, undefined);
    });

  keys
    .command("hash")
    .description("read a token on stdin and print its sha256: form (offline)")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }) => {
      const digest = `sha256:${sha256Hex(await readSecret(undefined, "Token: "))}`;
      writeOutput(options.json ? json({ sha256: digest }) : `${digest}\n`, undefined);
    });

  keys
    .command("create")
    .description("create a key; prints its token once (or writes it to --secret-file)")
    .requiredOption("--name <name>", "unique name")
    .requiredOption("--scope <scope...>", "one or more scopes")
    .option("--expires-in <duration>", "e.g. 90d")
    .option("--description <text>")
    .option("--secret-file <path>", "write the token here (mode 0600) instead of stdout")
    .option("--json", "print the key as JSON (the token included unless --secret-file)")
    .action(
      async (options: {
        name: string;
        scope: string[];
        expiresIn?: string;
        description?: string;
        secretFile?: string;
        json?: boolean;
      }) => {
        const { data: created } = await requireClient().keys.create({
          name: options.name,
          scopes: options.scope,
          ...(options.expiresIn ? { expires_in: options.expiresIn } : {}),
          ...(options.description ? { description: options.description } : {}),
        });
        if (options.json && !options.secretFile) return writeOutput(json(created), undefined);
        const { token, ...key } = created;
        if (options.json) writeOutput(json(key), undefined);
        else process.stderr.write(`created ${key.id} (${key.name}: ${key.scopes.join(",")})\n`);
        emitToken(token, options.secretFile);
      },
    );

  keys
    .command("list")
    .option("--include-revoked")
    .option("--json", "print JSON")
    .action(async (options: { includeRevoked?: boolean; json?: boolean }) => {
      const list = await requireClient().keys.list({ includeRevoked: options.includeRevoked === true });
      writeOutput(options.json ? json(list) : keyTable(list), undefined);
    });

  keys
    .command("show <id>")
    .option("--json", "print JSON")
    .action(async (id: string, options: { json?: boolean }) => {
      const { data: key } = await requireClient().keys.get(id);
      writeOutput(options.json ? json(key) : keyTable([key]), undefined);
    });

  keys
    .command("revoke <id>")
    .option("--json", "print JSON")
    .action(async (id: string, options: { json?: boolean }) => {
      await requireClient().keys.revoke(id);
      writeOutput(options.json ? json({ revoked: id }) : `revoked ${id}\n`, undefined);
    });

  keys
    .command("rotate <id>")
    .description("issue a new token; the old one keeps working for --grace seconds")
    .option("--grace <seconds>", "grace period in seconds (at most 86400)", "0")
    .option("--secret-file <path>", "write the new token here (mode 0600) instead of stdout")
    .option("--json", "print the key as JSON (the token included unless --secret-file)")
    .action(async (id: string, options: { grace: string; secretFile?: string; json?: boolean }) => {
      const rotated = await requireClient().keys.rotate(id, Number.parseInt(options.grace, 10) || 0);
      if (options.json && !options.secretFile) return writeOutput(json(rotated), undefined);
      const { token, ...key } = rotated;
      if (options.json) writeOutput(json(key), undefined);
      emitToken(token, options.secretFile);
    });

  program
    .command("whoami")
    .description("who the configured credential is (actor, scopes)")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }) => {
      const me = await requireClient().auth.whoami();
      writeOutput(
        options.json
          ? json(me)
          : `${me.actor}${me.key_id ? ` ${me.key_id}` : ""}${me.name ? ` (${me.name})` : ""}: ${me.scopes.join(",")}\n`,
        undefined,
      );
    });

  program
    .command("bootstrap")
    .description("bootstrap credentials")
    .command("check")
    .description(
      "validate the bootstrap settings (JMP_BOOTSTRAP_API_KEY*, JMP_ADMIN_PASSWORD); non-zero exit on a problem",
    )
    .option("--json", "print JSON")
    .action((options: { json?: boolean }) => {
      const settings = readSettings();
      const keys = settings.bootstrapKeys.map((k) => k.fingerprint);
      const expired = settings.bootstrapExpiresAt !== null && settings.bootstrapExpiresAt <= Date.now();
      if (options.json) {
        writeOutput(
          json({
            bootstrap_keys: settings.bootstrapKeys.map((k) => ({
              fingerprint: k.fingerprint,
              standard_format: !k.nonStandardFormat,
            })),
            scopes: settings.bootstrapScopes,
            expires_at:
              settings.bootstrapExpiresAt === null
                ? null
                : new Date(settings.bootstrapExpiresAt).toISOString(),
            expired,
            admin_password_pinned: settings.adminPassword !== null,
          }),
          undefined,
        );
        if (expired) process.exitCode = 1;
        return;
      }
      const lines = [
        `bootstrap API key: ${keys.length ? `fingerprints ${keys.join(", ")}` : "not set"}`,
        `  scopes: ${settings.bootstrapScopes.join(",")}`,
        `  expires: ${settings.bootstrapExpiresAt === null ? "never" : new Date(settings.bootstrapExpiresAt).toISOString()}`,
        `admin password: ${settings.adminPassword === null ? "not pinned" : "pinned by the environment"}`,
      ];
      if (expired) {
        process.stderr.write(
          "jmp: JMP_BOOTSTRAP_API_KEY_EXPIRES_AT is in the past: the bootstrap key is refused\n",
        );
        process.exitCode = 1;
      }
      for (const key of settings.bootstrapKeys) {
        if (key.nonStandardFormat)
          lines.push(
            `  warning: key ${key.fingerprint} is not in the jmp_ format (secret scanners will miss it)`,
          );
      }
      writeOutput(`${lines.join("\n")}\n`, undefined);
    });
}
