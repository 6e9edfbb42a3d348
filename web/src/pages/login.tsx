/** The login form: the admin password → the session cookies. After too many tries it shows how long to wait. */
import { useEffect, useState } from "preact/hooks";
import { login } from "../api.js";
import { Field } from "../components.js";
import { type Language, LANGUAGES, t } from "../i18n/index.js";

export function LoginPage(props: {
  language: Language;
  onLanguage: (l: Language) => void;
  onLogin: () => void;
}) {
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [waitUntil, setWaitUntil] = useState(0);
  const [now, setNow] = useState(Date.now());
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (waitUntil <= Date.now()) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [waitUntil]);
  const waitSeconds = Math.max(0, Math.ceil((waitUntil - now) / 1000));

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const failure = await login(password).catch((err: Error) => ({
      status: 0,
      message: err.message,
      retryAfter: null,
    }));
    setBusy(false);
    if (failure === null) {
      setPassword("");
      props.onLogin();
      return;
    }
    // The server's 401 says "Invalid admin token" (Shortlinker's words); a person typed a password.
    setError(failure.status === 401 ? t("login.wrong") : failure.message);
    if (failure.retryAfter) {
      setWaitUntil(Date.now() + failure.retryAfter * 1000);
      setNow(Date.now());
    }
  };

  return (
    <main class="login">
      <form class="card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">{t("login.title")}</h1>
        <Field label={t("login.password")}>
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            autoFocus
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </Field>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {waitSeconds > 0 && (
          <p class="warning" role="status" data-testid="retry-after">
            {t("login.retryAfter", { seconds: waitSeconds })}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy || waitSeconds > 0}>
          {t("login.submit")}
        </button>
        <details class="hint">
          <summary>{t("login.whereTitle")}</summary>
          <p>{t("login.whereBody")}</p>
        </details>
        <label class="inline">
          {t("common.language")}{" "}
          <select
            value={props.language}
            onChange={(e) => props.onLanguage(e.currentTarget.value as Language)}
          >
            {LANGUAGES.map(([code, name]) => (
              <option key={code} value={code}>
                {name}
              </option>
            ))}
          </select>
        </label>
      </form>
    </main>
  );
}
