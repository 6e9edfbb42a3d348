/**
 * The container image, without a container engine (this machine has none): deploy/Dockerfile's build stage runs
 * deploy/build-image.sh, so this test runs the same script from a fresh copy of the repository and starts what
 * it built the way the image does (its ENV, its entry point, its HEALTHCHECK command).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { freshCopy, ROOT, run } from "../support/fresh-copy.js";
import { freePort } from "../support/ports.js";
import { BOOTSTRAP_KEY } from "../support/server.js";

const DOCKERFILE = readFileSync(path.join(ROOT, "deploy/Dockerfile"), "utf8");

/** A JSON-array instruction of the final stage (`CMD ["…"]`, `HEALTHCHECK … CMD ["…"]`). */
function execForm(pattern: RegExp): string[] {
  const match = pattern.exec(DOCKERFILE.replace(/\\\n\s*/g, " "));
  assert.ok(match, `${pattern} in the Dockerfile`);
  return JSON.parse(match[1]!) as string[];
}

describe("the image build script, from a fresh clone", () => {
  const app = path.join(mkdtempSync(path.join(tmpdir(), "jmp-image-")), "app");
  const data = mkdtempSync(path.join(tmpdir(), "jmp-image-data-"));
  let url = "";
  let port = 0;
  let server: ReturnType<typeof spawn> | undefined;

  before(async () => {
    const source = freshCopy("image-src");
    const built = await run("sh", ["deploy/build-image.sh", app], { cwd: source, timeoutMs: 840_000 });
    assert.equal(built.code, 0, built.output.slice(-6000));
  });
  after(() => server?.kill("SIGTERM"));

  it("the Dockerfile runs the script, as a non-root user, with /data as a volume and a liveness check", () => {
    assert.match(DOCKERFILE, /^RUN sh deploy\/build-image\.sh \/app$/m);
    assert.match(DOCKERFILE, /^USER node$/m);
    assert.match(DOCKERFILE, /^VOLUME \["\/data"\]$/m);
    assert.match(DOCKERFILE.replace(/\\\n\s*/g, " "), /^HEALTHCHECK .*\/health\/live/m);
    assert.equal(
      (DOCKERFILE.match(/^FROM /gm) ?? []).length,
      2,
      "multi-stage: the final stage has no compiler",
    );
  });

  it("builds the packed package with production dependencies only and the native addon compiled", () => {
    assert.ok(existsSync(path.join(app, "dist/src/cli/main.js")));
    assert.ok(existsSync(path.join(app, "node_modules/better-sqlite3/build/Release/better_sqlite3.node")));
    for (const dev of ["typescript", "eslint", "prettier", "playwright-core"]) {
      assert.ok(!existsSync(path.join(app, "node_modules", dev)), `${dev} is not in the image`);
    }
    assert.ok(!existsSync(path.join(app, "src")), "no TypeScript sources");
  });

  it("starts as the image does, redirects, and passes its HEALTHCHECK command", async () => {
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const env = Object.fromEntries(
      [...DOCKERFILE.matchAll(/^\s*(?:ENV )?(NODE_ENV|JMP_[A-Z_]+)=(\S+?)\s*\\?$/gm)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    assert.equal(env.JMP_DATA_DIR, "/data");
    assert.deepEqual(execForm(/^CMD (\[.*\])$/m), ["serve"]);
    server = spawn(
      process.execPath,
      [path.join(app, "dist/src/cli/main.js"), ...execForm(/^CMD (\[.*\])$/m)],
      {
        cwd: data,
        env: {
          PATH: process.env.PATH,
          ...env,
          // Loopback only here; the image listens on 0.0.0.0 inside its network namespace.
          JMP_HOST: "127.0.0.1",
          JMP_PORT: String(port),
          JMP_DATA_DIR: data,
          JMP_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY,
        },
      },
    );
    let output = "";
    server.stdout!.on("data", (d) => (output += d));
    server.stderr!.on("data", (d) => (output += d));
    const deadline = Date.now() + 30_000;
    while (!/jmp is listening/.test(output)) {
      assert.ok(Date.now() < deadline, output);
      await new Promise((r) => setTimeout(r, 100));
    }
    const created = await fetch(`${url}/admin/v1/links`, {
      method: "POST",
      headers: { authorization: `Bearer ${BOOTSTRAP_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ code: "imaged", target: "https://image.example/" }),
    });
    assert.equal(created.status, 201);
    const redirect = await fetch(`${url}/imaged`, { redirect: "manual" });
    assert.equal(redirect.headers.get("location"), "https://image.example/");

    const [command, ...args] = execForm(/^HEALTHCHECK .*?CMD (\[.*\])$/m);
    assert.equal(command, "node");
    const healthy = await run(process.execPath, args, {
      cwd: data,
      env: { ...process.env, JMP_PORT: String(port) },
    });
    assert.equal(healthy.code, 0, healthy.output);
    const down = await run(process.execPath, args, { cwd: data, env: { ...process.env, JMP_PORT: "1" } });
    assert.equal(down.code, 1, "the check fails when nothing answers");
  });
});
