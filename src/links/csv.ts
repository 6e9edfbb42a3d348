/**
 * The links CSV format, shared with Shortlinker: `code,target,created_at,expires_at,password,click_count`, then
 * jmp's link settings (`redirect_status`, …, `rules`; see settings.ts). Columns are found by name, so files with
 * extra, missing or reordered columns import too — Shortlinker's six-column files included; an absent or empty
 * settings cell means the default. Tags are one comma-separated cell; rules are JSON. Passwords travel as Argon2id
 * hashes only in an export asked for with secrets (a full backup); otherwise as `[REDACTED]`. Never in plain text.
 */
import { REDACTED } from "../text.js";
import { parse } from "csv-parse";
import { yieldToEventLoop } from "../event-loop.js";
import { stringify } from "csv-stringify/sync";
import { ErrorCode, type FieldError } from "../errors.js";
import type { Link } from "./model.js";
import { SETTINGS_FIELDS, type SettingsInput, settingsResponse } from "./settings.js";

export type ImportMode = "skip" | "overwrite" | "error";

export interface ImportRow {
  /** 1-based line number in the file (the header is line 1). */
  line: number | null;
  code: string;
  target: string;
  created_at: string;
  expires_at: string;
  password: string;
  click_count: string;
  /** The optional columns beyond Shortlinker's six (absent columns: defaults). */
  settings: SettingsInput;
  /** Settings cells that could not be read (wrong type). */
  errors: FieldError[];
}

export interface ImportResult {
  total_rows: number;
  success_count: number;
  skipped_count: number;
  failed_count: number;
  failed_items: { row: number | null; code: string; error: string; error_code?: number }[];
}

export const CSV_COLUMNS = [
  "code",
  "target",
  "created_at",
  "expires_at",
  "password",
  "click_count",
  ...SETTINGS_FIELDS,
] as const;

export function csvHeader(): string {
  return stringify([CSV_COLUMNS]);
}

/** The password cell of a protected link when hashes are not exported. */

/**
 * @param withHashes write Argon2id hashes (a full backup, for admins who ask for it); otherwise protected links
 *   say `[REDACTED]`, which an import reads as "keep the existing password".
 */
export function csvRows(links: readonly Link[], withHashes: boolean): string {
  return stringify(
    links.map((link) => [
      link.code,
      link.target,
      new Date(link.createdAt).toISOString(),
      link.expiresAt === null ? "" : new Date(link.expiresAt).toISOString(),
      link.passwordHash === null ? "" : withHashes ? link.passwordHash : REDACTED,
      String(link.clickCount),
      ...settingsCells(link),
    ]),
  );
}

function settingsCells(link: Link): string[] {
  const settings = settingsResponse(link);
  return SETTINGS_FIELDS.map((field) => {
    const value = settings[field];
    if (value === null) return "";
    if (field === "tags") return (value as string[]).join(",");
    if (field === "rules") return (value as unknown[]).length === 0 ? "" : JSON.stringify(value);
    return String(value);
  });
}

/** The settings cells of an imported row as API input; a cell of the wrong type is a field error. */
function settingsInput(record: Record<string, string>): { settings: SettingsInput; errors: FieldError[] } {
  const settings: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const field of SETTINGS_FIELDS) {
    const cell = record[field];
    if (cell === undefined || cell === "") continue;
    switch (field) {
      case "enabled":
      case "forward_query":
      case "crawlable":
        if (cell === "true" || cell === "false") settings[field] = cell === "true";
        else errors.push({ field, message: 'must be "true" or "false"' });
        break;
      case "redirect_status":
      case "max_clicks":
        if (/^\d{1,15}$/.test(cell)) settings[field] = Number(cell);
        else errors.push({ field, message: "must be a whole number" });
        break;
      case "tags":
        settings.tags = cell.split(",");
        break;
      case "rules":
        try {
          const rules: unknown = JSON.parse(cell);
          if (!Array.isArray(rules)) throw new Error("not an array");
          settings.rules = rules;
        } catch {
          errors.push({ field, message: "must be a JSON array of rules" });
        }
        break;
      default:
        settings[field] = cell;
    }
  }
  return { settings: settings as SettingsInput, errors };
}

export interface ParsedImport {
  rows: ImportRow[];
  failures: ImportResult["failed_items"];
}

/**
 * Parses an uploaded file. Malformed records become per-row failures (code 4005); the rest still import. The
 * file is fed to the parser in slices with a turn of the event loop between them (a 10 MiB file takes about a
 * second to parse, which would otherwise be a second without redirects).
 */
export async function parseImportCsv(content: Buffer): Promise<ParsedImport> {
  const { records, failures, complete } = await readCsvRecords(content);
  if (!complete) return { rows: [], failures };
  const rows: ImportRow[] = [];
  for (const { record, line } of records) {
    if (rows.length % 4096 === 4095) await yieldToEventLoop();
    if (!("code" in record) || !("target" in record)) {
      failures.push(parseFailure(line, "the header must name the columns code and target"));
      return { rows: [], failures };
    }
    rows.push({
      line,
      code: record.code ?? "",
      target: record.target ?? "",
      created_at: record.created_at ?? "",
      expires_at: record.expires_at ?? "",
      password: record.password ?? "",
      click_count: record.click_count ?? "",
      ...settingsInput(record),
    });
  }
  return { rows, failures };
}

export interface CsvRecords {
  /** Each record by its header's column names (trimmed, lower-cased), with its line in the file. */
  records: { record: Record<string, string>; line: number }[];
  /** Records that could not be read: per-row failures (code 4005). */
  failures: ImportResult["failed_items"];
  /** False when the file could not be read to its end (then nothing of it should be imported). */
  complete: boolean;
}

/** Reads a CSV file with a header row, in slices with a turn of the event loop between them. */
export async function readCsvRecords(content: Buffer): Promise<CsvRecords> {
  const failures: ImportResult["failed_items"] = [];
  const records: CsvRecords["records"] = [];
  const parser = parse({
    bom: true,
    columns: (header: string[]) => header.map((name) => name.trim().toLowerCase()),
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
    // One row is a link: far below this. A file that is one endless record fails fast instead.
    max_record_size: 1024 * 1024,
    info: true,
    skip_records_with_error: true,
    on_skip: (err) => {
      if (err) failures.push(parseFailure(typeof err.lines === "number" ? err.lines : null, err.message));
    },
  });
  let failed: Error | null = null;
  parser.on("readable", () => {
    for (let item = parser.read(); item !== null; item = parser.read()) {
      records.push({ record: item.record, line: item.info.lines });
    }
  });
  parser.on("error", (err) => {
    failed = err;
  });
  const ended = new Promise<void>((resolve) => parser.on("end", resolve).on("error", () => resolve()));
  for (let offset = 0; offset < content.length && failed === null; offset += PARSE_SLICE) {
    parser.write(content.subarray(offset, offset + PARSE_SLICE));
    await yieldToEventLoop();
  }
  if (failed === null) parser.end();
  await ended;
  if (failed !== null) {
    failures.push(parseFailure(null, (failed as Error).message));
    return { records: [], failures, complete: false };
  }
  return { records, failures, complete: true };
}

/** How much of a file the parser takes between two turns of the event loop. */
const PARSE_SLICE = 64 * 1024;

export function parseFailure(row: number | null, message: string) {
  return { row, code: "", error: `CSV parse error: ${message}`, error_code: ErrorCode.CsvParseError };
}
