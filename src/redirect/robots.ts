/**
 * `/robots.txt`: everything is disallowed except the links marked crawlable (each allowed exactly, `$`). At most
 * 10 000 are listed, which is more than any crawler reads.
 */
const MAX_LISTED = 10_000;

export async function robotsTxt(store: {
  crawlableCodes(limit: number): Promise<string[]>;
}): Promise<string> {
  const codes = await store.crawlableCodes(MAX_LISTED);
  const allowed = codes.map((code) => `Allow: /${code}$\n`).join("");
  return `# Short links are not for indexing, except those marked crawlable.\nUser-agent: *\n${allowed}Disallow: /\n`;
}
