/**
 * A small HTTP client for contract tests: real requests with fetch, a cookie jar, no automatic redirects. Every
 * exchange with the Admin or health API is checked against the server's OpenAPI description (contract.ts).
 */
import { contractChecker } from "./contract.js";
export interface Reply<T = any> {
  status: number;
  headers: Headers;
  text: string;
  json: T;
}

export interface Cookie {
  name: string;
  value: string;
  attributes: Record<string, string | true>;
}

export function parseSetCookie(header: string): Cookie {
  const [pair = "", ...attrs] = header.split(";").map((p) => p.trim());
  const eq = pair.indexOf("=");
  const attributes: Record<string, string | true> = {};
  for (const attr of attrs) {
    const i = attr.indexOf("=");
    if (i === -1) attributes[attr.toLowerCase()] = true;
    else attributes[attr.slice(0, i).toLowerCase()] = attr.slice(i + 1);
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes };
}

export class Client {
  readonly cookies = new Map<string, string>();
  lastSetCookies: Cookie[] = [];

  constructor(
    readonly baseUrl: string,
    readonly defaultHeaders: Record<string, string> = {},
  ) {}

  withHeaders(headers: Record<string, string>): Client {
    const client = new Client(this.baseUrl, { ...this.defaultHeaders, ...headers });
    for (const [k, v] of this.cookies) client.cookies.set(k, v);
    return client;
  }

  async request<T = any>(
    method: string,
    path: string,
    options: { json?: unknown; body?: RequestInit["body"]; headers?: Record<string, string> } = {},
  ): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...this.defaultHeaders, ...options.headers };
    if (this.cookies.size > 0 && !("cookie" in headers)) {
      headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    }
    let body = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers["content-type"] ??= "application/json";
    }
    const res = await fetch(this.baseUrl + path, { method, headers, body, redirect: "manual" });
    this.lastSetCookies = res.headers.getSetCookie().map(parseSetCookie);
    for (const cookie of this.lastSetCookies) {
      if (cookie.value === "" || cookie.attributes["max-age"] === "0") this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
    const text = await res.text();
    let json: any;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    const checker = await contractChecker(this.baseUrl);
    const problem = checker?.check(
      method,
      path,
      options.json,
      res.status,
      res.headers.get("content-type") ?? "",
      text,
    );
    if (problem) throw new Error(`OpenAPI contract: ${problem}`);
    return { status: res.status, headers: res.headers, text, json };
  }

  get<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>("GET", path, { headers });
  }
  head(path: string, headers?: Record<string, string>) {
    return this.request("HEAD", path, { headers });
  }
  post<T = any>(path: string, json?: unknown, headers?: Record<string, string>) {
    return this.request<T>("POST", path, { json, headers });
  }
  put<T = any>(path: string, json?: unknown, headers?: Record<string, string>) {
    return this.request<T>("PUT", path, { json, headers });
  }
  delete<T = any>(path: string, json?: unknown, headers?: Record<string, string>) {
    return this.request<T>("DELETE", path, { json, headers });
  }
}
