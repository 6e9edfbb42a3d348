/**
 * Which SQL engines the contract suite runs against, and a fresh, empty database for each test server.
 *
 * JMP_TEST_ENGINES          comma list, default "sqlite,postgres,mysql"
 * JMP_TEST_POSTGRES_URL     admin connection, default postgres://postgres@127.0.0.1:5432/test
 * JMP_TEST_MYSQL_URL        admin connection, default mysql://root@127.0.0.1:3306/test
 * JMP_TEST_REQUIRE_ENGINES  "1": an unreachable engine fails the run instead of being skipped (CI sets it)
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import mysql from "mysql2/promise";
import pg from "pg";
import type { Engine } from "../../src/store/db.js";

const POSTGRES_URL = process.env.JMP_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const MYSQL_URL = process.env.JMP_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
export const REQUIRE_ENGINES = process.env.JMP_TEST_REQUIRE_ENGINES === "1";

export const ENGINES = (process.env.JMP_TEST_ENGINES ?? "sqlite,postgres,mysql")
  .split(",")
  .map((e) => e.trim())
  .filter(Boolean) as Engine[];

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

const reachability = new Map<Engine, Promise<string | null>>();

/** null when reachable, else the reason. */
export function unreachable(engine: Engine): Promise<string | null> {
  let check = reachability.get(engine);
  if (!check) {
    check = probe(engine);
    reachability.set(engine, check);
  }
  return check;
}

async function probe(engine: Engine): Promise<string | null> {
  try {
    if (engine === "postgres") {
      const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
      await client.connect();
      await client.end();
    } else if (engine === "mysql") {
      const conn = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 3000 });
      await conn.end();
    }
    return null;
  } catch (err) {
    return `${engine} is not reachable: ${(err as Error).message}`;
  }
}

export async function createDatabase(engine: Engine): Promise<TestDatabase> {
  const name = `jmp_t_${randomBytes(6).toString("hex")}`;
  if (engine === "sqlite") {
    const dir = mkdtempSync(path.join(tmpdir(), "jmp-test-"));
    return {
      url: `sqlite:${path.join(dir, "jmp.db")}`,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (engine === "postgres") {
    await withPg((c) => c.query(`CREATE DATABASE ${name}`));
    const url = new URL(POSTGRES_URL);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      drop: () => withPg((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
    };
  }
  await withMysql((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(MYSQL_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withMysql((c) => c.query(`DROP DATABASE IF EXISTS ${name}`)).then(() => {}),
  };
}

async function withPg<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function withMysql<T>(fn: (conn: mysql.Connection) => Promise<T>): Promise<T> {
  const conn = await mysql.createConnection({ uri: MYSQL_URL });
  try {
    return await fn(conn);
  } finally {
    await conn.end();
  }
}
