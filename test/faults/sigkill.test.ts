/**
 * SIGKILL under load: nothing can be written after it, so what is lost is bounded by the flush interval — every
 * click served before the last flush is in the database after a restart.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "../support/http.js";
import { BOOTSTRAP_KEY, spawnJmp } from "../support/server.js";

it("SIGKILL loses at most the clicks of one flush interval", async (t) => {
  const env = {
    JMP_DATA_DIR: mkdtempSync(path.join(tmpdir(), "jmp-sigkill-")),
    JMP_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY,
    JMP_CONFIG_CLICK__FLUSH_INTERVAL: "1",
  };
  let jmp = await spawnJmp(env);
  const api = () => new Client(jmp.url, { authorization: `Bearer ${BOOTSTRAP_KEY}` });
  assert.equal((await api().post("/admin/v1/links", { code: "k", target: "https://k.example" })).status, 201);
  const visitor = new Client(jmp.url);
  for (let i = 0; i < 200; i++) assert.equal((await visitor.get("/k")).status, 307);
  await sleep(2500); // two flush intervals: these 200 are written
  let after = 0;
  const deadline = Date.now() + 300;
  while (Date.now() < deadline) {
    if ((await visitor.get("/k")).status === 307) after++;
  }
  jmp.proc.kill("SIGKILL");
  await new Promise((resolve) => jmp.proc.once("exit", resolve));
  jmp = await spawnJmp(env);
  try {
    const count = (await api().get("/admin/v1/links/k")).json.data.click_count as number;
    t.diagnostic(`${200 + after} clicks served, ${count} in the database after SIGKILL`);
    assert.ok(count >= 200, `the clicks flushed before the kill are kept (${count})`);
    assert.ok(count <= 200 + after);
  } finally {
    await jmp.stop();
  }
});
