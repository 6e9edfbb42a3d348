/**
 * The supported Node.js lines (package.json `engines`): a fresh copy installed with Node 22 and with Node 24 —
 * from the npm registry's `node` package, the native SQLite addon compiled against that line's headers — with no
 * EBADENGINE warning, then the smoke suite and one contract file on every engine.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import { freshCopy, run } from "../support/fresh-copy.js";

/**
 * The registry's `node-<platform>-<arch>` package is a whole Node.js distribution (bin/node and the headers in
 * include/node), with no install script: node-gyp builds against it with --nodedir, as this machine reaches no
 * other download site. (The `node` package wraps it, but removes the headers after installing.)
 */
const DISTRIBUTION = `node-${process.platform}-${process.arch}`;

const INSTALL_AND_TEST = `
set -e
echo "node $(node --version) from $(command -v node)"
npm ci --no-audit --no-fund
node scripts/run-tests.mjs dist/test/smoke.test.js dist/test/contract/links.test.js
`;

for (const line of ["22", "24"]) {
  describe(`Node.js ${line}`, () => {
    it("installs without EBADENGINE and passes the smoke suite and the links contract on every engine", async () => {
      const dir = freshCopy(`node${line}`);
      const runtime = path.join(path.dirname(dir), "runtime");
      const fetched = await run(
        "npm",
        ["install", "--prefix", runtime, "--no-save", "--no-audit", "--no-fund", `${DISTRIBUTION}@${line}`],
        { cwd: path.dirname(dir) },
      );
      assert.equal(fetched.code, 0, fetched.output);
      const nodeDir = path.join(runtime, "node_modules", DISTRIBUTION);
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        PATH: `${path.join(nodeDir, "bin")}${path.delimiter}${process.env.PATH}`,
        npm_config_nodedir: nodeDir,
      };
      // Set by the test runner that runs this file: an inner `node --test` would take itself for a subtest.
      delete env.NODE_TEST_CONTEXT;
      const r = await run("sh", ["-c", INSTALL_AND_TEST], { cwd: dir, env, timeoutMs: 840_000 });
      assert.equal(r.code, 0, r.output.slice(-6000));
      assert.match(r.output, new RegExp(`node v${line}\\.`));
      assert.doesNotMatch(r.output, /EBADENGINE/);
      assert.match(r.output, new RegExp(`smoke on Node ${line}\\.`));
      assert.match(r.output, /links API \[mysql\]/);
      assert.match(r.output, /ℹ fail 0/);
    });
  });
}
