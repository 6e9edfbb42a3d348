/**
 * Holds the server to its OpenAPI description: every answer a contract test receives from the Admin or health
 * API is validated against the response schema the description documents for that operation and status, and
 * every request the server accepted (2xx) against the documented request body. A mismatch fails the test that
 * made the request, naming the operation and the schema error.
 *
 * The description is fetched once per test process from the first server a client talks to.
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

interface Operation {
  requestBody?: { content?: Record<string, { schema?: object }> };
  responses?: Record<string, { content?: Record<string, { schema?: object }> }>;
}

interface Spec {
  paths: Record<string, Record<string, Operation>>;
}

interface Matcher {
  template: string;
  pattern: RegExp;
  params: number;
}

let loaded: Promise<ContractChecker | null> | undefined;

/** The checker, or null while no server has served its description (admin API disabled, other prefix). */
export function contractChecker(baseUrl: string): Promise<ContractChecker | null> {
  loaded ??= fetch(`${baseUrl}/admin/v1/openapi.json`)
    .then(async (r) => (r.ok ? new ContractChecker((await r.json()) as Spec) : null))
    .catch(() => null)
    .then((checker) => {
      if (!checker) loaded = undefined;
      return checker;
    });
  return loaded;
}

export class ContractChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly matchers: Matcher[];
  private readonly compiled = new Map<object, ValidateFunction>();
  /** How many answers were checked (a test asserts the checker is really at work). */
  checked = 0;

  constructor(readonly spec: Spec) {
    addFormats.default(this.ajv);
    this.matchers = Object.keys(spec.paths)
      .map((template) => ({
        template,
        params: (template.match(/\{/g) ?? []).length,
        pattern: new RegExp(
          `^${template
            .replace(/[.*+?^$()|[\]\\]/g, "\\$&")
            .replace(/\{code\}/g, ".+")
            .replace(/\{[^}]+\}/g, "[^/]+")}$`,
        ),
      }))
      // Literal paths first (/links/batch is not /links/{code}); among equals the longer template
      // (/links/{code}/qr is not /links/{code}).
      .sort((a, b) => a.params - b.params || b.template.length - a.template.length);
  }

  operation(method: string, path: string): { template: string; op: Operation } | null {
    const decoded = path.split("?")[0]!;
    for (const m of this.matchers) {
      if (!m.pattern.test(decoded)) continue;
      const op = this.spec.paths[m.template]![method.toLowerCase()];
      if (op) return { template: m.template, op };
    }
    return null;
  }

  /** Returns a description of the mismatch, or null when the exchange matches the description. */
  check(
    method: string,
    path: string,
    requestBody: unknown,
    status: number,
    contentType: string,
    body: string,
  ): string | null {
    if (!path.startsWith("/admin/v1/") && !path.startsWith("/health")) return null;
    const found = this.operation(method, path);
    if (!found) return null; // not an operation: the server's own 404/405, checked by the tests themselves
    const { template, op } = found;
    const where = `${method} ${template} → ${status}`;
    const responses = op.responses ?? {};
    const response = responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
    if (!response) return `${where}: status not documented`;
    this.checked++;
    const media = contentType.split(";")[0]!.trim();
    if (media === "application/json" && body !== "") {
      const schema = response.content?.["application/json"]?.schema;
      if (!schema) return `${where}: JSON answer, but no JSON schema documented`;
      const problem = this.validate(schema, JSON.parse(body));
      if (problem) return `${where}: answer does not match the description: ${problem}`;
    }
    if (status >= 200 && status < 300 && requestBody !== undefined && op.requestBody) {
      const schema = op.requestBody.content?.["application/json"]?.schema;
      const problem = schema ? this.validate(schema, requestBody) : null;
      if (problem) return `${where}: accepted a request the description forbids: ${problem}`;
    }
    return null;
  }

  private validate(schema: object, value: unknown): string | null {
    let fn = this.compiled.get(schema);
    if (!fn) {
      fn = this.ajv.compile(schema);
      this.compiled.set(schema, fn);
    }
    if (fn(value)) return null;
    return this.ajv.errorsText(fn.errors, { dataVar: "body" });
  }
}
