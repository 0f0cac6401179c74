/* eslint-disable @typescript-eslint/no-explicit-any -- loosely shaped broker JSON, read field by field with fallbacks */
import { HttpError, fetchUtils } from 'react-admin';

/**
 * Every request of the console goes through here: same-origin cookies (the broker's
 * HttpOnly session cookie; the console never sees or stores a token), the CSRF token on
 * state-changing requests, an optional access reason, and the broker's JSON error shape
 * `{ error: { code, message } }` turned into a readable message.
 */
export const CSRF_HEADER = 'X-CSRF-Token';
export const REASON_HEADER = 'X-Wact-Reason';
/** Names under which the broker may hand out the (non-HttpOnly, per-session) CSRF token. */
const CSRF_COOKIES = ['wact_csrf', '__Host-wact_csrf', 'csrf_token', 'XSRF-TOKEN'];

let csrfToken: string | undefined;

/** The broker may also return the token in its `/api/me` answer; remember it in memory only. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token || undefined;
}

export function readCsrfToken(cookieString: string = typeof document === 'undefined' ? '' : document.cookie): string | undefined {
  if (csrfToken) return csrfToken;
  for (const part of cookieString.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (CSRF_COOKIES.includes(name)) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

export interface RequestOptions extends RequestInit {
  reason?: string;
}

export class ApiError extends HttpError {
  code: string;
  constructor(message: string, status: number, code: string, body: unknown) {
    super(message, status, body);
    this.code = code;
  }
}

function isStateChanging(method: string | undefined): boolean {
  return !!method && !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());
}

export function buildHeaders(options: RequestOptions = {}): Headers {
  const headers = new Headers(options.headers);
  if (!headers.has('Accept')) headers.set('Accept', 'application/json');
  if (options.body && typeof options.body === 'string' && !headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
  if (isStateChanging(options.method)) {
    const token = readCsrfToken();
    if (token) headers.set(CSRF_HEADER, token);
  }
  // Header values are Latin-1 only: characters beyond it would make fetch throw, so they are
  // replaced; requests with a body also carry the reason there verbatim.
  if (options.reason) headers.set(REASON_HEADER, options.reason.replace(/[^\x20-\x7e\xa0-\xff]/g, '?'));
  return headers;
}

function errorFrom(status: number, statusText: string, body: unknown): ApiError {
  const err = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  const message = err?.message || statusText || `Request failed (${status})`;
  // Page-wide conditions (e.g. the customer's key is disabled) are shown by a banner, not per request.
  if (err?.code && typeof window !== 'undefined')
    window.dispatchEvent(new CustomEvent('wact:api-error', { detail: { code: err.code, message } }));
  return new ApiError(message, status, err?.code ?? `http_${status}`, body);
}

/** A fetch that speaks the broker's conventions; same return shape as react-admin's fetchJson. */
export async function httpClient(url: string, options: RequestOptions = {}) {
  const { reason: _reason, ...init } = options;
  const response = await fetch(url, { ...init, headers: buildHeaders(options), credentials: 'same-origin' });
  const body = await response.text();
  let json: unknown;
  try {
    json = body ? JSON.parse(body) : undefined;
  } catch {
    json = undefined;
  }
  if (response.status < 200 || response.status >= 300) throw errorFrom(response.status, response.statusText, json);
  return { status: response.status, headers: response.headers, body, json: json as any };
}

/** Downloads a response body as a file (exports): the browser never gets a token in a URL. */
export async function downloadFile(
  url: string,
  fallbackName: string,
  options: RequestOptions = {},
): Promise<{ name: string; size: number }> {
  const response = await fetch(url, {
    ...options,
    headers: buildHeaders({ ...options, headers: { Accept: '*/*', ...(options.headers as object) } }),
    credentials: 'same-origin',
  });
  if (!response.ok) {
    let json: unknown;
    try {
      json = await response.json();
    } catch {
      json = undefined;
    }
    throw errorFrom(response.status, response.statusText, json);
  }
  const blob = await response.blob();
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  const name = match ? decodeURIComponent(match[1]) : fallbackName;
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
  return { name, size: blob.size };
}

export { fetchUtils };
