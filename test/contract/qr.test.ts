/**
 * QR codes and short URLs: the images (PNG and SVG) are decoded back with a QR reader and must spell the short
 * URL; `short_url` follows `features.public_base_url` or the request's origin; the public `/{code}/qr` exists only
 * when switched on.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import jsQRModule from "jsqr";
import { PNG } from "pngjs";
import { forEachEngine, startServer, type TestServer } from "../support/server.js";

// jsqr is a UMD bundle whose types declare an ES default export; NodeNext types it as the module object.
const jsQR = jsQRModule as unknown as (
  data: Uint8ClampedArray,
  width: number,
  height: number,
) => { data: string } | null;

function decodeRgba(data: Uint8ClampedArray, width: number, height: number): string | null {
  return jsQR(data, width, height)?.data ?? null;
}

function decodePng(image: Buffer): string | null {
  const png = PNG.sync.read(image);
  return decodeRgba(new Uint8ClampedArray(png.data), png.width, png.height);
}

/**
 * Rasterises the SVG the server sends (a white square, then one path of `M x y`, `m dx dy` and `h n` strokes
 * one module high) at 8 pixels per module, and decodes it.
 */
function decodeSvg(svg: string): string | null {
  const modules = Number(/viewBox="0 0 (\d+) \d+"/.exec(svg)![1]);
  const path = /<path stroke="#000000" d="([^"]+)"/.exec(svg)![1]!;
  const dark = new Set<string>();
  let x = 0;
  let y = 0;
  for (const [, command, args] of path.matchAll(/([MmHh])([^MmHh]+)/g)) {
    const numbers = args!
      .trim()
      .split(/[\s,]+/)
      .map(Number);
    if (command === "M") [x, y] = [numbers[0]!, numbers[1]!];
    else if (command === "m") [x, y] = [x + numbers[0]!, y + numbers[1]!];
    else if (command === "h") {
      for (let i = 0; i < numbers[0]!; i++) dark.add(`${x + i},${Math.floor(y)}`);
      x += numbers[0]!;
    } else throw new Error(`unexpected path command ${command}`);
  }
  const scale = 8;
  const side = modules * scale;
  const data = new Uint8ClampedArray(side * side * 4).fill(255);
  for (let py = 0; py < side; py++) {
    for (let px = 0; px < side; px++) {
      if (!dark.has(`${Math.floor(px / scale)},${Math.floor(py / scale)}`)) continue;
      const at = (py * side + px) * 4;
      data[at] = data[at + 1] = data[at + 2] = 0;
    }
  }
  return decodeRgba(data, side, side);
}

forEachEngine("QR codes and short URLs", (engine) => {
  let s: TestServer;
  before(async () => {
    s = await startServer(engine);
    await s.api.post("/admin/v1/links", { code: "qr-me", target: "https://qr.example/" });
    await s.api.post("/admin/v1/links", { code: "team/handbook", target: "https://qr.example/h" });
  });
  after(() => s.close());

  const image = async (path: string) => {
    const r = await fetch(s.url + path, { headers: { authorization: s.api.defaultHeaders.authorization! } });
    return {
      status: r.status,
      type: r.headers.get("content-type"),
      body: Buffer.from(await r.arrayBuffer()),
    };
  };

  it("short_url is the request's origin by default, and features.public_base_url when set", async () => {
    assert.equal((await s.api.get("/admin/v1/links/qr-me")).json.data.short_url, `${s.url}/qr-me`);
    await s.api.put("/admin/v1/config/features.public_base_url", { value: "https://s.example/" });
    const link = await s.api.get("/admin/v1/links/team/handbook");
    assert.equal(link.json.data.short_url, "https://s.example/team/handbook");
    const list = await s.api.get("/admin/v1/links?search=qr-me");
    assert.equal(list.json.data[0].short_url, "https://s.example/qr-me");
  });

  it("the PNG decodes to the short URL", async () => {
    const png = await image("/admin/v1/links/qr-me/qr?format=png&size=300");
    assert.equal(png.status, 200);
    assert.equal(png.type, "image/png");
    assert.equal(PNG.sync.read(png.body).width, 300);
    assert.equal(decodePng(png.body), "https://s.example/qr-me");
  });

  it("the SVG (the default) decodes to the short URL, also for a code with a slash", async () => {
    const svg = await image("/admin/v1/links/team/handbook/qr?ecc=H&margin=1");
    assert.equal(svg.status, 200);
    assert.equal(svg.type, "image/svg+xml");
    assert.equal(decodeSvg(svg.body.toString()), "https://s.example/team/handbook");
  });

  it("answers 404 for a missing link and 400 for options out of range", async () => {
    assert.equal((await s.api.get("/admin/v1/links/nope/qr")).status, 404);
    assert.equal((await s.api.get("/admin/v1/links/qr-me/qr?size=100000")).status, 400);
    assert.equal((await s.api.get("/admin/v1/links/qr-me/qr?format=gif")).status, 400);
    assert.equal((await s.anon.get("/admin/v1/links/qr-me/qr")).status, 401);
  });

  describe("public /{code}/qr", () => {
    it("is off by default", async () => {
      assert.equal((await s.anon.get("/qr-me/qr")).status, 404);
    });

    it("when switched on, serves a PNG of available links only", async () => {
      await s.api.put("/admin/v1/config/features.enable_public_qr", { value: "true" });
      const r = await fetch(`${s.url}/qr-me/qr`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-type"), "image/png");
      assert.equal(decodePng(Buffer.from(await r.arrayBuffer())), "https://s.example/qr-me");
      const svg = await fetch(`${s.url}/team/handbook/qr?format=svg`);
      assert.equal(decodeSvg(await svg.text()), "https://s.example/team/handbook");

      await s.api.put("/admin/v1/links/qr-me", { target: "https://qr.example/", enabled: false });
      assert.equal((await s.anon.get("/qr-me/qr")).status, 404, "a disabled link has no public QR code");
      assert.equal((await s.anon.get("/missing/qr")).status, 404);
      assert.equal((await s.anon.get("/team/handbook/qr?size=9")).status, 400);
    });
  });
});
