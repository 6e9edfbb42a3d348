/**
 * The production install from the packed tarball, as docs/deployment.md gives it: `npm pack` (built by
 * `prepare`) holds dist/ without tests; `npm install -g --allow-scripts=better-sqlite3 ./jmp-<version>.tgz` puts
 * `jmp` on PATH with production dependencies only; it serves and redirects, and `jmp/client` imports from it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { createAndFollow, type Listening, ROOT, run, startListening } from "../support/fresh-copy.js";
import { freePort } from "../support/ports.js";
import { BOOTSTRAP_KEY } from "../support/server.js";

const VERSION = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string })
  .version;

describe("npm pack → npm install -g → jmp", () => {
  const work = mkdtempSync(path.join(tmpdir(), "jmp-pack-"));
  const prefix = path.join(work, "global");
  const tarball = path.join(work, `jmp-${VERSION}.tgz`);
  const installed = path.join(prefix, "lib", "node_modules", "jmp");
  const jmpBin = path.join(prefix, "bin", "jmp");

  before(async () => {
    const packed = await run("npm", ["pack", "--pack-destination", work], { cwd: ROOT });
    assert.equal(packed.code, 0, packed.output);
    const install = await run(
      "npm",
      [
        "install",
        "-g",
        "--prefix",
        prefix,
        "--allow-scripts=better-sqlite3",
        "--no-audit",
        "--no-fund",
        tarball,
      ],
      { cwd: work, timeoutMs: 600_000 },
    );
    assert.equal(install.code, 0, install.output);
  });

  it("packs the built server and client, its licence and changelog, and no tests", () => {
    const listing = spawnSync("tar", ["-tzf", tarball], { encoding: "utf8" })
      .stdout.split("\n")
      .filter(Boolean);
    for (const file of [
      "package/dist/src/cli/main.js",
      "package/dist/src/client/index.js",
      "package/dist/src/client/index.d.ts",
      "package/dist/panel/index.html",
      "package/LICENSE",
      "package/CHANGELOG.md",
      "package/README.md",
    ]) {
      assert.ok(listing.includes(file), `${file} is packed`);
    }
    assert.deepEqual(
      listing.filter((file) => /\.test\.|\/test\/|^package\/(src|bench|scripts|deploy)\//.test(file)),
      [],
    );
  });

  it("installs jmp on PATH with production dependencies only", async () => {
    assert.ok(existsSync(jmpBin));
    const version = await run(jmpBin, ["--version"], { cwd: work });
    assert.equal(version.output.trim(), VERSION);
    for (const dev of ["typescript", "eslint", "prettier", "playwright-core"]) {
      assert.ok(!existsSync(path.join(installed, "node_modules", dev)), `${dev} is not installed`);
    }
    assert.ok(existsSync(path.join(installed, "node_modules", "better-sqlite3", "build", "Release")));
  });

  describe("the installed jmp serves", () => {
    let server: Listening | undefined;
    let url = "";
    before(async () => {
      server = await startListening(jmpBin, ["serve"], {
        cwd: work,
        port: await freePort(),
        env: {
          PATH: process.env.PATH,
          HOME: work,
          JMP_DATA_DIR: path.join(work, "data"),
          JMP_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY,
        },
      });
      url = server.url;
    });
    after(() => server?.stop());

    it("creates a link through the API and redirects it", async () => {
      assert.deepEqual(await createAndFollow(url, BOOTSTRAP_KEY, "packed", "https://packed.example/"), {
        created: 201,
        location: "https://packed.example/",
      });
    });

    it("serves the built admin panel, its script included", async () => {
      const page = await fetch(`${url}/panel/`);
      assert.equal(page.status, 200);
      const script = /src="assets\/(app-[A-Z0-9]+\.js)"/.exec(await page.text())?.[1];
      assert.ok(script, "index.html names the panel's script");
      assert.equal((await fetch(`${url}/panel/assets/${script}`)).status, 200);
    });

    it("import { JmpClient } from 'jmp/client' works from the installed package", async () => {
      const project = path.join(work, "consumer");
      mkdirSync(path.join(project, "node_modules"), { recursive: true });
      symlinkSync(installed, path.join(project, "node_modules", "jmp"));
      writeFileSync(
        path.join(project, "use.mjs"),
        `import { JmpClient } from "jmp/client";
const jmp = new JmpClient({ url: process.argv[2], token: process.argv[3] });
const { data } = await jmp.links.get("packed");
console.log(data.target);\n`,
      );
      const used = await run(process.execPath, ["use.mjs", url, BOOTSTRAP_KEY], { cwd: project });
      assert.equal(used.code, 0, used.output);
      assert.equal(used.output.trim(), "https://packed.example/");
    });
  });
});
