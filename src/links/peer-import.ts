/**
 * Migrating in: other link shorteners' own export files, read into the rows of a jmp import (links/csv.ts), so
 * they go through the same checks, modes (skip/overwrite/error), per-row results and audit as a jmp CSV.
 *
 * | from     | file                                                                    | code        | target   |
 * |----------|-------------------------------------------------------------------------|-------------|----------|
 * | `yourls` | a SQL dump of the `<prefix>url` table (mysqldump, phpMyAdmin), or CSV    | keyword     | url      |
 * |          | with YOURLS's column names (keyword,url,title,timestamp,ip,clicks)       |             |          |
 * | `shlink` | the web client's CSV export (createdAt,domain,shortCode,shortUrl,        | shortCode   | longUrl  |
 * |          | longUrl,title,tags,visits; tags separated by `|`)                        |             |          |
 * | `kutt`   | the JSON of Kutt's links API (`GET /api/v2/links`: `{data:[…]}` or `[…]`) | address     | target   |
 * | `bitly`  | Bitly's links CSV export (a bitlink column, a long URL column, …)        | bitlink path | long URL |
 *
 * Titles, tags, created dates and click counts map where the format has them. Dates without a zone (YOURLS's
 * `timestamp`) are read as UTC. Kutt's password-protected links fail their row: its export has no password, and
 * importing them unprotected would publish what was private.
 */
import type { SettingsInput } from "./settings.js";
import { type ImportResult, type ImportRow, type ParsedImport, parseFailure, readCsvRecords } from "./csv.js";
import { yieldToEventLoop } from "../event-loop.js";

export const PEER_FORMATS = ["yourls", "shlink", "kutt", "bitly"] as const;
export type PeerFormat = (typeof PEER_FORMATS)[number];

export function isPeerFormat(value: string): value is PeerFormat {
  return (PEER_FORMATS as readonly string[]).includes(value);
}

interface PeerLink {
  line: number | null;
  code: string;
  target: string;
  created?: string | undefined;
  clicks?: string | number | null | undefined;
  title?: string | null | undefined;
  tags?: string[] | undefined;
  expires?: string | null | undefined;
}

function toRow(link: PeerLink): ImportRow {
  const settings: SettingsInput = {};
  if (link.title) settings.title = link.title;
  const tags = (link.tags ?? []).map((tag) => tag.trim()).filter((tag) => tag !== "");
  if (tags.length > 0) settings.tags = tags;
  return {
    line: link.line,
    code: link.code.trim(),
    target: link.target.trim(),
    created_at: isoDate(link.created ?? ""),
    expires_at: link.expires ? isoDate(link.expires) : "",
    password: "",
    click_count: link.clicks === null || link.clicks === undefined ? "" : String(link.clicks).trim(),
    settings,
    errors: [],
  };
}

/**
 * An RFC 3339 time for the dates peers write: Unix seconds or milliseconds, `YYYY-MM-DD HH:MM:SS` (read as UTC),
 * or anything `Date` reads. What none of these read is passed on as it is, and its row fails with the reason.
 */
export function isoDate(text: string): string {
  const value = text.trim();
  if (value === "") return "";
  if (/^\d{9,13}$/.test(value)) {
    const number = Number(value);
    return new Date(number < 1e11 ? number * 1000 : number).toISOString();
  }
  const naive = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(:\d{2}(\.\d+)?)?)$/.exec(value);
  const parsed = Date.parse(naive ? `${naive[1]}T${naive[2]}Z` : value);
  return Number.isNaN(parsed) ? value : new Date(parsed).toISOString();
}

/** The first of `names` the record has (headers are lower-cased); "" when none. */
function cell(record: Record<string, string>, ...names: string[]): string {
  for (const name of names) {
    const value = record[name];
    if (value !== undefined) return value;
  }
  return "";
}

async function fromCsv(
  content: Buffer,
  required: { code: string[]; target: string[] },
  map: (record: Record<string, string>, line: number) => PeerLink,
): Promise<ParsedImport> {
  const { records, failures, complete } = await readCsvRecords(content);
  if (!complete) return { rows: [], failures };
  const header = records[0]?.record;
  if (header) {
    const missing = [required.code, required.target].filter((names) => !names.some((name) => name in header));
    if (missing.length > 0) {
      const wanted = missing.map((names) => names.join(" or ")).join("; ");
      failures.push(parseFailure(records[0]!.line, `the header must have a column ${wanted}`));
      return { rows: [], failures };
    }
  }
  return { rows: records.map(({ record, line }) => toRow(map(record, line))), failures };
}

function shlink(content: Buffer): Promise<ParsedImport> {
  return fromCsv(content, { code: ["shortcode"], target: ["longurl"] }, (record, line) => ({
    line,
    code: cell(record, "shortcode"),
    target: cell(record, "longurl"),
    created: cell(record, "createdat", "datecreated"),
    clicks: cell(record, "visits", "visitscount"),
    title: cell(record, "title"),
    tags: cell(record, "tags").split("|"),
  }));
}

/** The code of a bitlink: `bit.ly/abc`, `https://bit.ly/abc` and a custom domain's `go.acme.co/launch` alike. */
function bitlinkCode(bitlink: string): string {
  const value = bitlink.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`;
  try {
    return decodeURIComponent(new URL(withScheme).pathname.replace(/^\/+/, ""));
  } catch {
    return value;
  }
}

const BITLY_LINK = ["bitlink", "link", "short link", "short_url", "short url", "bitly link"];
const BITLY_TARGET = ["long_url", "long url", "destination", "destination url", "original url"];

function bitly(content: Buffer): Promise<ParsedImport> {
  return fromCsv(content, { code: BITLY_LINK, target: BITLY_TARGET }, (record, line) => ({
    line,
    code: bitlinkCode(cell(record, ...BITLY_LINK)),
    target: cell(record, ...BITLY_TARGET),
    created: cell(record, "created_at", "created", "date created", "creation date"),
    clicks: cell(record, "clicks", "total clicks", "engagements", "total engagements"),
    title: cell(record, "title"),
    tags: cell(record, "tags").split(/[|,]/),
  }));
}

function yourlsCsv(content: Buffer): Promise<ParsedImport> {
  return fromCsv(content, { code: ["keyword"], target: ["url"] }, (record, line) => ({
    line,
    code: cell(record, "keyword"),
    target: cell(record, "url"),
    created: cell(record, "timestamp"),
    clicks: cell(record, "clicks"),
    title: cell(record, "title"),
  }));
}

const YOURLS_COLUMNS = ["keyword", "url", "title", "timestamp", "ip", "clicks"];

/** `INSERT INTO <prefix>url [(columns)] VALUES (…),(…);` statements of a SQL dump; other tables are ignored. */
async function yourlsSql(text: string): Promise<ParsedImport> {
  const rows: ImportRow[] = [];
  const failures: ImportResult["failed_items"] = [];
  const lineOf = lineCounter(text);
  const statement = /INSERT\s+(?:IGNORE\s+)?INTO\s+[`"]?(\w*?)url[`"]?\s*(\(([^)]*)\))?\s*VALUES\s*/gi;
  for (let match = statement.exec(text); match !== null; match = statement.exec(text)) {
    const columns = match[3]
      ? match[3].split(",").map((name) =>
          name
            .trim()
            .replace(/^[`"]|[`"]$/g, "")
            .toLowerCase(),
        )
      : YOURLS_COLUMNS;
    const at = statement.lastIndex;
    const parsed = sqlTuples(text, at);
    for (const tuple of parsed.tuples) {
      const line = lineOf(tuple.at);
      if (tuple.values.length !== columns.length) {
        failures.push(
          parseFailure(line, `a row has ${tuple.values.length} values for ${columns.length} columns`),
        );
        continue;
      }
      const record = Object.fromEntries(columns.map((name, i) => [name, tuple.values[i]]));
      rows.push(
        toRow({
          line,
          code: String(record.keyword ?? ""),
          target: String(record.url ?? ""),
          created: record.timestamp === null ? "" : String(record.timestamp ?? ""),
          clicks: record.clicks,
          title: record.title === null ? null : String(record.title ?? ""),
        }),
      );
    }
    if (parsed.error) {
      failures.push(parseFailure(lineOf(parsed.end), parsed.error));
      return { rows: [], failures };
    }
    statement.lastIndex = parsed.end;
    await yieldToEventLoop();
  }
  if (rows.length === 0 && failures.length === 0) {
    failures.push(parseFailure(null, "no INSERT INTO …url statement (the YOURLS links table) in the dump"));
  }
  return { rows, failures };
}

/**
 * Line numbers for offsets asked in increasing order, counted from where the last question stopped: a dump of
 * 100 000 rows is read once, not once per row.
 */
function lineCounter(text: string): (offset: number) => number {
  let at = 0;
  let line = 1;
  return (offset) => {
    for (let i = text.indexOf("\n", at); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
      line++;
      at = i + 1;
    }
    return line;
  };
}

type SqlValue = string | null;

/** The `(…),(…)` value tuples from `start` to the statement's `;`: MySQL strings with `\` and `''` escapes. */
function sqlTuples(
  text: string,
  start: number,
): { tuples: { at: number; values: SqlValue[] }[]; end: number; error?: string } {
  const tuples: { at: number; values: SqlValue[] }[] = [];
  let i = start;
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  for (;;) {
    skipSpace();
    if (text[i] !== "(") return { tuples, end: i, error: "expected ( at the start of a row" };
    const at = i++;
    const values: SqlValue[] = [];
    for (;;) {
      skipSpace();
      if (text[i] === "'") {
        let value = "";
        for (i++; i < text.length; i++) {
          const c = text[i]!;
          if (c === "\\") {
            const next = text[++i] ?? "";
            value +=
              next === "n" ? "\n" : next === "r" ? "\r" : next === "t" ? "\t" : next === "0" ? "\0" : next;
          } else if (c === "'" && text[i + 1] === "'") {
            value += "'";
            i++;
          } else if (c === "'") break;
          else value += c;
        }
        if (i >= text.length) return { tuples, end: i, error: "a string is not closed" };
        i++;
        values.push(value);
      } else {
        const literal = /^[^,)\s]+/.exec(text.slice(i, i + 64))?.[0] ?? "";
        if (literal === "") return { tuples, end: i, error: "expected a value" };
        i += literal.length;
        values.push(literal.toUpperCase() === "NULL" ? null : literal);
      }
      skipSpace();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === ")") {
        i++;
        break;
      }
      return { tuples, end: i, error: "expected , or ) after a value" };
    }
    tuples.push({ at, values });
    skipSpace();
    if (text[i] === ",") {
      i++;
      continue;
    }
    if (text[i] === ";" || i >= text.length) return { tuples, end: i + 1 };
    return { tuples, end: i, error: "expected , or ; after a row" };
  }
}

interface KuttLink {
  address?: unknown;
  target?: unknown;
  description?: unknown;
  visit_count?: unknown;
  created_at?: unknown;
  expire_in?: unknown;
  password?: unknown;
}

function kutt(content: Buffer): ParsedImport {
  let document: unknown;
  try {
    document = JSON.parse(content.toString("utf8"));
  } catch (err) {
    return { rows: [], failures: [parseFailure(null, `not JSON: ${(err as Error).message}`)] };
  }
  const items = Array.isArray(document) ? document : (document as { data?: unknown })?.data;
  if (!Array.isArray(items)) {
    return {
      rows: [],
      failures: [parseFailure(null, "expected Kutt's links: an array, or an object with data: [...]")],
    };
  }
  const rows: ImportRow[] = [];
  const failures: ImportResult["failed_items"] = [];
  items.forEach((item: KuttLink, index) => {
    const entry = index + 1;
    const text = (value: unknown) => (typeof value === "string" ? value : "");
    if (item === null || typeof item !== "object") {
      failures.push(parseFailure(entry, "an entry is not an object"));
      return;
    }
    if (item.password === true) {
      failures.push({
        row: entry,
        code: text(item.address),
        error:
          "password-protected in Kutt, whose export has no password: create it by hand with a new password",
      });
      return;
    }
    rows.push(
      toRow({
        line: entry,
        code: text(item.address),
        target: text(item.target),
        created: text(item.created_at),
        clicks: typeof item.visit_count === "number" ? item.visit_count : text(item.visit_count),
        title: text(item.description) || null,
        expires: text(item.expire_in) || null,
      }),
    );
  });
  return { rows, failures };
}

/** Reads a peer's export into import rows; `row` in results is the file's line (CSV, SQL) or entry (JSON). */
export async function parsePeerExport(format: PeerFormat, content: Buffer): Promise<ParsedImport> {
  switch (format) {
    case "shlink":
      return shlink(content);
    case "bitly":
      return bitly(content);
    case "kutt":
      return kutt(content);
    case "yourls": {
      const text = content.toString("utf8");
      return /INSERT\s+(IGNORE\s+)?INTO/i.test(text) ? yourlsSql(text) : yourlsCsv(content);
    }
  }
}
