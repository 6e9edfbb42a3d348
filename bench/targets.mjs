// The servers the benchmark measures: the bare Node baseline, jmp (any engine, any settings), nginx, and the
// PostgreSQL database and Redis a jmp target may use.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { call, CLI, cleanups, ensure, have, port, ROOT, start, waitFor } from "./lib/processes.mjs";

/** Loads `links` links (c0 … cN-1) through the Admin API in batches. */
export async function loadLinks(base, links, auth) {
  const batch = 5000;
  for (let from = 0; from < links; from += batch) {
    const items = [];
    for (let i = from; i < Math.min(links, from + batch); i++) {
      items.push({ code: `c${i}`, target: `https://example.com/p/${i}` });
    }
    const r = await call(`${base}/admin/v1/links/batch`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ links: items }),
    });
    if (!r.ok) throw new Error(`loading links failed: ${r.status} ${await r.text()}`);
  }
}

/** The bare node:http server; with `workers` > 1 a bare node:cluster of that many (the JMP_WORKERS baseline). */
export function nodeBaseline(N, workers = 1) {
  const p = port();
  const script = path.join(ROOT, "bench/node-baseline.mjs");
  const server = start(process.execPath, [script, String(N), String(p), String(workers)]);
  cleanups.push(server.stop);
  const base = `http://127.0.0.1:${p}`;
  return {
    name: workers === 1 ? "node" : `node-${workers}-workers`,
    base,
    process: server.child,
    ready: waitFor(`${base}/c0`, "the Node baseline"),
    workloads: workers === 1 ? ["hits", "zipf", "misses"] : ["hits", "zipf"],
  };
}

export async function startJmp(env, dataDir, token) {
  const p = port();
  const server = start(process.execPath, [CLI, "serve"], {
    JMP_PORT: String(p),
    JMP_DATA_DIR: dataDir,
    JMP_BOOTSTRAP_API_KEY: token,
    JMP_LOG_LEVEL: "warn",
    ...env,
  });
  cleanups.push(server.stop);
  const base = `http://127.0.0.1:${p}`;
  const started = Date.now();
  try {
    // Generous: the targets start one after another while the earlier ones build their link index.
    await waitFor(`${base}/health/ready`, "jmp", (status) => status === 200, 60);
  } catch (err) {
    throw new Error(`${err.message}\n${server.output()}`, { cause: err });
  }
  return { base, server, process: server.child, startedAt: started, readyMs: Date.now() - started };
}

export async function postgresDatabase() {
  const admin = process.env.JMP_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  let pg;
  try {
    pg = (await import("pg")).default;
  } catch {
    return null;
  }
  const client = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
  } catch {
    return null;
  }
  const name = `jmp_bench_${randomBytes(4).toString("hex")}`;
  await client.query(`create database ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

export async function redisReachable(url) {
  try {
    const { Redis } = await import("ioredis");
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await redis.connect();
    await redis.ping();
    redis.disconnect();
    return true;
  } catch {
    return false;
  }
}

export async function nginx(N) {
  if (!ensure("nginx", "nginx-light") && !have("nginx")) return null;
  const dir = mkdtempSync(path.join(tmpdir(), "jmp-bench-nginx-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, "logs"));
  const entries = [];
  for (let i = 0; i < N; i++) entries.push(`  /c${i} https://example.com/p/${i};`);
  writeFileSync(path.join(dir, "links.map"), entries.join("\n"));
  const p = port();
  writeFileSync(
    path.join(dir, "nginx.conf"),
    `worker_processes 1;
error_log ${dir}/logs/error.log;
pid ${dir}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  map_hash_max_size ${Math.max(2048, N * 2)};
  map_hash_bucket_size 128;
  map $uri $target {
    default "";
    include ${dir}/links.map;
  }
  server {
    listen 127.0.0.1:${p};
    location / {
      if ($target = "") { return 404; }
      return 302 $target;
    }
  }
}
`,
  );
  const server = start("nginx", ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-g", "daemon off;"]);
  cleanups.push(server.stop);
  const base = `http://127.0.0.1:${p}`;
  // nginx builds its map hash before it listens: seconds for a million entries on a slow machine.
  await waitFor(`${base}/c0`, "nginx", undefined, 60);
  return { name: "nginx", base, process: server.child, workloads: ["hits", "misses"] };
}
