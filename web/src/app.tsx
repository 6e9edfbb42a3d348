/** The signed-in shell (navigation, language, theme, sign-out) and the page for the current path. */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, csrfToken, logout, type Whoami, whenSignedOut } from "./api.js";
import { Loading } from "./components.js";
import { CONFIG } from "./config.js";
import { type Language, LANGUAGES, language, setLanguage, t } from "./i18n/index.js";
import { AboutPage } from "./pages/about.js";
import { AnalyticsPage } from "./pages/analytics.js";
import { AuditPage } from "./pages/audit.js";
import { DashboardPage } from "./pages/dashboard.js";
import { KeysPage } from "./pages/keys.js";
import { LinkPage } from "./pages/link.js";
import { LinksPage } from "./pages/links.js";
import { LoginPage } from "./pages/login.js";
import { SettingsPage } from "./pages/settings.js";
import { TagsPage } from "./pages/tags.js";
import { hrefOf, onLinkClick, useLocation } from "./router.js";
import { applyTheme, type Theme, theme } from "./theme.js";

const NAV = [
  ["/", "nav.dashboard"],
  ["/links", "nav.links"],
  ["/analytics", "nav.analytics"],
  ["/tags", "nav.tags"],
  ["/keys", "nav.keys"],
  ["/settings", "nav.settings"],
  ["/audit", "nav.audit"],
  ["/about", "nav.about"],
] as const;

function pageFor(path: string): ComponentChildren {
  if (path === "/" || path === "") return <DashboardPage />;
  if (path === "/links") return <LinksPage />;
  if (path.startsWith("/link/")) return <LinkPage code={decodeURIComponent(path.slice("/link/".length))} />;
  if (path === "/analytics") return <AnalyticsPage />;
  if (path === "/tags") return <TagsPage />;
  if (path === "/keys") return <KeysPage />;
  if (path === "/settings") return <SettingsPage />;
  if (path === "/audit") return <AuditPage />;
  if (path === "/about") return <AboutPage />;
  return (
    <div class="page">
      <h1>{t("common.notFound")}</h1>
      <p>
        <a href={hrefOf("/")}>{t("nav.dashboard")}</a>
      </p>
    </div>
  );
}

export function App() {
  const [, setLang] = useState<Language>(language());
  const [me, setMe] = useState<Whoami | null | undefined>(undefined);
  const { path } = useLocation();

  useEffect(() => {
    whenSignedOut(() => setMe(null));
    // No CSRF cookie means no session was ever started here: show the login form without asking the server
    // (whose 401 a browser would log as an error).
    if (!csrfToken()) setMe(null);
    else api.auth.whoami().then(setMe, () => setMe(null));
  }, []);
  useEffect(() => {
    const title = NAV.find(([href]) => href === path)?.[1];
    document.title = title ? `${t(title)} · jmp` : "jmp";
  });

  const changeLanguage = (next: Language) => {
    setLanguage(next);
    setLang(next);
  };

  if (me === undefined) return <Loading />;
  if (me === null) {
    return (
      <LoginPage
        language={language()}
        onLanguage={changeLanguage}
        onLogin={() => api.auth.whoami().then(setMe, () => setMe(null))}
      />
    );
  }
  return (
    <div class="shell" onClick={onLinkClick}>
      <header class="top">
        <a class="brand" href={hrefOf("/")}>
          jmp
        </a>
        <nav class="nav" aria-label={t("nav.label")}>
          {NAV.map(([href, label]) => (
            <a
              key={href}
              href={hrefOf(href)}
              aria-current={
                href === path || (href === "/links" && path.startsWith("/link/")) ? "page" : undefined
              }
            >
              {t(label)}
            </a>
          ))}
        </nav>
        <div class="tools">
          <select
            aria-label={t("common.language")}
            value={language()}
            onChange={(e) => changeLanguage(e.currentTarget.value as Language)}
          >
            {LANGUAGES.map(([code, name]) => (
              <option key={code} value={code}>
                {name}
              </option>
            ))}
          </select>
          <ThemeSelect />
          <SignOut onSignedOut={() => setMe(null)} />
        </div>
      </header>
      <main id="main">{pageFor(path)}</main>
      <footer class="foot muted">
        jmp {CONFIG.version} ·{" "}
        {t("common.signedInAs", {
          actor: me.actor === "session" ? t("common.admin") : (me.name ?? me.actor),
        })}
      </footer>
    </div>
  );
}

function ThemeSelect() {
  const [current, setCurrent] = useState<Theme>(theme());
  return (
    <select
      aria-label={t("common.theme")}
      value={current}
      onChange={(e) => {
        const next = e.currentTarget.value as Theme;
        applyTheme(next);
        setCurrent(next);
      }}
    >
      <option value="system">{t("theme.system")}</option>
      <option value="light">{t("theme.light")}</option>
      <option value="dark">{t("theme.dark")}</option>
    </select>
  );
}

function SignOut({ onSignedOut }: { onSignedOut: () => void }) {
  const out = async (everywhere: boolean) => {
    if (everywhere && !confirm(t("auth.confirmEverywhere"))) return;
    await logout(everywhere).catch(() => undefined);
    onSignedOut();
  };
  return (
    <span class="signout">
      <button type="button" onClick={() => out(false)}>
        {t("auth.logout")}
      </button>
      <button type="button" class="quiet" onClick={() => out(true)}>
        {t("auth.logoutEverywhere")}
      </button>
    </span>
  );
}
