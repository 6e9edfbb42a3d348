/**
 * The layering docs/architecture.md describes, checked on the import graph of src/ (every `import`/`export …
 * from`, type-only ones included): no file imports itself back through others, no folder cycle, and a folder
 * imports only folders on lower floors — except the few upward imports listed in UPWARD, each with its reason
 * (docs/architecture.md names them too). A new upward import fails here until it is turned around or listed.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { it } from "node:test";

const SRC = path.resolve("src");

/** Floors, bottom first. A module may import its own floor's primitives and any floor below its own. */
const FLOORS: Record<string, number> = {
  // primitives: leaf modules anyone may import
  errors: 0,
  text: 0,
  version: 0,
  "event-loop": 0,
  nesting: 0,
  "response-headers": 0,
  "tick-shapes": 0,
  "flush-signal": 0,
  util: 0,
  log: 1,
  metrics: 1,
  store: 2,
  events: 3,
  audit: 3,
  config: 4,
  auth: 5,
  links: 5,
  analytics: 5,
  provision: 6,
  settings: 7,
  redirect: 8,
  admin: 8,
  health: 9,
  panel: 9,
  server: 10,
  cluster: 10,
  app: 11,
  main: 12,
  client: 12,
  cli: 13,
};

/** The documented upward imports (folder → folder), with why each stays. */
const UPWARD: Record<string, string> = {
  "store -> links":
    "the links store maps rows to the link model it stores (links/model, rules, settings: types and field names)",
};

/** The top folder under src/, or the file's name for a file directly in src/. */
function moduleOf(file: string): string {
  const relative = path.relative(SRC, file);
  return relative.includes(path.sep) ? relative.split(path.sep)[0]! : relative.replace(/\.ts$/, "");
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [full] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g)].map((m) =>
    path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, ".ts")),
  );
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((file) => [file, importsOf(file)]));

/** Strongly connected components with more than one member (Tarjan). */
function cycles(nodes: Iterable<string>, next: (node: string) => Iterable<string>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    indexOf.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const to of next(node)) {
      if (!indexOf.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, indexOf.get(to)!));
      }
    }
    if (low.get(node) === indexOf.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component);
    }
  };
  for (const node of nodes) if (!indexOf.has(node)) visit(node);
  return found;
}

it("no file imports itself back through other files", () => {
  const found = cycles(graph.keys(), (file) => (graph.get(file) ?? []).filter((to) => graph.has(to)));
  assert.deepEqual(
    found.map((c) => c.map((f) => path.relative(SRC, f)).sort()),
    [],
  );
});

const edges = new Set<string>();
for (const [file, targets] of graph) {
  for (const target of targets) {
    const from = moduleOf(file);
    const to = moduleOf(target);
    if (from !== to) edges.add(`${from} -> ${to}`);
  }
}

it("every folder of src/ has a floor", () => {
  const unknown = [...new Set(files.map(moduleOf))].filter((m) => !(m in FLOORS));
  assert.deepEqual(unknown, [], "add the new module to FLOORS and to docs/architecture.md");
});

it("folders import only lower floors, but for the documented upward imports", () => {
  const upward = [...edges].filter((edge) => {
    const [from, to] = edge.split(" -> ") as [string, string];
    return FLOORS[to]! > FLOORS[from]! && !(edge in UPWARD);
  });
  assert.deepEqual(upward, [], "turn the import around, or list it in UPWARD with its reason");
  const sameFloor = [...edges].filter((edge) => {
    const [from, to] = edge.split(" -> ") as [string, string];
    return FLOORS[to] === FLOORS[from] && FLOORS[from]! > 0;
  });
  // The documented upward imports close cycles by nature; everything else must not.
  const downward = [...edges].filter((edge) => !(edge in UPWARD));
  const folderCycles = cycles(new Set(downward.map((e) => e.split(" -> ")[0]!)), (node) =>
    downward.filter((e) => e.startsWith(`${node} -> `)).map((e) => e.split(" -> ")[1]!),
  );
  assert.deepEqual(folderCycles, [], `no folder cycle (same-floor imports: ${sameFloor.join(", ")})`);
});

it("every documented upward import still exists (remove it from UPWARD once it is gone)", () => {
  for (const edge of Object.keys(UPWARD)) assert.ok(edges.has(edge), `${edge} is gone`);
});
