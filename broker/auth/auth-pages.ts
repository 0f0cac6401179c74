import type express from 'express';
import { errorBody } from '../http/api-errors.ts';

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)} · WAct</title><style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}code{background:#eee;padding:.1rem .3rem}</style>
</head><body>${body}</body></html>`;
}

/** Browser navigations get a readable page, API callers JSON; never a stack or a secret. */
export function sendAuthError(req: express.Request, res: express.Response, err: unknown): void {
  const { status, code, message } = errorBody(err);
  if (res.headersSent) return void res.destroy();
  const wantsJson = req.accepts(['html', 'json']) === 'json' || !req.accepts('html');
  if (wantsJson) {
    res.status(status).json({ error: { code, message } });
    return;
  }
  res
    .status(status)
    .type('html')
    .send(
      page(
        'Sign-in problem',
        `<h1>Sign-in problem</h1><p>${escapeHtml(message)}</p><p><small>code: <code>${escapeHtml(code)}</code></small></p><p><a href="/auth/login">Start again</a></p>`,
      ),
    );
}

/**
 * Continues to `to` with a same-site navigation. A 302 straight out of the
 * issuer's redirect would make the browser treat the next request as
 * cross-site and withhold the SameSite=Strict session cookie.
 */
export function continueTo(res: express.Response, to: string): void {
  const safe = escapeHtml(to);
  res
    .status(200)
    .type('html')
    .send(page('Signed in', `<meta http-equiv="refresh" content="0;url=${safe}"><p>Signed in. <a href="${safe}">Continue</a></p>`));
}
