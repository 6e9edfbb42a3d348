/**
 * Admin sessions: HS256 JWTs signed with the runtime key `api.jwt_secret` (claims `sub: "admin"`, `iat`, `exp`,
 * `jti`, `token_type: access|refresh`, as Shortlinker issues them). Secret and lifetimes are read on every use,
 * so rotating the secret ends all sessions at once.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";
import type { ConfigService } from "../config/service.js";

export type TokenType = "access" | "refresh";

export interface IssuedSession {
  access: string;
  refresh: string;
  csrf: string;
  accessSeconds: number;
  refreshSeconds: number;
}

/** Clock skew tolerated when checking `exp`. */
const LEEWAY_SECONDS = 5;

export class SessionTokens {
  private keyFor = { secret: "", key: new Uint8Array() };

  constructor(private readonly config: ConfigService) {}

  async issue(): Promise<IssuedSession> {
    const accessSeconds = this.config.get("api.access_token_minutes") * 60;
    const refreshSeconds = this.config.get("api.refresh_token_days") * 86400;
    const [access, refresh] = await Promise.all([
      this.sign("access", accessSeconds),
      this.sign("refresh", refreshSeconds),
    ]);
    return { access, refresh, csrf: randomBytes(32).toString("base64url"), accessSeconds, refreshSeconds };
  }

  /** True when the token is a valid, unexpired JWT of the given type signed with the current secret. */
  async verify(token: string, type: TokenType): Promise<boolean> {
    try {
      const { payload } = await jwtVerify(token, this.key(), {
        algorithms: ["HS256"],
        subject: "admin",
        clockTolerance: LEEWAY_SECONDS,
      });
      // Sessions issued at or before api.sessions_not_before (logout everywhere, password change) are over.
      const issuedAtMs = typeof payload.iat_ms === "number" ? payload.iat_ms : 0;
      return payload.token_type === type && issuedAtMs > this.config.get("api.sessions_not_before");
    } catch {
      return false;
    }
  }

  private sign(type: TokenType, lifetimeSeconds: number): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      token_type: type,
      iat_ms: Math.max(Date.now(), this.config.get("api.sessions_not_before") + 1),
    })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject("admin")
      .setIssuedAt(now)
      .setExpirationTime(now + lifetimeSeconds)
      .setJti(randomUUID())
      .sign(this.key());
  }

  private key(): Uint8Array {
    const secret = this.config.get("api.jwt_secret");
    if (this.keyFor.secret !== secret) this.keyFor = { secret, key: new TextEncoder().encode(secret) };
    return this.keyFor.key;
  }
}
