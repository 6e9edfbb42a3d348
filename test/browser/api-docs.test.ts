/** The OpenAPI viewer at /admin/v1/docs, opened in a real browser: it renders every operation from local files
 * under a strict Content-Security-Policy, with no console errors and no request leaving the instance. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { browserUnavailable, launchBrowser } from "../support/browser.js";
import { startServer, type TestServer } from "../support/server.js";

const skip = browserUnavailable();

describe("API docs in the browser", { skip }, () => {
  let s: TestServer;
  before(async () => {
    s = await startServer("sqlite");
  });
  after(() => s.close());

  it("serves the viewer and its assets without a credential, under a strict CSP", async () => {
    const page = await fetch(`${s.url}/admin/v1/docs/`);
    assert.equal(page.status, 200);
    const csp = page.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self';/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https:/);
    const html = await page.text();
    assert.doesNotMatch(
      html,
      /<script>(?!\s*<\/script>)|https?:\/\//,
      "no inline script, nothing from elsewhere",
    );
    const spec = await (await fetch(`${s.url}/admin/v1/docs/json`)).json();
    const direct = await (await fetch(`${s.url}/admin/v1/openapi.json`)).json();
    assert.deepEqual(spec, direct, "the viewer shows the live document");
  });

  it("renders every operation in Chromium with no console error, CSP violation or outside request", async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      const outside: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(message.text());
      });
      page.on("pageerror", (err) => problems.push(err.message));
      page.on("request", (request) => {
        if (!request.url().startsWith(s.url) && !request.url().startsWith("data:"))
          outside.push(request.url());
      });
      await page.goto(`${s.url}/admin/v1/docs/`);
      await page.waitForSelector(".opblock", { timeout: 20_000 });
      const operations = await page.locator(".opblock").count();
      const spec = (await (await fetch(`${s.url}/admin/v1/openapi.json`)).json()) as {
        paths: Record<string, object>;
      };
      const expected = Object.values(spec.paths as Record<string, object>).reduce(
        (n, item) =>
          n +
          Object.keys(item).filter((k) => ["get", "put", "post", "delete", "patch", "head"].includes(k))
            .length,
        0,
      );
      assert.equal(operations, expected);
      assert.equal(await page.title(), "jmp Admin API");
      assert.deepEqual(problems, []);
      assert.deepEqual(outside, []);
    } finally {
      await browser.close();
    }
  });
});
