/**
 * What `/` answers when `features.default_url` is empty (the default): a small page saying that jmp runs here,
 * instead of a redirect to someone else's site. With the admin panel enabled it links there (200); without, it
 * is a 404, so monitors and crawlers do not take an instance without a home page for a site.
 */
import { escapeHtml } from "./password-page.js";

export interface LandingPage {
  status: 200 | 404;
  headers: string[];
  body: string;
}

export function landingPage(panelPath: string | null): LandingPage {
  const next =
    panelPath === null
      ? "<p>No home page is set: an administrator can point <code>/</code> somewhere with the runtime key " +
        "<code>features.default_url</code>.</p>"
      : `<p><a href="${escapeHtml(panelPath)}">Open the admin panel</a></p>`;
  const body =
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>jmp</title></head>' +
    `<body><h1>jmp is running</h1><p>This is a short-link service.</p>${next}</body></html>\n`;
  return {
    status: panelPath === null ? 404 : 200,
    headers: [
      "Content-Type",
      "text/html; charset=utf-8",
      "Content-Length",
      String(Buffer.byteLength(body)),
      "Cache-Control",
      "no-cache",
      "Content-Security-Policy",
      "default-src 'none'; frame-ancestors 'none'",
      "X-Robots-Tag",
      "noindex",
    ],
    body,
  };
}
