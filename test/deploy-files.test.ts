/**
 * deploy/: every file names only settings jmp has, the systemd unit passes `systemd-analyze verify`, and the
 * compose files describe what docs/deployment.md says they do. (The image build: test/ship/image.test.ts.)
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { definitionOf } from "../src/config/registry.js";
import { KNOWN_VARIABLES } from "../src/settings.js";

const DEPLOY = path.resolve(import.meta.dirname, "../../deploy");

function deployFiles(): string[] {
  return readdirSync(DEPLOY, { recursive: true })
    .map(String)
    .filter((file) => /\.(ya?ml|service|sh)$|Dockerfile$/.test(file));
}

/** A JMP_ variable jmp reads: a known one, its _FILE twin, or JMP_CONFIG_<KEY> of a runtime key. */
function isKnownVariable(name: string): boolean {
  const variables = KNOWN_VARIABLES as readonly string[];
  if (variables.includes(name) || variables.includes(name.replace(/_FILE$/, ""))) return true;
  const pin = /^JMP_CONFIG_(.+)$/.exec(name.replace(/_FILE$/, ""));
  return pin !== null && definitionOf(pin[1]!.toLowerCase().replace("__", ".")) !== undefined;
}

describe("deploy/", () => {
  it("names only JMP_* variables that jmp reads", () => {
    const files = deployFiles();
    assert.ok(files.length >= 7, files.join(", "));
    for (const file of files) {
      const text = readFileSync(path.join(DEPLOY, file), "utf8");
      for (const [name] of text.matchAll(/\bJMP_[A-Z0-9_]+/g)) {
        assert.ok(isKnownVariable(name), `${file}: ${name} is not a jmp setting`);
      }
    }
  });

  it("has compose files for SQLite, PostgreSQL + Redis and MariaDB, each running the image's build", () => {
    const expected: Record<string, { url?: RegExp; services: string[] }> = {
      "sqlite.yaml": { services: ["jmp"] },
      "postgres.yaml": { url: /^postgres:\/\//, services: ["jmp", "postgres", "redis"] },
      "mariadb.yaml": { url: /^mysql:\/\//, services: ["jmp", "mariadb"] },
    };
    for (const [file, want] of Object.entries(expected)) {
      const [document] = parseAllDocuments(readFileSync(path.join(DEPLOY, "compose", file), "utf8"));
      const compose = document!.toJS();
      assert.deepEqual(Object.keys(compose.services).sort(), want.services.sort(), file);
      const jmp = compose.services.jmp;
      assert.equal(jmp.build.dockerfile, "deploy/Dockerfile", file);
      if (want.url) assert.match(jmp.environment.JMP_DATABASE_URL, want.url, file);
      else assert.equal(jmp.environment.JMP_DATABASE_URL, undefined, file);
      if (file === "postgres.yaml") assert.equal(jmp.environment.JMP_REDIS_URL, "redis://redis:6379");
    }
  });

  it("has a hardened systemd unit that systemd-analyze verify accepts without a warning", (t) => {
    const unit = readFileSync(path.join(DEPLOY, "systemd/jmp.service"), "utf8");
    for (const setting of [
      "DynamicUser=yes",
      "StateDirectory=jmp",
      "ProtectSystem=strict",
      "ProtectHome=yes",
      "NoNewPrivileges=yes",
      "PrivateTmp=yes",
      "CapabilityBoundingSet=",
      "SystemCallFilter=@system-service",
      "KillSignal=SIGTERM",
    ]) {
      assert.match(unit, new RegExp(`^${setting}`, "m"), setting);
    }
    assert.match(
      unit,
      /^Environment=JMP_DATA_DIR=\/var\/lib\/jmp$/m,
      "the data directory is the StateDirectory",
    );
    const analyze = spawnSync("systemd-analyze", ["--version"]);
    if (analyze.error) {
      if (process.env.CI === "true")
        assert.fail("CI=true but systemd-analyze is missing (apt-get install systemd)");
      return t.skip("systemd-analyze is not installed");
    }
    // verify checks that ExecStart's program exists: point it at this Node.js for the check.
    const dir = mkdtempSync(path.join(tmpdir(), "jmp-unit-"));
    const copy = path.join(dir, "jmp.service");
    writeFileSync(copy, unit.replace("ExecStart=/usr/local/bin/jmp", `ExecStart=${process.execPath}`));
    const verified = spawnSync("systemd-analyze", ["verify", copy], { encoding: "utf8" });
    assert.equal(verified.status, 0, verified.stderr);
    assert.equal(
      verified.stderr.trim(),
      "",
      "no warnings (an unknown or misspelt setting is only a warning)",
    );
  });
});
