/**
 * `jmp apply`, `jmp export` and `jmp links …`: the online commands for declared state and links, all through the
 * typed client. `apply` prints its plan the way `terraform plan` does; with `--detailed-exitcode` it exits 2
 * when the document changes (or would change) something, 0 when the state already matches.
 */
import { createWriteStream, readFileSync } from "node:fs";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Command } from "commander";
import type { ApplyResult, LinkFilter, LinkSort } from "../client/index.js";
import { isPeerFormat, PEER_FORMATS } from "../links/peer-import.js";
import { requireClient } from "./api.js";
import { CliError } from "./errors.js";
import { json, printTable, Progress, writeOutput } from "./output.js";
import { readSecret } from "./reset-password.js";

/** `jmp links list`'s options (the server checks the values and answers 400 for a bad one). */
interface ListOptions {
  search?: string;
  status?: string;
  tags?: string;
  tagsMode?: string;
  sort?: string;
  page: string;
  pageSize: string;
  json?: boolean;
}

/** Files above this size get a progress report while they upload. */
const PROGRESS_FROM_BYTES = 1024 * 1024;

const SIGN = { create: "+", update: "~", delete: "-" } as const;

function show(value: unknown): string {
  return value === null || value === undefined ? "(none)" : JSON.stringify(value);
}

/** The plan as a person reads it: one block per object, one line per changed field. */
export function formatPlan(result: ApplyResult): string {
  const lines: string[] = [];
  for (const change of result.changes) {
    lines.push(
      `  ${SIGN[change.action]} ${change.kind} ${change.id}${change.reason ? `  (${change.reason})` : ""}`,
    );
    for (const [field, { from, to }] of Object.entries(change.diff)) {
      lines.push(
        change.action === "create"
          ? `      ${field}: ${show(to)}`
          : `      ${field}: ${show(from)} → ${show(to)}`,
      );
    }
  }
  const { create, update, delete: remove, unchanged } = result.summary;
  const counts = `${create} to create, ${update} to update, ${remove} to delete, ${unchanged} unchanged`;
  if (result.changes.length === 0)
    lines.push(`No changes. The state matches the document (${unchanged} objects).`);
  else if (result.dry_run) lines.push("", `Plan: ${counts}. (dry run: nothing was written)`);
  else
    lines.push(
      "",
      `Apply complete: ${counts.replace(/to (create|update|delete)/g, (_, a: string) => `${a}d`)}.`,
    );
  return `${lines.join("\n")}\n`;
}

function readDocument(file: string): Buffer {
  try {
    return readFileSync(file === "-" ? 0 : file);
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

export function registerApplyCommands(program: Command): void {
  program
    .command("apply")
    .description("bring the server to the state in a document (YAML or JSON, apiVersion: jmp/v1)")
    .requiredOption("-f, --file <path>", "the document ('-' for stdin)")
    .option("--dry-run", "only print the plan")
    .option(
      "--prune",
      "delete the links and revoke the keys of this document's owner that it does not list (never objects made outside apply)",
    )
    .option("--owner <name>", "the apply owner (default: the document's metadata.owner, else 'apply')")
    .option(
      "--provisioning",
      "with --dry-run: plan the document as the server's provisioning file (JMP_PROVISION_FILE) at its next start",
    )
    .option("--detailed-exitcode", "exit 2 when there are changes (pending or made), 0 when there are none")
    .option("--json", "print the result as JSON")
    .action(
      async (options: {
        file: string;
        dryRun?: boolean;
        prune?: boolean;
        owner?: string;
        provisioning?: boolean;
        detailedExitcode?: boolean;
        json?: boolean;
      }) => {
        if (options.provisioning && !options.dryRun)
          throw new CliError("--provisioning only plans: add --dry-run");
        const text = readDocument(options.file);
        const client = requireClient();
        const progress =
          text.length >= PROGRESS_FROM_BYTES
            ? new Progress("uploading document", text.length, "bytes")
            : undefined;
        let reported = 0;
        const result = await client.apply(text.toString("utf8"), {
          dryRun: options.dryRun === true,
          ...(options.prune ? { prune: true } : {}),
          ...(options.owner ? { owner: options.owner } : {}),
          ...(options.provisioning ? { asProvisioningFile: true } : {}),
          ...(progress
            ? {
                onUpload: (sent: number) => {
                  progress.add(sent - reported);
                  reported = sent;
                },
              }
            : {}),
        });
        progress?.finish(result.dry_run ? "planned" : "applied");
        writeOutput(options.json ? json(result) : formatPlan(result), undefined);
        if (options.detailedExitcode && result.changes.length > 0) process.exitCode = 2;
      },
    );

  program
    .command("export [file]")
    .description("write the current state as an apply document (stdout by default)")
    .option("--format <format>", "yaml or json", "yaml")
    .option("--include-secrets", "include link password hashes (needs the admin scope)")
    .action(async (file: string | undefined, options: { format: string; includeSecrets?: boolean }) => {
      if (options.format !== "yaml" && options.format !== "json")
        throw new CliError("--format must be yaml or json");
      const client = requireClient();
      const includeSecrets = options.includeSecrets === true;
      const text =
        options.format === "yaml"
          ? await client.exportYaml({ includeSecrets })
          : json(await client.export({ includeSecrets }));
      writeOutput(text, file);
    });

  const links = program.command("links").description("short links (through the API: JMP_URL, JMP_TOKEN)");

  links
    .command("list")
    .option("--search <text>", "only codes or targets containing this")
    .option("--status <status>", "active, expired or disabled")
    .option("--tags <tags>", "comma-separated: links with any of them (all, with --tags-mode all)")
    .option("--tags-mode <mode>", "any or all")
    .option(
      "--sort <column>",
      "code, target, created_at, updated_at, expires_at or click_count; -column descends",
    )
    .option("--page <n>", "page number", "1")
    .option("--page-size <n>", "links per page (at most 100)", "20")
    .option("--json", "print JSON")
    .action(async (options: ListOptions) => {
      const page = await requireClient().links.list({
        ...(options.search ? { search: options.search } : {}),
        ...(options.status ? { status: options.status as LinkFilter["status"] } : {}),
        ...(options.tags ? { tags: options.tags } : {}),
        ...(options.tagsMode ? { tags_mode: options.tagsMode as LinkFilter["tags_mode"] } : {}),
        ...(options.sort ? { sort: options.sort as LinkSort } : {}),
        page: Number.parseInt(options.page, 10) || 1,
        page_size: Number.parseInt(options.pageSize, 10) || 20,
      });
      if (options.json) return writeOutput(json(page), undefined);
      const rows = page.data.map((l) => [l.code, l.target, l.expires_at ?? "never", String(l.click_count)]);
      const { page: at, total_pages, total } = page.pagination;
      writeOutput(
        printTable([["CODE", "TARGET", "EXPIRES", "CLICKS"], ...rows]) +
          `page ${at} of ${total_pages} (${total} links)\n`,
        undefined,
      );
    });

  links
    .command("get <code>")
    .option("--json", "print JSON")
    .action(async (code: string, options: { json?: boolean }) => {
      const { data, etag } = await requireClient().links.get(code);
      if (options.json) return writeOutput(json({ ...data, etag }), undefined);
      writeOutput(
        printTable([
          ["CODE", "TARGET", "EXPIRES", "CLICKS", "PASSWORD"],
          [
            data.code,
            data.target,
            data.expires_at ?? "never",
            String(data.click_count),
            data.password ? "yes" : "no",
          ],
        ]),
        undefined,
      );
    });

  links
    .command("set <code> <target>")
    .description("create the link, or replace it (idempotent: PUT ?upsert=true)")
    .option("--expires-at <time>", "RFC 3339 time or a duration such as 30d")
    .option("--password-file <path>", "protect the link with the password in this file")
    .option("--json", "print JSON")
    .action(
      async (
        code: string,
        target: string,
        options: { expiresAt?: string; passwordFile?: string; json?: boolean },
      ) => {
        const password = options.passwordFile ? await readSecret(options.passwordFile, "") : undefined;
        const { data } = await requireClient().links.put(
          code,
          {
            target,
            ...(options.expiresAt ? { expires_at: options.expiresAt } : {}),
            ...(password ? { password } : {}),
          },
          { upsert: true },
        );
        writeOutput(options.json ? json(data) : `${data.code} → ${data.target}\n`, undefined);
      },
    );

  links
    .command("delete <code>")
    .option("--json", "print JSON")
    .action(async (code: string, options: { json?: boolean }) => {
      await requireClient().links.delete(code);
      writeOutput(options.json ? json({ deleted: code }) : `deleted ${code}\n`, undefined);
    });

  // `jmp links import` and its top-level twin `jmp import` (migrating in: `jmp import --from yourls dump.sql`).
  for (const parent of [links, program]) {
    parent
      .command("import <file>")
      .description(
        "import links: a jmp/Shortlinker CSV, or another shortener's export with --from (docs/api.md#migrating-in)",
      )
      .option("--from <format>", `the file's format: jmp, ${PEER_FORMATS.join(", ")}`, "jmp")
      .option("--mode <mode>", "skip, overwrite or error for existing codes", "skip")
      .option("--json", "print JSON")
      .action(importLinks);
  }

  links
    .command("export [file]")
    .description("export every link as CSV (stdout by default), streamed")
    .option("--search <text>", "only codes or targets containing this")
    .option("--include-secrets", "include password hashes (needs the admin scope)")
    .action(async (file: string | undefined, options: { search?: string; includeSecrets?: boolean }) => {
      const stream = await requireClient().links.exportCsv({
        ...(options.search ? { search: options.search } : {}),
        ...(options.includeSecrets ? { include_secrets: true } : {}),
      });
      // Rows go to the file (owner-only: it may hold password hashes) or stdout as they arrive: flat memory.
      const out = file ? createWriteStream(file, { mode: 0o600 }) : process.stdout;
      const progress = file ? new Progress("exporting", null, "rows") : undefined;
      const count = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          let rows = 0;
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++;
          progress?.add(rows);
          done(null, chunk);
        },
      });
      await pipeline(Readable.fromWeb(stream as import("node:stream/web").ReadableStream), count, out, {
        end: file !== undefined,
      });
      progress?.finish("done");
    });
}

async function importLinks(
  file: string,
  options: { from: string; mode: string; json?: boolean },
): Promise<void> {
  if (!["skip", "overwrite", "error"].includes(options.mode)) {
    throw new CliError("--mode must be skip, overwrite or error");
  }
  const from = options.from.toLowerCase();
  if (from !== "jmp" && !isPeerFormat(from)) {
    throw new CliError(`--from must be jmp, ${PEER_FORMATS.join(", ")}`);
  }
  const csv = readDocument(file);
  const progress = new Progress("importing", csv.length, "bytes");
  let reported = 0;
  const result = await requireClient().links.importCsv(csv, options.mode as "skip", {
    from,
    onUpload: (sent, total) => {
      // The multipart framing is counted in `total`; report the share of the file.
      const now = Math.min(csv.length, Math.round((sent / total) * csv.length));
      progress.add(now - reported);
      reported = now;
    },
  });
  progress.finish(
    `${result.success_count} imported, ${result.skipped_count} skipped, ${result.failed_count} failed`,
  );
  if (result.failed_count > 0) process.exitCode = 1;
  if (options.json) return writeOutput(json(result), undefined);
  if (result.failed_items.length > 0) {
    const rows = result.failed_items.map((f) => [String(f.row ?? ""), f.code, f.error]);
    writeOutput(printTable([["ROW", "CODE", "ERROR"], ...rows]), undefined);
  }
}
