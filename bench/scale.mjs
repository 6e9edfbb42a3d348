// Scale checks on a jmp target holding N links: list page 1, a streaming CSV export (memory growth), and a CSV
// import of up to 100 000 new rows.
import { call, round, rssBytes } from "./lib/processes.mjs";

export async function scaleChecks(base, pid, N, AUTH) {
  const timed = async (fn) => {
    const t = performance.now();
    const result = await fn();
    return { ms: performance.now() - t, result };
  };
  const listTimes = [];
  for (let i = 0; i < 15; i++) {
    const { ms, result } = await timed(() =>
      call(`${base}/admin/v1/links?page=1&page_size=20`, { headers: AUTH }).then((r) => r.json()),
    );
    if (result.code !== 0) throw new Error(`list failed: ${JSON.stringify(result)}`);
    listTimes.push(ms);
  }
  listTimes.sort((a, b) => a - b);

  // Export: stream the CSV, count rows, sample the server's RSS meanwhile.
  const rssBefore = rssBytes(pid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssBytes(pid) ?? 0)), 20);
  // Flat memory means the second half of the rows adds nothing: buffers fill in the first half, then stay.
  let rssPeakAtHalf = null;
  const exported = await timed(async () => {
    const r = await call(`${base}/admin/v1/links/export`, { headers: AUTH });
    let rows = -1;
    const decoder = new TextDecoder();
    for await (const chunk of r.body) {
      const text = decoder.decode(chunk, { stream: true });
      for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) rows++;
      if (rssPeakAtHalf === null && rows >= N / 2) rssPeakAtHalf = rssPeak;
    }
    return rows;
  });
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, rssBytes(pid) ?? 0);

  // Import up to 100 000 new rows from CSV (Shortlinker's columns).
  const importRows = Math.min(100_000, N);
  const lines = ["code,target,created_at,expires_at,password,click_count"];
  const created = new Date().toISOString();
  for (let i = 0; i < importRows; i++) lines.push(`i${i},https://example.com/i/${i},${created},,,0`);
  const form = new FormData();
  form.append("file", new Blob([lines.join("\n")], { type: "text/csv" }), "links.csv");
  const imported = await timed(() =>
    call(`${base}/admin/v1/links/import`, { method: "POST", headers: AUTH, body: form }).then((r) =>
      r.json(),
    ),
  );
  if (imported.result.data?.success_count !== importRows) {
    throw new Error(`import failed: ${JSON.stringify(imported.result).slice(0, 300)}`);
  }
  return {
    list_page1_ms: round(listTimes[Math.floor(listTimes.length / 2)]),
    export_rows: exported.result,
    export_s: round(exported.ms / 1000),
    export_rss_growth_mb: round((rssPeak - rssBefore) / 2 ** 20),
    export_rss_growth_second_half_mb: round((rssPeak - (rssPeakAtHalf ?? rssPeak)) / 2 ** 20),
    import_rows: importRows,
    import_s: round(imported.ms / 1000),
  };
}
