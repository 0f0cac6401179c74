import { Agent, request } from 'undici';
import { categorise } from '../http/outbound-client.ts';
import { outboundCaList } from '../http/tls.ts';
import type { PlatformRequest } from './export-types.ts';

export interface SendOutcome {
  status: number | null;
  /** 2xx */
  ok: boolean;
  /** Worth retrying: network failure, timeout, 408, 429, 5xx. */
  retryable: boolean;
  errorCode?: string;
}

/**
 * HTTPS transport to the ad platforms. The response body is read and
 * discarded: platforms echo identifiers in errors, and we keep only the status.
 * `ca` is the extra CA (development CA or TLS_CA_FILE): it is *added* to the
 * system roots (outboundCaList), never passed alone, which would make every
 * publicly rooted platform certificate fail. Redirects are not followed
 * (undici's request): a 3xx counts as a failure.
 */
export function createExportSender(opts: { timeoutMs: number; ca?: string; allowHttp: boolean }) {
  const dispatcher = new Agent({
    connect: { ca: outboundCaList(opts.ca), minVersion: 'TLSv1.2' },
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
  });

  async function send(req: PlatformRequest): Promise<SendOutcome> {
    const url = new URL(req.url);
    if (url.protocol !== 'https:' && !(opts.allowHttp && url.protocol === 'http:')) {
      return { status: null, ok: false, retryable: false, errorCode: 'insecure_endpoint' };
    }
    try {
      const res = await request(url, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/json', ...req.headers },
        body: JSON.stringify(req.body),
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      await res.body.dump();
      const s = res.statusCode;
      return {
        status: s,
        ok: s >= 200 && s < 300,
        retryable: s === 408 || s === 429 || s >= 500,
        ...(s >= 300 ? { errorCode: `http_${s}` } : {}),
      };
    } catch (err) {
      const category = categorise(err);
      return {
        status: null,
        ok: false,
        retryable: true,
        errorCode: category === 'timeout' ? 'timeout' : category === 'tls_failed' ? 'tls_error' : 'network_error',
      };
    }
  }

  return { send, close: () => dispatcher.close() };
}

export type ExportSender = ReturnType<typeof createExportSender>;
