/**
 * docs/automation.md is a promise: the blocks marked `<!-- run: NAME -->` are extracted and run here against a
 * real server — the Kubernetes ConfigMap as a provisioning file, the Terraform configuration, the Ansible playbook
 * and the shell scripts. Terraform and Ansible run when installed (the Terraform example needs no provider
 * download); the rest always run.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { KNOWN_VARIABLES } from "../src/settings.js";
import { Client } from "./support/http.js";
import {
  BOOTSTRAP_KEY,
  CLI,
  startServer,
  type SpawnedJmp,
  spawnJmp,
  type TestServer,
} from "./support/server.js";

const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../docs/automation.md");
/** The token whose digest the Kubernetes example's Secret holds. */
const EXAMPLE_BOOTSTRAP_TOKEN = "jmp_example_bootstrap_token_replace_me";

function runnableBlocks(): Map<string, string> {
  const blocks = new Map<string, string>();
  const pattern = /<!-- run: (\S+) -->\n```\w+\n([\s\S]*?)\n```/g;
  for (const [, name, body] of readFileSync(DOC, "utf8").matchAll(pattern)) blocks.set(name!, body!);
  return blocks;
}

const blocks = runnableBlocks();
function block(name: string): string {
  const body = blocks.get(name);
  assert.ok(body, `docs/automation.md has no block marked <!-- run: ${name} -->`);
  return body;
}

function installed(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
}

/** A directory with a `jmp` executable that runs this build (what `npm install -g` would put on PATH). */
function binDirectory(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "jmp-bin-"));
  const shim = path.join(dir, "jmp");
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(shim, 0o755);
  return dir;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, { cwd, env: { ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d) => (stdout += d));
    proc.stderr.on("data", (d) => (stderr += d));
    proc.on("error", reject);
    proc.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("docs/automation.md, run", () => {
  let s: TestServer;
  let env: Record<string, string>;
  before(async () => {
    s = await startServer("sqlite");
    const tokenFile = path.join(mkdtempSync(path.join(tmpdir(), "jmp-token-")), "token");
    writeFileSync(tokenFile, `${BOOTSTRAP_KEY}\n`, { mode: 0o600 });
    env = {
      PATH: `${binDirectory()}:${process.env.PATH}`,
      HOME: process.env.HOME ?? tmpdir(),
      JMP_URL: s.url,
      JMP_TOKEN_FILE: tokenFile,
    };
  });
  after(() => s.close());

  const workdir = () => mkdtempSync(path.join(tmpdir(), "jmp-docs-"));
  const target = async (code: string) => (await s.anon.get(`/${code}`)).headers.get("location");

  it("(d) the CLI script plans, applies, finds no drift, and exports", async () => {
    const cwd = workdir();
    writeFileSync(path.join(cwd, "script.sh"), block("shell-cli"));
    const r = await run("bash", ["script.sh"], cwd, env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Plan: 2 to create, 0 to update, 0 to delete, 0 unchanged/);
    assert.match(r.stdout, /Apply complete: 2 created/);
    assert.match(r.stdout, /^sh-blog\nsh-docs\nsh-gh$/m);
    assert.match(readFileSync(path.join(cwd, "state.yaml"), "utf8"), /code: sh-gh/);
    assert.equal(await target("sh-gh"), "https://github.com/acme");
  });

  it("(d) the curl script gets 201, 412, 200, 412 and a zero-change plan", async () => {
    const cwd = workdir();
    writeFileSync(path.join(cwd, "script.sh"), block("shell-curl"));
    const r = await run("bash", ["script.sh"], cwd, env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, "201\n412\n200\n412\n0\n");
    assert.equal(await target("curl-gh"), "https://github.com/acme/jmp");
  });

  it("(a) the Kubernetes ConfigMap provisions an instance set up as the Deployment says", async () => {
    // The page shows deploy/kubernetes/jmp.yaml, the file operators apply: the two never drift apart.
    const shipped = readFileSync(path.resolve(path.dirname(DOC), "../deploy/kubernetes/jmp.yaml"), "utf8");
    assert.equal(shipped.replace(/^(#.*\n)+/, "").trimEnd(), block("kubernetes").trimEnd());
    const manifests = parseAllDocuments(block("kubernetes")).map((d) => d.toJS());
    const byKind = (kind: string) => manifests.find((m) => m.kind === kind);
    const secret = byKind("Secret");
    const configMap = byKind("ConfigMap");
    const container = byKind("Deployment").spec.template.spec.containers[0];

    // The Deployment sets only variables jmp knows, and mounts the Secret and ConfigMap where they point.
    const variables = new Map<string, string>(
      container.env.map((e: { name: string; value: string }) => [e.name, e.value]),
    );
    const known = (name: string) => (KNOWN_VARIABLES as readonly string[]).includes(name);
    for (const name of variables.keys()) assert.ok(known(name) || known(name.replace(/_FILE$/, "")), name);
    const mounts = new Map<string, string>(
      container.volumeMounts.map((m: { name: string; mountPath: string }) => [m.name, m.mountPath]),
    );
    assert.equal(variables.get("JMP_BOOTSTRAP_API_KEY_FILE"), `${mounts.get("bootstrap")}/bootstrap-key`);
    assert.equal(variables.get("JMP_PROVISION_FILE"), `${mounts.get("state")}/jmp.yaml`);

    // The same files, on disk as the kubelet would mount them; SQLite stands in for the database.
    const root = workdir();
    const secretDir = path.join(root, "secret");
    const stateDir = path.join(root, "state");
    mkdirSync(secretDir);
    mkdirSync(stateDir);
    writeFileSync(path.join(secretDir, "bootstrap-key"), secret.stringData["bootstrap-key"]);
    writeFileSync(path.join(stateDir, "jmp.yaml"), configMap.data["jmp.yaml"]);
    let jmp: SpawnedJmp | undefined;
    try {
      jmp = await spawnJmp({
        JMP_DATA_DIR: root,
        JMP_BOOTSTRAP_API_KEY_FILE: path.join(secretDir, "bootstrap-key"),
        JMP_PROVISION_FILE: path.join(stateDir, "jmp.yaml"),
      });
      const anon = new Client(jmp.url);
      assert.equal((await anon.get(container.readinessProbe.httpGet.path)).status, 200, jmp.stdout());
      assert.equal((await anon.get(container.livenessProbe.httpGet.path)).status, 204);
      assert.equal((await anon.get("/gh")).headers.get("location"), "https://github.com/acme");
      const admin = new Client(jmp.url, { authorization: `Bearer ${EXAMPLE_BOOTSTRAP_TOKEN}` });
      const keys = await admin.get("/admin/v1/keys");
      assert.equal(keys.status, 200, "the Secret's digest admits the example token");
      assert.ok(keys.json.data.some((k: { name: string; source: string }) => k.name === "ci-links"));
    } finally {
      await jmp?.stop();
    }
  });

  it(
    "(b) Terraform applies the document, then plans no changes",
    { skip: !installed("terraform") },
    async () => {
      const cwd = workdir();
      writeFileSync(path.join(cwd, "main.tf"), block("terraform"));
      const tfEnv = { ...env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" };
      const vars = ["-var", `jmp_url=${s.url}`, "-var", `jmp_token_file=${env.JMP_TOKEN_FILE}`];
      const init = await run("terraform", ["init", "-input=false", "-no-color"], cwd, tfEnv);
      assert.equal(init.code, 0, init.stdout + init.stderr);
      const apply = await run(
        "terraform",
        ["apply", "-auto-approve", "-input=false", "-no-color", ...vars],
        cwd,
        tfEnv,
      );
      assert.equal(apply.code, 0, apply.stdout + apply.stderr);
      assert.match(apply.stdout, /Apply complete: 2 created/);
      assert.equal(await target("tf-gh"), "https://github.com/acme");
      const config = await s.api.get("/admin/v1/config/features.random_code_length");
      assert.equal(config.json.data.value, "8");
      const plan = await run(
        "terraform",
        ["plan", "-detailed-exitcode", "-input=false", "-no-color", ...vars],
        cwd,
        tfEnv,
      );
      assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    },
  );

  it(
    "(c) the Ansible playbook changes, then does not, and its check mode spots drift without fixing it",
    { skip: !installed("ansible-playbook") },
    async () => {
      const cwd = workdir();
      writeFileSync(path.join(cwd, "playbook.yml"), block("ansible"));
      const ansibleEnv = { ...env, ANSIBLE_NOCOLOR: "1", ANSIBLE_LOCAL_TEMP: path.join(cwd, ".tmp") };
      const play = (...args: string[]) => run("ansible-playbook", ["playbook.yml", ...args], cwd, ansibleEnv);
      const recap = (r: Run) => /changed=(\d+)/.exec(r.stdout.slice(r.stdout.indexOf("PLAY RECAP")))?.[1];

      const first = await play();
      assert.equal(first.code, 0, first.stdout + first.stderr);
      assert.equal(recap(first), "1");
      assert.equal(await target("ans-gh"), "https://github.com/acme");
      const second = await play();
      assert.equal(recap(second), "0", second.stdout);

      await s.api.put("/admin/v1/links/ans-gh", { target: "https://drifted.example" });
      const check = await play("--check");
      assert.equal(check.code, 0, check.stdout + check.stderr);
      assert.equal(recap(check), "1", "check mode reports the drift");
      assert.equal(await target("ans-gh"), "https://drifted.example", "and leaves it alone");
      assert.ok(existsSync(path.join(cwd, "playbook.yml")));
    },
  );
});
