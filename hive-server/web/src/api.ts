// REST access: the token (kept in sessionStorage, this tab only) as a bearer
// header, JSON in and out, and the server's `{error: {code, message}}` turned
// into an ApiError. A 401 anywhere calls the handler that returns to sign-in.

const TOKEN_KEY = 'hive.token';

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The request never reached an answer (server down, network gone). */
export class NetworkError extends Error {}

let onUnauthorized: () => void = () => {};

export function setUnauthorizedHandler(f: () => void): void {
  onUnauthorized = f;
}

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(t: string | null): void {
  try {
    if (t === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, t);
  } catch {
    /* storage unavailable: the token lives for this page only */
  }
}

export interface ApiOptions {
  /**
   * A 401 does not return to sign-in: the request carried a token of its own
   * (an approver's, typed for that one request), whose refusal says nothing
   * about the tab's session.
   */
  keepSession?: boolean;
}

export async function api<T>(method: string, path: string, body?: unknown, token = getToken(), opts: ApiOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let init: RequestInit = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init = { ...init, body: JSON.stringify(body) };
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new NetworkError(`cannot reach the server (${String(e)})`);
  }
  const text = await res.text().catch(() => '');
  let json: unknown = undefined;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  if (!res.ok) {
    const detail = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    const err = new ApiError(
      res.status,
      detail?.code ?? `http_${res.status}`,
      detail?.message ?? (text.slice(0, 200) || `${res.status} ${res.statusText}`),
    );
    if (res.status === 401 && !opts.keepSession) onUnauthorized();
    throw err;
  }
  return json as T;
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return `${e.status} ${e.code}: ${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}

export function qs(params: Record<string, string | number | undefined | null>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}
