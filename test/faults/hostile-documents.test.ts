/**
 * Hostile documents: 16 MiB of nesting (YAML and JSON), billion-laughs aliases, 10 000-level JSON and a CSV that
 * is one endless record are answered 4xx in bounded memory (the server's RSS grows < 96 MB; see the bound
 * below), while redirects keep answering.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, it } from "node:test";
import { Client } from "../support/http.js";
import { BOOTSTRAP_KEY, type SpawnedJmp, spawnJmp } from "../support/server.js";

const MiB = 1024 * 1024;

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

function billionLaughs(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  const names = "bcdefghij";
  for (let i = 0; i < names.length; i++) {
    const previous = i === 0 ? "a" : names[i - 1];
    lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${previous}`).join(",")}]`);
  }
  return `apiVersion: jmp/v1\n${lines.join("\n")}\n`;
}

let jmp: SpawnedJmp;
let api: Client;
before(async () => {
  jmp = await spawnJmp({
    JMP_DATA_DIR: mkdtempSync(path.join(tmpdir(), "jmp-hostile-")),
    JMP_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY,
  });
  api = new Client(jmp.url, { authorization: `Bearer ${BOOTSTRAP_KEY}` });
  assert.equal(
    (await api.post("/admin/v1/links", { code: "alive", target: "https://alive.example" })).status,
    201,
  );
});
after(() => jmp.stop());

it("answers every hostile document with 4xx in bounded memory while redirects keep answering", async (t) => {
  const yaml = { "content-type": "application/yaml" };
  const json = { "content-type": "application/json" };
  const deepJson = (n: number) => `{"apiVersion":"jmp/v1","links":${"[".repeat(n)}${"]".repeat(n)}}`;
  const form = () => {
    const body = new FormData();
    body.set("file", new Blob([`code,target\n"${"x".repeat(9 * MiB)}`]), "endless.csv");
    return body;
  };
  const attacks: [string, () => Promise<{ status: number; text: string }>][] = [
    [
      "16 MiB of [ as YAML",
      () => api.request("POST", "/admin/v1/apply", { body: "[".repeat(16 * MiB - 1), headers: yaml }),
    ],
    [
      "16 MiB of - as YAML",
      () => api.request("POST", "/admin/v1/apply", { body: "- ".repeat(8 * MiB - 1), headers: yaml }),
    ],
    [
      "16 MiB of [ as JSON",
      () => api.request("POST", "/admin/v1/apply", { body: "[".repeat(16 * MiB - 1), headers: json }),
    ],
    [
      '16 MiB of {"a": as JSON',
      () => api.request("POST", "/admin/v1/apply", { body: '{"a":'.repeat(3 * MiB), headers: json }),
    ],
    [
      "billion laughs",
      () => api.request("POST", "/admin/v1/apply", { body: billionLaughs(), headers: yaml }),
    ],
    [
      "10 000-level JSON to /apply",
      () => api.request("POST", "/admin/v1/apply", { body: deepJson(10_000), headers: json }),
    ],
    [
      "10 000-level JSON to /links",
      () => api.request("POST", "/admin/v1/links", { body: deepJson(10_000), headers: json }),
    ],
    [
      "10 000-level JSON to /links/batch",
      () => api.request("POST", "/admin/v1/links/batch", { body: deepJson(10_000), headers: json }),
    ],
    [
      "a CSV that is one endless record",
      () => api.request("POST", "/admin/v1/links/import", { body: form() }),
    ],
  ];

  // Warm up the paths once, so the measurement is of growth, not of first use.
  await api.request("POST", "/admin/v1/apply?dry_run=true", {
    body: "apiVersion: jmp/v1\nlinks: []\n",
    headers: yaml,
  });
  const before = rssMb(jmp.proc.pid!);
  let stop = false;
  let redirects = 0;
  let failures = 0;
  const visitor = new Client(jmp.url);
  const visiting = (async () => {
    while (!stop) {
      const r = await visitor.get("/alive");
      if (r.status === 307) redirects++;
      else failures++;
    }
  })();
  let peak = before;
  try {
    for (const [name, attack] of attacks) {
      const r = await attack();
      peak = Math.max(peak, rssMb(jmp.proc.pid!));
      if (name.startsWith("a CSV")) {
        // Import reports per row (200, as the reference does): the record fails, nothing is written.
        assert.equal(r.status, 200, r.text.slice(0, 200));
        assert.match(r.text, /"success_count":0,.*"failed_count":1/);
        continue;
      }
      assert.ok(r.status >= 400 && r.status < 500, `${name}: ${r.status} ${r.text.slice(0, 200)}`);
      assert.match(r.text, /"code":\d+/, `${name}: the envelope`);
    }
  } finally {
    stop = true;
    await visiting;
  }
  const grown = peak - before;
  t.diagnostic(
    `RSS ${before.toFixed(0)} MB → peak ${peak.toFixed(0)} MB; ${redirects} redirects answered meanwhile`,
  );
  // Typically +48 MB (three 16 MiB bodies in flight at most). About one run in ten since the analytics routes
  // landed (3 of 47 runs here, 0 of 24 before) the peak is one 16 MB step higher (+64–65 MB): the heap grows a
  // step, then returns; repeated attacks do not accumulate. The bound stays far below what an expansion attack
  // costs (a billion-laughs document expands to gigabytes). Why the step became likelier is open (session 11).
  assert.ok(grown < 96, `RSS grew by ${grown.toFixed(1)} MB (from ${before.toFixed(0)} MB)`);
  assert.equal(failures, 0);
  assert.ok(redirects > attacks.length, `${redirects} redirects were answered meanwhile`);
});
