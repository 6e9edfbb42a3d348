/** What the server templated into index.html (src/panel/routes.ts): the live route prefixes and the version. */
export interface PanelConfig {
  /** The panel's own prefix, e.g. `/panel`. */
  panel: string;
  /** The Admin API prefix, e.g. `/admin` (the API is under `<admin>/v1`). */
  admin: string;
  health: string;
  version: string;
}

function read(): PanelConfig {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="jmp-config"]');
  const fallback: PanelConfig = { panel: "/panel", admin: "/admin", health: "/health", version: "" };
  if (!meta) return fallback;
  try {
    return { ...fallback, ...(JSON.parse(meta.content) as Partial<PanelConfig>) };
  } catch {
    return fallback;
  }
}

export const CONFIG = read();
