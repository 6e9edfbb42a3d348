#!/usr/bin/env node
/**
 * The `jmp` executable. Before the command tree's modules load (cli/run.ts, about a second), it makes SIGUSR2
 * harmless: a server that is still starting must not be ended by it (flush-signal.ts).
 */
import { guardFlushSignal } from "../flush-signal.js";

guardFlushSignal();
await import("./run.js");
