/**
 * Opens the database for the configured engine: Kysely over better-sqlite3, pg or mysql2. Everything above the
 * store speaks Kysely only; engine differences stay in this folder.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import SQLite from "better-sqlite3";
import { LRUCache } from "lru-cache";
import {
  type Compilable,
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  type QueryResult,
  MysqlDialect,
  PostgresDialect,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteDialectConfig,
  type Transaction,
  SqliteDriver,
} from "kysely";
import type * as Mysql2 from "mysql2";
import type Pg from "pg";
import type { Database } from "./schema.js";
import { startWaiting, stopWaiting } from "./sqlite-lock-waiters.js";

export type Engine = "sqlite" | "postgres" | "mysql";

export interface DatabaseSettings {
  engine: Engine;
  /** A file path for SQLite (or `:memory:`), a connection URL for the others. */
  location: string;
}

/** A connection or the transaction a write runs in: every store method that may join a transaction takes one. */
export type Db = Kysely<Database> | Transaction<Database>;

export interface Store {
  db: Kysely<Database>;
  engine: Engine;
  /** The SQLite connection itself (SQLite only), for the few statements that must skip query building. */
  sqlite: SQLite.Database | null;
  close(): Promise<void>;
}

export interface StoreHooks {
  /**
   * Told when the server drops an idle pooled connection (a restart, a failover, an administrator's kill). The
   * pool replaces the connection; without a listener pg would crash the process.
   */
  onIdleError?(err: Error): void;
  /** Told after every query made through Kysely (metrics). */
  onQuery?(operation: QueryOperation, seconds: number, failed: boolean): void;
}

export type QueryOperation = "select" | "insert" | "update" | "delete" | "other";

const OPERATIONS: Record<string, QueryOperation> = {
  SelectQueryNode: "select",
  InsertQueryNode: "insert",
  UpdateQueryNode: "update",
  DeleteQueryNode: "delete",
};

export function openStore(settings: DatabaseSettings, hooks: StoreHooks = {}): Store {
  const sqlite = settings.engine === "sqlite" ? openSqlite(settings.location) : null;
  const onIdleError = hooks.onIdleError ?? (() => {});
  const onQuery = hooks.onQuery;
  const db = new Kysely<Database>({
    dialect: sqlite
      ? new ImmediateSqliteDialect({ database: withStatementCache(sqlite) })
      : createDialect(settings, onIdleError),
    log: onQuery
      ? (event) =>
          onQuery(
            OPERATIONS[event.query.query.kind] ?? "other",
            event.queryDurationMillis / 1000,
            event.level === "error",
          )
      : undefined,
  });
  return { db, engine: settings.engine, sqlite, close: () => db.destroy() };
}

/**
 * SQLite transactions take the write lock when they begin (`BEGIN IMMEDIATE`), waiting up to busy_timeout for
 * it. Kysely's plain `BEGIN` is deferred: a transaction that read first and then wrote after another connection
 * (the click writer thread, the CLI) had committed failed at once with SQLITE_BUSY — busy_timeout cannot help a
 * deferred transaction whose snapshot is already stale.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async acquireConnection(): Promise<DatabaseConnection> {
    return new BusyRetryingConnection(await super.acquireConnection());
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}

/** How long a statement may wait for SQLite's write lock in all (BusyRetryingConnection's budget). */
const BUSY_BUDGET_MS = 5000;
/**
 * The longest sleep between two tries. A writer thread pauses for a waiting statement (sqlite-lock-waiters.ts)
 * and the pause is dead time for its writes until the statement's next try; a failed try costs a few µs.
 */
const MAX_RETRY_DELAY_MS = 4;

const isBusy = (err: unknown): boolean => (err as { code?: unknown }).code === "SQLITE_BUSY";

/**
 * Gives a statement that failed with SQLITE_BUSY before BUSY_BUDGET_MS had passed another try, after a timer:
 * this is how the server's connection waits for the write lock (it has no busy_timeout, see openSqlite). SQLite's
 * own busy handler would block the event loop while it sleeps; it also counts every sleep as slept in full, and a
 * sampling CPU profiler (the inspector's, an APM agent's) interrupts those sleeps every few hundred µs, so its 5 s
 * ran out after ~20 ms (db.test.ts). A failed statement changed nothing, so running it again is safe; inside a
 * transaction too, where the statements of one begun IMMEDIATE do not meet the lock anyway. Kysely runs one
 * statement at a time on this connection: the others queue behind the retry.
 */
class BusyRetryingConnection implements DatabaseConnection {
  constructor(private readonly inner: DatabaseConnection) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      return await this.inner.executeQuery<R>(query);
    } catch (err) {
      if (!isBusy(err)) throw err;
    }
    // The writer threads of this process pause between their transactions while we wait (sqlite-lock-waiters.ts).
    startWaiting();
    try {
      const started = Date.now();
      for (let delay = 1; ; delay = Math.min(MAX_RETRY_DELAY_MS, delay * 2)) {
        await sleep(delay);
        try {
          return await this.inner.executeQuery<R>(query);
        } catch (err) {
          if (!isBusy(err) || Date.now() - started >= BUSY_BUDGET_MS) throw err;
        }
      }
    } finally {
      stopWaiting();
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

/** How many distinct statements stay prepared (a batch's `in (?, …)` lists make a few hundred variants). */
const PREPARED_STATEMENTS = 500;

/**
 * Kysely prepares every query it runs on SQLite (`db.prepare(sql)` each time): about 20 µs for an admin query,
 * a few per cent of an admin write's CPU. The same SQL text is the same statement, so prepared ones are kept (an
 * LRU of PREPARED_STATEMENTS) and run again with new parameters. This is safe because Kysely runs one query at a
 * time on its one SQLite connection (a mutex), streams included, so a cached statement is never busy when it is
 * handed out; SQLite prepares a statement again by itself after a schema change (migrations).
 */
function withStatementCache(database: SQLite.Database): SqliteDatabase {
  const prepared = new LRUCache<string, SQLite.Statement>({ max: PREPARED_STATEMENTS });
  return {
    close: () => database.close(),
    prepare(sqlText: string) {
      let statement = prepared.get(sqlText);
      if (statement === undefined) {
        statement = database.prepare(sqlText);
        prepared.set(sqlText, statement);
      }
      return statement;
    },
  };
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly sqliteConfig: SqliteDialectConfig) {
    super(sqliteConfig);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.sqliteConfig);
  }
}

function openSqlite(location: string): SQLite.Database {
  // The database holds the session signing secret: its folder (when jmp makes it) is the owner's alone, and so
  // is a new file. SQLite gives the -wal and -shm files the main file's permissions.
  if (location !== ":memory:") {
    mkdirSync(path.dirname(location), { recursive: true, mode: 0o700 });
    if (!existsSync(location)) writeFileSync(location, "", { mode: 0o600, flag: "a" });
  }
  const database = new SQLite(location);
  // WAL lets readers (other processes, the CLI) work while the server writes. No busy_timeout: SQLite's busy
  // handler sleeps inside the call, and on this connection the call runs on the event loop — an admin write
  // waiting for the click writer's flush froze every redirect for the flush's length (hits p99 ~300 ms beside
  // 1 % PUTs, 11 ms without flushes). A statement that meets the lock fails at once and BusyRetryingConnection
  // tries it again after a timer, within the same BUSY_BUDGET_MS, while the event loop serves.
  database.pragma("journal_mode = WAL");
  database.pragma("busy_timeout = 0");
  database.pragma("synchronous = NORMAL");
  database.pragma("foreign_keys = ON");
  return database;
}

/**
 * The network drivers load on first use: an instance loads only its own engine's (pg and mysql2 together took
 * ~0.2 s of every start, on SQLite for nothing). Both are CommonJS, so `require` keeps opening synchronous.
 */
const requireDriver = createRequire(import.meta.url);

/**
 * Every wait on a network database is bounded (docs/security.md, "Limits and timeouts"): opening a connection
 * takes at most 5 s, a statement at most 15 s. A frozen or unreachable server then fails a request with 503
 * instead of holding it, and a shutdown, forever. No statement of jmp's comes near it: writes go in chunks of
 * 400 rows, and lock waits are loops of short statements (lock.ts).
 */
export const CONNECT_TIMEOUT_MS = 5_000;
export const QUERY_TIMEOUT_MS = 15_000;

/**
 * mysql2 has a per-query `timeout` but no pool-wide one: this pool hands out connections whose queries carry
 * it. A query that times out closes its connection (mysql2 cannot cancel it), and the pool replaces it.
 */
function withQueryTimeout(pool: Mysql2.Pool) {
  const patched = new WeakSet<object>();
  return {
    getConnection(callback: (err: NodeJS.ErrnoException | null, connection: Mysql2.PoolConnection) => void) {
      pool.getConnection((err, connection) => {
        if (!err && !patched.has(connection)) {
          patched.add(connection);
          const query = connection.query.bind(connection) as (...args: unknown[]) => unknown;
          (connection as unknown as { query: unknown }).query = (sqlText: unknown, ...rest: unknown[]) =>
            typeof sqlText === "string"
              ? query({ sql: sqlText, timeout: QUERY_TIMEOUT_MS }, ...rest)
              : query(sqlText, ...rest);
        }
        callback(err, connection);
      });
    },
    end(callback: (err: NodeJS.ErrnoException | null) => void) {
      pool.end(callback);
    },
  };
}

/** The pooled engines; SQLite is opened by openSqlite. */
function createDialect({ engine, location }: DatabaseSettings, onIdleError: (err: Error) => void) {
  switch (engine) {
    case "sqlite":
      throw new Error("SQLite is opened by openSqlite");
    case "postgres": {
      const pg = requireDriver("pg") as typeof Pg;
      // BIGINT (20) and NUMERIC (1700, e.g. SUM) arrive as strings by default; our values fit in a double.
      const types = {
        getTypeParser: (oid: number, format?: "text" | "binary") =>
          oid === 20 || oid === 1700 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format),
      };
      const pool = new pg.Pool({
        connectionString: location,
        max: 10,
        types,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        // Client-side: a frozen or unreachable server cannot answer a server-side statement_timeout.
        query_timeout: QUERY_TIMEOUT_MS,
        keepAlive: true,
      });
      pool.on("error", onIdleError);
      // A client the server drops while it is checked out but between statements (inside a transaction, or
      // while a long job gives the event loop way) emits 'error' with no query to fail: without a listener
      // that would crash the process. Its current or next statement fails instead, and the pool discards it.
      pool.on("connect", (client) => client.on("error", onIdleError));
      return new PostgresDialect({ pool });
    }
    case "mysql":
      return new MysqlDialect({
        pool: withQueryTimeout(
          (requireDriver("mysql2") as typeof Mysql2).createPool({
            uri: location,
            connectionLimit: 10,
            timezone: "Z",
            charset: "utf8mb4",
            supportBigNumbers: true,
            decimalNumbers: true,
            connectTimeout: CONNECT_TIMEOUT_MS,
            enableKeepAlive: true,
          }),
        ),
      });
  }
}

/** True when the error is a primary-key/unique violation, on any engine. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number };
  return (
    e?.code === "SQLITE_CONSTRAINT_PRIMARYKEY" ||
    e?.code === "SQLITE_CONSTRAINT_UNIQUE" ||
    e?.code === "23505" ||
    e?.errno === 1062
  );
}

/**
 * What a database error means for the client, on any engine: `input` — a value the database refuses (a NUL
 * byte or invalid UTF-8 on PostgreSQL, a value too long) → 400; `conflict` — a deadlock or serialisation failure
 * that survived its retries → 409; `unavailable` — the database cannot be reached or timed out → 503. null for
 * anything else (a bug: 500).
 */
export type DatabaseErrorKind = "input" | "conflict" | "unavailable";

const INPUT_SQLSTATES = new Set(["22021", "22P05", "22001", "22003", "22007", "22008", "22P02", "54000"]);
const CONFLICT_SQLSTATES = new Set(["40001", "40P01"]);
const INPUT_MYSQL = new Set([1366, 1406, 1264, 1292, 1300]);
const CONFLICT_MYSQL = new Set([1213, 1205]);
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EPIPE",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_CON_COUNT_ERROR",
  "SQLITE_BUSY",
  "SQLITE_BUSY_SNAPSHOT",
  "57P01",
  "57P02",
  "57P03",
  "57014",
  "53300",
]);

export function databaseErrorKind(err: unknown): DatabaseErrorKind | null {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown };
  if (typeof e !== "object" || e === null) return null;
  const code = typeof e.code === "string" ? e.code : "";
  const errno = typeof e.errno === "number" ? e.errno : 0;
  if (INPUT_SQLSTATES.has(code) || INPUT_MYSQL.has(errno)) return "input";
  if (CONFLICT_SQLSTATES.has(code) || CONFLICT_MYSQL.has(errno)) return "conflict";
  if (UNAVAILABLE_CODES.has(code) || code.startsWith("08")) return "unavailable";
  const message = typeof e.message === "string" ? e.message : "";
  // pg's own timeouts and a pool that cannot hand out a connection carry no code.
  if (
    /timeout exceeded when trying to connect|Connection terminated|Query read timeout|pool is closed/i.test(
      message,
    )
  )
    return "unavailable";
  return null;
}

/** Attempts of a transaction that lost to a deadlock or a serialisation failure, before the 409. */
const CONFLICT_ATTEMPTS = 4;

/**
 * Runs `fn` (a whole transaction) again when the database chose it as the loser of a deadlock or a
 * serialisation conflict (and, with `uniqueViolations`, when a row it planned to insert appeared meanwhile),
 * after a short random pause; the last failure reaches the client as 409. `fn` must not keep state across
 * attempts: everything it decides is decided again.
 */
export async function retryingConflicts<T>(
  fn: () => Promise<T>,
  options: { uniqueViolations?: boolean } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const again =
        databaseErrorKind(err) === "conflict" ||
        (options.uniqueViolations === true && isUniqueViolation(err));
      if (attempt >= CONFLICT_ATTEMPTS || !again) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
    }
  }
}

/**
 * A query built and compiled once, then run with new parameters: Kysely builds and compiles a query on every
 * call, which on a hot admin write path costs more than the database running it (docs/performance.md, eleventh
 * round). Only for queries whose SQL never depends on the parameters (no `in` lists, no optional clauses, the
 * same keys in every `values` object); `build` gets placeholders, and the query's parameters must be exactly
 * those, in that order. Compiled once per dialect: one process may hold stores on several engines (the tests).
 */
export function compiledOnce<Row, P extends readonly unknown[]>(
  build: (db: Db, ...placeholders: P) => Compilable<Row>,
  placeholders: P,
): (db: Db, ...parameters: P) => Promise<QueryResult<Row>> {
  const compiled = new Map<unknown, CompiledQuery<Row>>();
  return (db, ...parameters) => {
    const dialect = db.getExecutor().adapter.constructor;
    let query = compiled.get(dialect);
    if (!query) {
      query = build(db, ...placeholders).compile();
      if (query.parameters.length !== placeholders.length)
        throw new Error(`compiledOnce: ${query.parameters.length} parameters in ${query.sql}`);
      compiled.set(dialect, query);
    }
    return db.executeQuery<Row>({ ...query, parameters });
  };
}
