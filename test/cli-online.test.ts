/**
 * The online CLI (`jmp apply`, `jmp export`, `jmp links …`) against a real server: the plan printed like
 * `terraform plan`, exit codes (0 done, 1 failure, 2 changes with --detailed-exitcode), --json everywhere,
 * aligned tables, and progress on stderr for long jobs.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { BOOTSTRAP_KEY, runJmp, startServer, type TestServer } from "./support/server.js";

const dir = mkdtempSync(path.join(tmpdir(), "jmp-cli-online-"));

function file(name: string, text: string): string {
  const at = path.join(dir, name);
  writeFileSync(at, text);
  return at;
}

const DOCUMENT = [
  "apiVersion: jmp/v1",
  "links:",
  "  - code: co-gh",
  "    target: https://github.com",
  "  - code: co-docs",
  "    target: https://docs.example/",
  "    expires_at: 2099-01-01T00:00:00Z",
  "",
].join("\n");

describe("jmp apply, export and links, online", () => {
  let s: TestServer;
  let env: Record<string, string>;
  before(async () => {
    s = await startServer("sqlite");
    env = { JMP_URL: s.url, JMP_TOKEN: BOOTSTRAP_KEY };
  });
  after(() => s.close());

  it("needs JMP_URL and a token, and says so", async () => {
    const r = await runJmp(["links", "list"], {});
    assert.equal(r.code, 1);
    assert.match(r.stderr, /set JMP_URL and JMP_TOKEN/);
    const noToken = await runJmp(["links", "list"], { JMP_URL: s.url });
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /give a credential in JMP_TOKEN or JMP_TOKEN_FILE/);
    const tokenFile = file("token", `${BOOTSTRAP_KEY}\n`);
    const fromFile = await runJmp(["links", "list", "--json"], { JMP_URL: s.url, JMP_TOKEN_FILE: tokenFile });
    assert.equal(fromFile.code, 0, fromFile.stderr);
  });

  it("a dry run prints the plan, exits 2 with --detailed-exitcode, and writes nothing", async () => {
    const doc = file("state.yaml", DOCUMENT);
    const r = await runJmp(["apply", "-f", doc, "--dry-run", "--detailed-exitcode"], env);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stdout,
      [
        "  + link co-gh",
        '      target: "https://github.com"',
        "  + link co-docs",
        '      target: "https://docs.example/"',
        '      expires_at: "2099-01-01T00:00:00.000Z"',
        "",
        "Plan: 2 to create, 0 to update, 0 to delete, 0 unchanged. (dry run: nothing was written)",
        "",
      ].join("\n"),
    );
    assert.equal((await s.api.get("/admin/v1/links/co-gh")).status, 404);
  });

  it("applies, and a second apply finds nothing to do (exit 0)", async () => {
    const doc = path.join(dir, "state.yaml");
    const r = await runJmp(["apply", "-f", doc], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Apply complete: 2 created, 0 updated, 0 deleted, 0 unchanged\.$/m);
    assert.equal((await s.anon.get("/co-gh")).headers.get("location"), "https://github.com");

    const again = await runJmp(["apply", "-f", doc, "--detailed-exitcode", "--json"], env);
    assert.equal(again.code, 0, again.stderr);
    const result = JSON.parse(again.stdout);
    assert.deepEqual(result.summary, { create: 0, update: 0, delete: 0, unchanged: 2 });
    assert.equal(result.applied, false);
  });

  it("reads the document from stdin with -f -, and prints field errors with exit 1", async () => {
    const fromStdin = await runJmp(["apply", "-f", "-", "--dry-run"], env, DOCUMENT);
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.match(fromStdin.stdout, /^No changes\./m);

    const bad = await runJmp(
      ["apply", "-f", "-"],
      env,
      "apiVersion: jmp/v1\nlinks:\n  - code: co-bad\n    target: javascript:alert(1)\n",
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /\(HTTP 400, invalid_document\)/);
    assert.match(bad.stderr, /^ {2}links\[0\]\.target: /m);
    assert.equal((await s.api.get("/admin/v1/links/co-bad")).status, 404);
    const missing = await runJmp(["apply", "-f", path.join(dir, "nope.yaml")], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*nope\.yaml/);
  });

  it("exports YAML or JSON that applies back with no changes", async () => {
    const yaml = await runJmp(["export"], env);
    assert.equal(yaml.code, 0, yaml.stderr);
    assert.match(yaml.stdout, /^apiVersion: jmp\/v1$/m);
    const target = path.join(dir, "export.json");
    const json = await runJmp(["export", target, "--format", "json"], env);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(statSync(target).mode & 0o777, 0o600, "an export may hold secrets: owner-only");
    assert.equal(JSON.parse(readFileSync(target, "utf8")).apiVersion, "jmp/v1");
    const back = await runJmp(["apply", "-f", target, "--detailed-exitcode"], env);
    assert.equal(back.code, 0, back.stdout + back.stderr);
    const bad = await runJmp(["export", "--format", "xml"], env);
    assert.equal(bad.code, 1);
  });

  it("links set is idempotent; get, list and delete print tables or JSON", async () => {
    const set = await runJmp(
      ["links", "set", "co-x", "https://x.example", "--expires-at", "2099-05-05T00:00:00Z"],
      env,
    );
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, "co-x → https://x.example\n");
    const again = await runJmp(["links", "set", "co-x", "https://x.example/2", "--json"], env);
    assert.equal(JSON.parse(again.stdout).target, "https://x.example/2");
    assert.equal(JSON.parse(again.stdout).expires_at, null, "set replaces the whole link");

    const get = await runJmp(["links", "get", "co-x", "--json"], env);
    assert.match(JSON.parse(get.stdout).etag, /^"/);

    const list = await runJmp(["links", "list", "--search", "co-"], env);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^CODE\s+TARGET\s+EXPIRES\s+CLICKS$/);
    const column = lines[0]!.indexOf("TARGET");
    for (const line of lines.slice(1, -1)) assert.equal(line.indexOf("https://"), column, `aligned: ${line}`);
    assert.equal(lines.at(-1), "page 1 of 1 (3 links)");
    const listed = JSON.parse((await runJmp(["links", "list", "--search", "co-", "--json"], env)).stdout);
    assert.equal(listed.pagination.total, 3);
    const sorted = JSON.parse(
      (
        await runJmp(
          ["links", "list", "--search", "co-", "--sort", "-code", "--status", "active", "--json"],
          env,
        )
      ).stdout,
    );
    const codes = sorted.data.map((l: { code: string }) => l.code);
    assert.deepEqual(codes, [...codes].sort().reverse());
    const wrong = await runJmp(["links", "list", "--sort", "nope"], env);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /HTTP 400/);

    assert.equal((await runJmp(["links", "delete", "co-x"], env)).stdout, "deleted co-x\n");
    const gone = await runJmp(["links", "get", "co-x"], env);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /\(HTTP 404, not_found\)/);
  });

  it("imports and exports CSV with plain progress lines on a pipe", async () => {
    const rows = Array.from({ length: 500 }, (_, i) => `co-csv-${i},https://csv.example/${i}`);
    const csv = file("links.csv", `code,target\n${rows.join("\n")}\n`);
    const imported = await runJmp(["links", "import", csv, "--json"], env);
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal(JSON.parse(imported.stdout).success_count, 500);
    assert.match(imported.stderr, /^importing: .* — 500 imported, 0 skipped, 0 failed$/m);
    assert.doesNotMatch(imported.stderr, /\r|\[#/, "no bar redraws when stderr is not a terminal");

    const out = path.join(dir, "out.csv");
    const exported = await runJmp(["links", "export", out], env);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(
      readFileSync(out, "utf8")
        .split("\n")
        .filter((l) => l.startsWith("co-csv-")).length,
      500,
    );
    assert.match(exported.stderr, /^exporting: \d+ rows — done$/m);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const toStdout = await runJmp(["links", "export", "--search", "co-csv-1"], env);
    assert.equal(toStdout.code, 0, toStdout.stderr);
    assert.match(toStdout.stdout, /^code,target,/);
    assert.match(toStdout.stdout, /^co-csv-12,https:\/\/csv\.example\/12,/m);
    assert.equal(toStdout.stderr, "", "no progress without a file");

    const failing = file("bad.csv", "code,target\nco-bad-csv,ftp://x\n");
    const r = await runJmp(["links", "import", failing], env);
    assert.equal(r.code, 1, "a failed row fails the command");
    assert.match(r.stdout, /^ROW\s+CODE\s+ERROR$/m);
  });

  it("shows upload progress for a large document", async () => {
    const links = Array.from(
      { length: 12_000 },
      (_, i) => `  - code: co-big-${i}\n    target: https://big.example/${"p".repeat(60)}/${i}`,
    );
    const big = file("big.yaml", `apiVersion: jmp/v1\nlinks:\n${links.join("\n")}\n`);
    const r = await runJmp(["apply", "-f", big, "--dry-run", "--json"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).summary.create, 12_000);
    assert.match(r.stderr, /^uploading document: 100% \([\d.]+ MB of [\d.]+ MB\) — planned$/m);
  });

  it("reports an unreachable server with exit 1", async () => {
    const r = await runJmp(["links", "list"], { JMP_URL: "http://127.0.0.1:9", JMP_TOKEN: BOOTSTRAP_KEY });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^jmp: cannot reach http:\/\/127\.0\.0\.1:9: /);
  });
});
