/**
 * `JMP_WORKERS=N`: N worker processes (Node cluster) share the listening socket; each is a whole jmp instance
 * (its own caches, click buffer, database pool). The primary serves nothing. It:
 * - prepares once before forking: migrations, config seeding, the first-start credential and the provisioning
 *   file, so N workers do not race for them (they find everything done);
 * - relays change doorbells: a worker that wrote rings, the primary tells its siblings to read the change log
 *   now, so worker caches converge in milliseconds without Redis (the log itself stays the source of truth);
 * - merges the workers' metrics for `/health/metrics` (prom-client's AggregatorRegistry);
 * - restarts a worker that dies, and on SIGTERM/SIGINT stops them all gracefully.
 */
import cluster, { type Worker } from "node:cluster";
import { rmSync } from "node:fs";
import type { Logger } from "pino";
import { AggregatorRegistry, type Registry } from "prom-client";
import type { SiblingDoorbell } from "./events/transport.js";
import type { Settings } from "./settings.js";
import { type RateDecision, RateLimiter, type ThrottleFactory } from "./auth/rate-limit.js";

const RING = "jmp:ring";
const THROTTLE_TAKE = "jmp:throttle?";
const THROTTLE_DECISION = "jmp:throttle!";
const THROTTLE_REFUND = "jmp:refund";
const METRICS_REQUEST = "jmp:metrics?";
const METRICS_ANSWER = "jmp:metrics!";
const RESTART_DELAY_MS = 1000;

interface Message {
  type?: string;
  id?: number;
  contentType?: string;
  body?: string;
  error?: string;
  /** Throttle messages: which throttle (with its parameters), which bucket, and the primary's answer. */
  throttle?: { name: string; refillPerSecond: number; burst: number };
  key?: string;
  decision?: RateDecision;
}

export const isClusterWorker = cluster.isWorker;

/**
 * Runs the primary until every worker has stopped. Resolves with the exit code for the whole instance: 1 when a
 * worker's own stop failed (it lost clicks, or ran out of time), else 0.
 * @param prepare the start-up work done once for all workers (open the app and close it again).
 */
export async function runPrimary(
  settings: Settings,
  log: Logger,
  prepare: () => Promise<void>,
): Promise<number> {
  await prepare();
  if (settings.unixSocket) rmSync(settings.unixSocket, { force: true });

  const aggregator = new AggregatorRegistry();
  // Every worker's guarded checks share these buckets (login, link passwords, refresh, bearer failures).
  const throttles = new Map<string, RateLimiter>();
  const throttle = ({ name, refillPerSecond, burst }: NonNullable<Message["throttle"]>) => {
    let limiter = throttles.get(name);
    if (!limiter) throttles.set(name, (limiter = new RateLimiter(refillPerSecond, burst)));
    return limiter;
  };
  let stopping = false;
  let failedStops = 0;
  const started = new Map<number, number>();

  const fork = () => {
    const worker = cluster.fork();
    started.set(worker.id, Date.now());
    worker.on("message", (message: Message) => onMessage(worker, message));
  };

  const onMessage = (from: Worker, message: Message) => {
    if (message?.type === RING) {
      for (const worker of Object.values(cluster.workers ?? {})) {
        if (worker && worker !== from && worker.isConnected()) worker.send({ type: RING });
      }
    } else if (message?.type === THROTTLE_TAKE && message.throttle && typeof message.key === "string") {
      from.send({
        type: THROTTLE_DECISION,
        id: message.id,
        decision: throttle(message.throttle).take(message.key),
      });
    } else if (message?.type === THROTTLE_REFUND && message.throttle && typeof message.key === "string") {
      throttle(message.throttle).refund(message.key);
    } else if (message?.type === METRICS_REQUEST) {
      aggregator.clusterMetrics().then(
        (body) =>
          from.send({ type: METRICS_ANSWER, id: message.id, body, contentType: aggregator.contentType }),
        (err: Error) => from.send({ type: METRICS_ANSWER, id: message.id, error: err.message }),
      );
    }
  };

  cluster.on("exit", (worker, code, signal) => {
    if (stopping) return;
    const uptime = Date.now() - (started.get(worker.id) ?? 0);
    log.error({ worker: worker.id, code, signal, uptimeMs: uptime }, "worker stopped; starting another");
    setTimeout(fork, RESTART_DELAY_MS);
  });

  for (let i = 0; i < settings.workers; i++) fork();
  log.info({ workers: settings.workers }, "jmp primary started the workers");

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, "second signal: stopping the workers at once");
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGKILL");
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, "stopping the workers");
      // Workers get the signal from the terminal's process group too; sending it again is harmless.
      signalWorkers("SIGTERM");
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    cluster.on("exit", (_worker, code) => {
      // A worker still starting when the signal came dies of it (code null) with nothing to lose; one that ran
      // its own stop exits 1 when that stop lost clicks or ran out of time.
      if (stopping && code !== null && code !== 0) failedStops++;
      if (stopping && Object.keys(cluster.workers ?? {}).length === 0) resolve();
    });
  });
  if (failedStops > 0) log.error({ workers: failedStops }, "a worker did not stop cleanly (see its log)");
  log.info("jmp stopped");
  return failedStops > 0 ? 1 : 0;
}

/** Primary side: passes a signal on to every worker. */
export function signalWorkers(signal: NodeJS.Signals): void {
  for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
}

/** Worker side: the doorbell between sibling workers, relayed by the primary. */
export const siblingDoorbell: SiblingDoorbell = {
  ring() {
    if (process.connected) process.send?.({ type: RING });
  },
  onRing(listener) {
    process.on("message", (message: Message) => {
      if (message?.type === RING) listener();
    });
  },
};

let nextRequest = 1;
const waiting = new Map<number, (message: Message) => void>();
let listening = false;

/** Worker side: answers from the primary (metrics, throttle decisions), matched to their request by id. */
function listenForAnswers(): void {
  if (listening) return;
  listening = true;
  process.on("message", (message: Message) => {
    if ((message?.type !== METRICS_ANSWER && message?.type !== THROTTLE_DECISION) || message.id === undefined)
      return;
    waiting.get(message.id)?.(message);
    waiting.delete(message.id);
  });
}

/** A question to the primary; an error answer when it is gone or silent for 2 s (never a hang). */
function ask(message: Message): Promise<Message> {
  listenForAnswers();
  if (!process.connected) return Promise.resolve({ error: "the primary process is gone" });
  return new Promise((resolve) => {
    const id = nextRequest++;
    const timer = setTimeout(() => {
      waiting.delete(id);
      resolve({ error: "the primary process did not answer" });
    }, 2000);
    waiting.set(id, (answer) => {
      clearTimeout(timer);
      resolve(answer);
    });
    process.send?.({ ...message, id });
  });
}

/** Worker side: throttles whose buckets live in the primary, shared by every worker. */
export const clusterThrottles: ThrottleFactory = (name, refillPerSecond, burst) => {
  const throttle = { name, refillPerSecond, burst };
  return {
    // No answer from the primary counts as no attempt left: a guarded check is never made unmetered.
    take: async (key) =>
      (await ask({ type: THROTTLE_TAKE, throttle, key })).decision ?? {
        allowed: false,
        retryAfterSeconds: 1,
      },
    refund: (key) => {
      if (process.connected) process.send?.({ type: THROTTLE_REFUND, throttle, key });
    },
  };
};

/** Worker side: every worker's metrics, merged by the primary. The worker's own registry answers the primary. */
export function clusterMetrics(local: Registry): () => Promise<{ contentType: string; body: string }> {
  // Constructing one installs prom-client's answer to the primary's metrics requests.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries(local);
  return async () => {
    const message = await ask({ type: METRICS_REQUEST });
    if (message.error !== undefined) throw new Error(message.error);
    return { contentType: message.contentType!, body: message.body! };
  };
}
