/**
 * The container image, without a container engine (this machine has none): deploy/Dockerfile's build stage runs
 * deploy/build-image.sh, so this test runs the same script from a fresh copy of the repository and starts what
 * it built the way the image does (its ENV, its entry point, its HEALTHCHECK command).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  createAndFollow,
  freshCopy,
  type Listening,
  ROOT,
  run,
  startListening,
} from "../support/fresh-copy.js";
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
  let server: Listening | undefined;

  before(async () => {
    const source = freshCopy("image-src");
    const built = await run("sh", ["deploy/build-image.sh", app], { cwd: source, timeoutMs: 840_000 });
    assert.equal(built.code, 0, built.output.slice(-6000));
  });
  after(() => server?.stop());

  it("the Dockerfile runs the script, as a non-root user, with /data as a volume and a liveness check", () => {
    assert.match(DOCKERFILE, /^RUN sh deploy\/build-image\.sh \/app$/m);
    assert.match(DOCKERFILE, /^USER node$/m);
    assert.match(DOCKERFILE, /^\s+MALLOC_ARENA_MAX=2 \\$/m, "fewer malloc arenas (docs/deployment.md)");
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
    const port = await freePort();
    const env = Object.fromEntries(
      [...DOCKERFILE.matchAll(/^\s*(?:ENV )?(NODE_ENV|JMP_[A-Z_]+)=(\S+?)\s*\\?$/gm)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    assert.equal(env.JMP_DATA_DIR, "/data");
    assert.deepEqual(execForm(/^CMD (\[.*\])$/m), ["serve"]);
    server = await startListening(
      process.execPath,
      [path.join(app, "dist/src/cli/main.js"), ...execForm(/^CMD (\[.*\])$/m)],
      {
        cwd: data,
        port,
        env: {
          PATH: process.env.PATH,
          ...env,
          // Loopback only here; the image listens on 0.0.0.0 inside its network namespace.
          JMP_HOST: "127.0.0.1",
          JMP_DATA_DIR: data,
          JMP_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY,
        },
      },
    );
    assert.deepEqual(await createAndFollow(server.url, BOOTSTRAP_KEY, "imaged", "https://image.example/"), {
      created: 201,
      location: "https://image.example/",
    });
    const panel = await fetch(`${server.url}/panel/`);
    assert.equal(panel.status, 200, "the image serves the admin panel");
    assert.match(await panel.text(), /<div id="app"><\/div>/);

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
