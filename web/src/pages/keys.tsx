/**
 * API keys: the list (bootstrap keys from the environment first), create with scopes and an expiry, rotate with
 * a grace period, revoke. A new secret is shown once, in this page only, and never again.
 */
import { useState } from "preact/hooks";
import { SCOPES } from "../../../src/auth/scopes.js";
import { type ApiKey, api } from "../api.js";
import { CopyButton, ErrorNote, Field, Loading, Modal } from "../components.js";
import { formatTime } from "../format.js";
import { useLoad } from "../hooks.js";
import { t } from "../i18n/index.js";
import { setQuery, useLocation } from "../router.js";

const EXPIRIES = ["", "30d", "90d", "1y"] as const;

export function KeysPage() {
  const { query } = useLocation();
  const includeRevoked = query.get("revoked") === "1";
  const keys = useLoad(() => api.keys.list({ includeRevoked }), [includeRevoked]);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ name: string; token: string } | null>(null);
  const [error, setError] = useState<unknown>(null);

  const rotate = async (key: ApiKey) => {
    const grace = prompt(t("keys.gracePrompt"), "3600");
    if (grace === null) return;
    const seconds = Number(grace);
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 86_400)
      return setError(new Error(t("keys.badGrace")));
    try {
      const rotated = await api.keys.rotate(key.id, seconds);
      setSecret({ name: rotated.name, token: rotated.token });
      keys.reload();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (key: ApiKey) => {
    if (!confirm(t("keys.confirmRevoke", { name: key.name }))) return;
    try {
      await api.keys.revoke(key.id);
      keys.reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <div class="page">
      <div class="page-head">
        <h1>{t("nav.keys")}</h1>
        <div class="actions">
          <label class="inline">
            <input
              type="checkbox"
              checked={includeRevoked}
              onChange={(e) => setQuery({ revoked: e.currentTarget.checked ? "1" : undefined })}
            />{" "}
            {t("keys.showRevoked")}
          </label>
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            + {t("keys.create")}
          </button>
        </div>
      </div>
      {secret && (
        <div class="secret" role="alert" data-testid="secret">
          <p>
            <strong>{t("keys.secretOnce", { name: secret.name })}</strong>
          </p>
          <code class="token">{secret.token}</code> <CopyButton text={secret.token} />
          <p>
            <button type="button" onClick={() => setSecret(null)}>
              {t("keys.secretSaved")}
            </button>
          </p>
        </div>
      )}
      <ErrorNote error={error ?? keys.error} />
      {!keys.data ? (
        <Loading />
      ) : (
        <div class="table-wrap">
          <table data-testid="keys-table">
            <thead>
              <tr>
                <th>{t("keys.name")}</th>
                <th>{t("keys.key")}</th>
                <th>{t("keys.scopes")}</th>
                <th>{t("keys.source")}</th>
                <th>{t("keys.created")}</th>
                <th>{t("keys.expires")}</th>
                <th>{t("keys.lastUsed")}</th>
                <th>{t("links.actions")}</th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((key) => (
                <tr key={key.id} class={key.revoked_at ? "revoked" : ""} data-key={key.name}>
                  <td>
                    {key.name}
                    {key.description && <div class="muted small">{key.description}</div>}
                  </td>
                  <td>
                    <code>{key.display}</code>
                  </td>
                  <td>
                    {key.scopes.map((s) => (
                      <span class="tag" key={s}>
                        {s}
                      </span>
                    ))}
                  </td>
                  <td>{key.source}</td>
                  <td class="nowrap">{formatTime(key.created_at)}</td>
                  <td class="nowrap">
                    {key.revoked_at
                      ? t("keys.revokedAt", { at: formatTime(key.revoked_at) })
                      : formatTime(key.expires_at)}
                  </td>
                  <td class="nowrap">{formatTime(key.last_used_at)}</td>
                  <td class="row-actions">
                    {key.source === "api" && !key.revoked_at ? (
                      <>
                        <button type="button" class="small" onClick={() => rotate(key)}>
                          {t("keys.rotate")}
                        </button>
                        <button type="button" class="small danger" onClick={() => revoke(key)}>
                          {t("keys.revoke")}
                        </button>
                      </>
                    ) : (
                      <span class="muted small">
                        {key.revoked_at
                          ? ""
                          : key.source === "env"
                            ? t("keys.fromEnv")
                            : t("keys.managed", { owner: key.source })}
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Modal title={t("keys.create")} open={creating} onClose={() => setCreating(false)}>
        <CreateKey
          onCreated={(name, token) => {
            setCreating(false);
            setSecret({ name, token });
            keys.reload();
          }}
        />
      </Modal>
    </div>
  );
}

function CreateKey({ onCreated }: { onCreated: (name: string, token: string) => void }) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [scopes, setScopes] = useState<Set<string>>(new Set(["links:read"]));
  const [expires, setExpires] = useState<(typeof EXPIRIES)[number]>("90d");
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      const created = await api.keys.create({
        name: name.trim(),
        scopes: SCOPES.filter((s) => scopes.has(s)),
        ...(description.trim() ? { description: description.trim() } : {}),
        ...(expires ? { expires_in: expires } : {}),
      });
      onCreated(created.data.name, created.data.token);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form onSubmit={submit} data-testid="create-key">
      <Field label={t("keys.name")}>
        <input
          name="name"
          required
          maxLength={128}
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
      </Field>
      <Field label={t("keys.description")}>
        <input
          name="description"
          value={description}
          onInput={(e) => setDescription(e.currentTarget.value)}
        />
      </Field>
      <fieldset>
        <legend>{t("keys.scopes")}</legend>
        {SCOPES.map((scope) => (
          <label key={scope} class="inline">
            <input
              type="checkbox"
              name="scope"
              value={scope}
              checked={scopes.has(scope)}
              onChange={(e) => {
                const next = new Set(scopes);
                if (e.currentTarget.checked) next.add(scope);
                else next.delete(scope);
                setScopes(next);
              }}
            />{" "}
            {scope}
          </label>
        ))}
      </fieldset>
      <Field label={t("keys.expires")}>
        <select
          name="expires"
          value={expires}
          onChange={(e) => setExpires(e.currentTarget.value as typeof expires)}
        >
          {EXPIRIES.map((e) => (
            <option key={e} value={e}>
              {e === "" ? t("links.never") : t("links.inPreset", { preset: e })}
            </option>
          ))}
        </select>
      </Field>
      <ErrorNote error={error} />
      <div class="form-actions">
        <button type="submit" class="primary" disabled={scopes.size === 0}>
          {t("keys.create")}
        </button>
      </div>
    </form>
  );
}
