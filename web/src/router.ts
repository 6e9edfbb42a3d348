/**
 * Routing in the browser: paths under the panel's prefix, the state of every list in the query string (so any
 * view can be bookmarked and shared). The History API and a hook; a framework router would add more than it
 * saves for a dozen pages.
 */
import { useEffect, useState } from "preact/hooks";
import { CONFIG } from "./config.js";

const CHANGE = "jmp:navigate";

/** The path inside the panel: `/panel/links?x` → `/links`. */
export function currentPath(): string {
  const path = location.pathname;
  return path.startsWith(CONFIG.panel) ? path.slice(CONFIG.panel.length) || "/" : path;
}

/** A panel-relative href (`/links?page=2`) as a full path. */
export function hrefOf(to: string): string {
  return `${CONFIG.panel}${to.startsWith("/") ? to : `/${to}`}`;
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = hrefOf(to);
  if (url === location.pathname + location.search + location.hash) return;
  if (options.replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  window.dispatchEvent(new Event(CHANGE));
}

/** Re-renders on every navigation; returns the panel path and its query. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const update = () => setTick((n) => n + 1);
    window.addEventListener("popstate", update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  return { path: currentPath(), query: new URLSearchParams(location.search) };
}

/** Changes some query parameters of the current page ("" or undefined removes one). */
export function setQuery(changes: Record<string, string | number | undefined>, replace = false): void {
  const query = new URLSearchParams(location.search);
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined || value === "") query.delete(name);
    else query.set(name, String(value));
  }
  const search = query.toString();
  navigate(`${currentPath()}${search ? `?${search}` : ""}`, { replace });
}

/** Same-tab clicks on panel links navigate without a reload; modified clicks keep the browser's behaviour. */
export function onLinkClick(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey)
    return;
  const anchor = (event.target as Element).closest("a");
  if (!anchor || anchor.target || anchor.hasAttribute("download")) return;
  const url = new URL(anchor.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(`${CONFIG.panel}/`)) return;
  event.preventDefault();
  navigate(url.pathname.slice(CONFIG.panel.length) + url.search + url.hash);
}
