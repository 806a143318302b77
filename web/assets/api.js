// The HTTP API, with the caller's token. Errors carry the API's code, its sentence (message) and
// whatever else it said (`details`: per-row reasons in `rows`, `available`, `resets_at`, ...).
import { bearerToken } from "./auth.js";
import { apiUrl } from "./config.js";
import { LOCALE, t } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

const FALLBACK = {
  401: "api.signInFirst",
  429: "api.tooMany",
};

export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const sent = { accept: "application/json", "accept-language": LOCALE, ...headers };
  const token = bearerToken();
  if (token) sent.authorization = `Bearer ${token}`;
  if (body !== undefined) sent["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(apiUrl(path), {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", t("api.network"));
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const { code, message, ...details } = data?.error ?? {};
    // The API's sentences are English (docs/design.md, "Languages"); its codes are what pages explain.
    const fallback = FALLBACK[response.status];
    const sentence = message || data?.message || (fallback ? t(fallback) : t("api.status", { status: response.status }));
    throw new ApiError(response.status, code || `http_${response.status}`, sentence, details);
  }
  return data;
}

export function idempotencyKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
