import crypto from 'node:crypto';
import express from 'express';
import { z } from 'zod';
import type { AuditEventInput } from '../../shared/audit/audit-types.ts';
import { BadRequestError, ForbiddenError, UnauthorizedError, WactError } from '../../shared/errors/errors.ts';
import { authenticateRequest, checkCsrf, clientIp } from '../http/mount-routes.ts';
import { clearLoginCookie, clearSessionCookie, LOGIN_COOKIE, readCookie, setLoginCookie, setSessionCookie } from './cookies.ts';
import { continueTo, escapeHtml, page, sendAuthError } from './auth-pages.ts';
import type { IdentityRuntime } from './identity-runtime.ts';
import { OidcExchangeError } from './oidc-client.ts';
import type { SessionStage, SessionUser } from './session-service.ts';
import { csrfTokenFor, digest, randomToken, safeEqual } from './tokens.ts';
import { userActor } from './user-service.ts';

const LOGIN_TTL_S = 600;
const DEVICE_TTL_S = 600;

const callbackQuery = z.object({
  code: z.string().min(1).max(2048).optional(),
  state: z.string().min(1).max(512).optional(),
  iss: z.string().max(2048).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(1000).optional(),
  session_state: z.string().max(512).optional(),
});
const codeBody = z.object({ code: z.string().trim().max(16) });
const recoveryBody = z.object({ recoveryCode: z.string().trim().min(1).max(64) });
const deviceTokenBody = z.object({ deviceCode: z.string().min(10).max(200) });
const userCodeSchema = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z0-9]{4}-?[A-Z0-9]{4}$/);

/** A relative path on this origin only (no scheme, no `//host`, no backslashes). */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || value.length > 1000) return '/';
  if (!value.startsWith('/') || value.startsWith('//') || value.includes('\\') || /\p{Cc}/u.test(value)) return '/';
  return value;
}

function short(value: string): string {
  return crypto.createHash('sha256').update(value).digest('hex').slice(0, 16);
}

/**
 * /auth: sign-in through the issuer, TOTP enrollment and verification,
 * sign-out, CLI device login. Every outcome is audited as a platform event.
 */
export function createAuthRouter(rt: IdentityRuntime): express.Router & { me: express.RequestHandler } {
  const router = express.Router();
  const json = express.json({ limit: '16kb' });
  const form = express.urlencoded({ extended: false, limit: '4kb' });
  const origin = () => new URL(rt.settings.publicUrl).origin;

  const audit = (event: Omit<AuditEventInput, 'outcome'> & { outcome?: AuditEventInput['outcome'] }) =>
    rt.audit.append({ outcome: 'success', ...event } as AuditEventInput);
  const anonymous = (req: express.Request): AuditEventInput['actor'] => ({ id: `anonymous:${clientIp(req)}`, kind: 'anonymous' });
  const sessionActor = (s: SessionUser) =>
    userActor({ id: s.userId, kind: s.kind, displayName: s.displayName, employeeRole: s.employeeRole });
  const reqMeta = (req: express.Request) => ({
    clientIp: clientIp(req),
    userAgent: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 200) : undefined,
  });

  const wrap =
    (fn: (req: express.Request, res: express.Response) => Promise<void>) => async (req: express.Request, res: express.Response) => {
      try {
        await fn(req, res);
      } catch (err) {
        if (err instanceof WactError && err.status === 503) rt.logger.warn({ err: err.cause ?? err }, 'sign-in unavailable');
        else if (!(err instanceof WactError)) rt.logger.error({ err }, 'sign-in failed');
        sendAuthError(req, res, err);
      }
    };

  // ---- sign-in -------------------------------------------------------------
  router.get(
    '/login',
    wrap(async (req, res) => {
      await rt.limiter.hit(`ip:${clientIp(req)}:login`, rt.settings.ratePerIp);
      const start = await rt.oidc.startLogin();
      const loginId = randomToken();
      await rt.platform.pools.control.query(
        `INSERT INTO wact.oidc_logins (login_hash, state, nonce, code_verifier, return_to, expires_at)
       VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))`,
        [digest(loginId), start.state, start.nonce, start.codeVerifier, safeReturnTo(req.query.return_to), LOGIN_TTL_S],
      );
      setLoginCookie(res, loginId, LOGIN_TTL_S);
      res.redirect(302, start.url);
    }),
  );

  router.get(
    '/callback',
    wrap(async (req, res) => {
      await rt.limiter.hit(`ip:${clientIp(req)}:login`, rt.settings.ratePerIp);
      const parsed = callbackQuery.safeParse(req.query);
      const fail = async (code: string, message: string, status = 400, metadata: Record<string, string | number | boolean | null> = {}) => {
        await audit({ action: 'auth.login', actor: anonymous(req), outcome: 'failure', ...reqMeta(req), metadata: { code, ...metadata } });
        throw new WactError(status, code, message);
      };
      if (!parsed.success) return fail('invalid_callback', 'the sign-in response was malformed');
      const q = parsed.data;
      if (q.error)
        return fail('login_refused', 'the identity provider refused the sign-in', 400, {
          providerError: q.error.replace(/[^a-z_]/gi, '').slice(0, 50),
        });
      if (!q.code || !q.state) return fail('invalid_callback', 'the sign-in response was incomplete');
      const loginId = readCookie(req, LOGIN_COOKIE);
      clearLoginCookie(res);
      if (!loginId || loginId.length > 100)
        return fail('login_expired', 'this sign-in was not started in this browser or has expired: start again');
      // Consumed at most once: a replayed callback finds nothing.
      const { rows } = await rt.platform.pools.control.query<{
        state: string;
        nonce: string;
        code_verifier: string;
        return_to: string | null;
      }>(
        `UPDATE wact.oidc_logins SET consumed_at = now()
        WHERE login_hash = $1 AND consumed_at IS NULL AND expires_at > now()
        RETURNING state, nonce, code_verifier, return_to`,
        [digest(loginId)],
      );
      const login = rows[0];
      if (!login) return fail('login_expired', 'this sign-in was already used or has expired: start again');
      if (!safeEqual(login.state, q.state))
        return fail('invalid_state', 'the sign-in response does not belong to this sign-in (state mismatch)');

      let claims;
      try {
        claims = await rt.oidc.finishLogin(new URL(req.originalUrl, rt.settings.publicUrl), {
          state: login.state,
          nonce: login.nonce,
          codeVerifier: login.code_verifier,
        });
      } catch (err) {
        if (err instanceof OidcExchangeError)
          return fail('login_failed', 'the identity provider did not confirm this sign-in', 400, { reason: err.code.slice(0, 50) });
        throw err;
      }
      const resolution = await rt.users.resolve(claims);
      if (!resolution.ok) {
        return fail(
          'no_access',
          resolution.reason === 'not_invited'
            ? 'this account has no access to WAct yet: ask a workspace owner to invite you'
            : 'this account may not use WAct',
          403,
          {
            reason: resolution.reason,
            issuer: claims.iss.slice(0, 200),
            subjectDigest: short(`${claims.iss}\0${claims.sub}`),
          },
        );
      }
      const { user } = resolution;
      const actor = userActor(user);
      if (resolution.created && user.kind === 'employee') {
        await audit({
          action: 'employee.provision',
          actor,
          target: { type: 'user', id: user.id },
          ...reqMeta(req),
          metadata: { role: user.employeeRole ?? null },
        });
      }
      if (resolution.roleChange) {
        await audit({
          action: 'employee.role.change',
          actor,
          target: { type: 'user', id: user.id },
          metadata: { from: resolution.roleChange.from, to: resolution.roleChange.to, source: 'idp_groups' },
        });
      }
      for (const j of resolution.joined) {
        await audit({
          action: 'member.join',
          actor,
          workspaceId: j.workspaceId,
          region: j.region,
          target: { type: 'user', id: user.id },
          metadata: { role: j.role, via: 'invitation' },
        });
      }
      const totp = await rt.totp.status(user.id);
      let stage: SessionStage = 'active';
      if (totp.enrolled) stage = 'totp_verify';
      else if (user.kind === 'employee' || (await rt.members.anyRequiresTotp(user.id))) stage = 'totp_enroll';
      const { token, sessionId } = await rt.sessions.create({ userId: user.id, via: 'browser', stage, mfa: false, ...reqMeta(req) });
      await audit({
        action: 'auth.login',
        actor,
        target: { type: 'session', id: sessionId },
        sessionId,
        ...reqMeta(req),
        metadata: { stage, kind: user.kind },
      });
      setSessionCookie(res, token);
      continueTo(res, login.return_to ?? '/');
    }),
  );

  // ---- who am I (also answers while TOTP is pending) -----------------------
  const me = wrap(async (req, res) => {
    const { session, token } = await authenticateRequest(req, rt.sessions, { allowPending: true });
    const totp = await rt.totp.status(session.userId);
    const workspaces =
      session.kind === 'customer'
        ? (await rt.members.workspacesOf(session.userId)).map((w) => ({
            id: w.id,
            name: w.name,
            region: w.region,
            role: w.role,
            requireTotp: w.requireTotp,
          }))
        : [];
    res.json({
      id: session.userId,
      kind: session.kind,
      displayName: session.displayName,
      email: session.email,
      employeeRole: session.employeeRole,
      workspaces,
      totp: session.stage === 'totp_enroll' ? 'enroll' : session.stage === 'totp_verify' ? 'verify' : 'ok',
      totpEnrolled: totp.enrolled,
      mfa: session.mfa,
      session: { id: session.sessionId, via: session.via, expiresAt: session.expiresAt.toISOString() },
      csrfToken: session.via === 'browser' ? csrfTokenFor(token) : undefined,
    });
  });

  // ---- TOTP ----------------------------------------------------------------
  async function pendingOrActive(req: express.Request) {
    const auth = await authenticateRequest(req, rt.sessions, { allowPending: true });
    checkCsrf(req, auth.session.via, auth.token, origin());
    await rt.limiter.hit(`ip:${clientIp(req)}:totp`, rt.settings.ratePerIp);
    await rt.limiter.hit(`user:${auth.session.userId}:totp`, rt.settings.ratePerAccount);
    return auth;
  }

  /** After a good code: the session becomes active under a new token. */
  async function finish(res: express.Response, session: SessionUser, extra: Record<string, unknown> = {}) {
    const token = await rt.sessions.activate(session.sessionId, true);
    if (session.via === 'browser') setSessionCookie(res, token);
    res.json({ ok: true, totp: 'ok', csrfToken: session.via === 'browser' ? csrfTokenFor(token) : undefined, ...extra });
  }

  async function recordFailure(
    req: express.Request,
    session: SessionUser,
    action: string,
    result: { reason: string; lockedNow: boolean; failures: number },
  ) {
    const actor = sessionActor(session);
    await audit({
      action,
      actor,
      outcome: 'failure',
      sessionId: session.sessionId,
      target: { type: 'user', id: session.userId },
      ...reqMeta(req),
      metadata: { reason: result.reason, failures: result.failures },
    });
    if (result.lockedNow) {
      await audit({
        action: 'auth.totp.lockout',
        actor,
        outcome: 'denied',
        sessionId: session.sessionId,
        target: { type: 'user', id: session.userId },
        ...reqMeta(req),
        metadata: { lockMinutes: Math.round(rt.settings.totpLockMs / 60000) },
      });
      throw new WactError(429, 'totp_locked', 'too many wrong codes: TOTP is locked for a while');
    }
    throw new BadRequestError(
      result.reason === 'replayed' ? 'this code was already used: wait for the next one' : 'wrong code',
      result.reason === 'replayed' ? 'code_replayed' : 'invalid_code',
    );
  }

  router.post(
    '/totp/enroll',
    json,
    wrap(async (req, res) => {
      const { session } = await pendingOrActive(req);
      if (session.stage === 'totp_verify') throw new ForbiddenError('verify your existing TOTP first', 'totp_required');
      const enrollment = await rt.totp.beginEnrollment(session.userId, session.email ?? session.displayName);
      await audit({
        action: 'auth.totp.enroll.start',
        actor: sessionActor(session),
        sessionId: session.sessionId,
        target: { type: 'user', id: session.userId },
        ...reqMeta(req),
      });
      res.json(enrollment);
    }),
  );

  router.post(
    '/totp/confirm',
    json,
    wrap(async (req, res) => {
      const { session } = await pendingOrActive(req);
      if (session.stage === 'totp_verify') throw new ForbiddenError('verify your existing TOTP first', 'totp_required');
      const { code } = codeBody.parse(req.body ?? {});
      const result = await rt.totp.check(session.userId, { code }, 'confirm');
      if (!result.ok) return recordFailure(req, session, 'auth.totp.enroll', result);
      const recoveryCodes = await rt.totp.issueRecoveryCodes(session.userId);
      await audit({
        action: 'auth.totp.enroll',
        actor: sessionActor(session),
        sessionId: session.sessionId,
        target: { type: 'user', id: session.userId },
        ...reqMeta(req),
        metadata: { recoveryCodes: recoveryCodes.length },
      });
      await finish(res, session, { recoveryCodes });
    }),
  );

  router.post(
    '/totp/verify',
    json,
    wrap(async (req, res) => {
      const { session } = await pendingOrActive(req);
      if (session.stage !== 'totp_verify') throw new ConflictOrBad(session.stage);
      const { code } = codeBody.parse(req.body ?? {});
      const result = await rt.totp.check(session.userId, { code }, 'verify');
      if (!result.ok) return recordFailure(req, session, 'auth.totp.verify', result);
      await audit({
        action: 'auth.totp.verify',
        actor: sessionActor(session),
        sessionId: session.sessionId,
        target: { type: 'user', id: session.userId },
        ...reqMeta(req),
      });
      await finish(res, session);
    }),
  );

  router.post(
    '/totp/recover',
    json,
    wrap(async (req, res) => {
      const { session } = await pendingOrActive(req);
      if (session.stage !== 'totp_verify') throw new ConflictOrBad(session.stage);
      const { recoveryCode } = recoveryBody.parse(req.body ?? {});
      const result = await rt.totp.check(session.userId, { recoveryCode }, 'verify');
      if (!result.ok) return recordFailure(req, session, 'auth.recovery_code.use', result);
      await audit({
        action: 'auth.recovery_code.use',
        actor: sessionActor(session),
        sessionId: session.sessionId,
        target: { type: 'user', id: session.userId },
        ...reqMeta(req),
        metadata: { remaining: result.remainingRecoveryCodes ?? 0 },
      });
      await finish(res, session, { remainingRecoveryCodes: result.remainingRecoveryCodes });
    }),
  );

  // ---- sign-out --------------------------------------------------------------
  router.post(
    '/logout',
    wrap(async (req, res) => {
      let auth;
      try {
        auth = await authenticateRequest(req, rt.sessions, { allowPending: true });
      } catch (err) {
        if (err instanceof UnauthorizedError) {
          clearSessionCookie(res);
          res.status(204).end();
          return;
        }
        throw err;
      }
      checkCsrf(req, auth.session.via, auth.token, origin());
      await rt.sessions.revoke(auth.session.sessionId, auth.session.userId, 'logout');
      await audit({
        action: 'auth.logout',
        actor: sessionActor(auth.session),
        sessionId: auth.session.sessionId,
        target: { type: 'session', id: auth.session.sessionId },
        ...reqMeta(req),
        metadata: { via: auth.session.via },
      });
      if (auth.session.via === 'browser') clearSessionCookie(res);
      res.status(204).end();
    }),
  );

  // ---- CLI device login ------------------------------------------------------
  router.post(
    '/cli/device',
    wrap(async (req, res) => {
      await rt.limiter.hit(`ip:${clientIp(req)}:device`, rt.settings.ratePerIp);
      const deviceCode = randomToken();
      const alphabet = 'BCDFGHJKLMNPQRSTVWXZ23456789';
      const raw = [...crypto.randomBytes(8)].map((b) => alphabet[b % alphabet.length]).join('');
      const userCode = `${raw.slice(0, 4)}-${raw.slice(4)}`;
      await rt.platform.pools.control.query(
        'INSERT INTO wact.device_logins (device_hash, user_code, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))',
        [digest(deviceCode), userCode, DEVICE_TTL_S],
      );
      const verificationUri = `${rt.settings.publicUrl}/auth/cli/device`;
      res.json({
        deviceCode,
        userCode,
        verificationUri,
        verificationUriComplete: `${verificationUri}?user_code=${userCode}`,
        expiresIn: DEVICE_TTL_S,
        interval: 2,
      });
    }),
  );

  router.get(
    '/cli/device',
    wrap(async (req, res) => {
      const parsedCode = userCodeSchema.safeParse(req.query.user_code ?? '');
      const here = `/auth/cli/device${parsedCode.success ? `?user_code=${encodeURIComponent(parsedCode.data)}` : ''}`;
      let auth;
      try {
        auth = await authenticateRequest(req, rt.sessions);
      } catch (err) {
        if (err instanceof UnauthorizedError && err.code === 'unauthenticated')
          return res.redirect(302, `/auth/login?return_to=${encodeURIComponent(here)}`);
        if (err instanceof UnauthorizedError) {
          res
            .status(401)
            .type('html')
            .send(
              page(
                'Finish signing in',
                `<h1>Finish signing in</h1><p>Complete TOTP in the <a href="/">console</a>, then <a href="${escapeHtml(here)}">come back here</a>.</p>`,
              ),
            );
          return;
        }
        throw err;
      }
      const csrf = csrfTokenFor(auth.token);
      res.type('html').send(
        page(
          'Approve CLI sign-in',
          `<h1>Sign in the WAct CLI</h1><p>Signed in as <b>${escapeHtml(auth.session.displayName)}</b>. Approve only if you just ran <code>wact login</code> and the code matches your terminal.</p>
<form method="post" action="/auth/cli/device/approve"><input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
<label>Code <input name="user_code" required value="${parsedCode.success ? escapeHtml(parsedCode.data) : ''}"></label>
<button name="decision" value="approve">Approve</button> <button name="decision" value="deny">Deny</button></form>`,
        ),
      );
    }),
  );

  router.post(
    '/cli/device/approve',
    form,
    json,
    wrap(async (req, res) => {
      const auth = await authenticateRequest(req, rt.sessions);
      if (auth.session.via !== 'browser') throw new ForbiddenError('approve from a browser session', 'forbidden');
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (typeof body.csrf === 'string' && !req.headers['x-csrf-token']) req.headers['x-csrf-token'] = body.csrf;
      checkCsrf(req, 'browser', auth.token, origin());
      const userCode = userCodeSchema.parse(body.user_code ?? body.userCode);
      const normalised = userCode.includes('-') ? userCode : `${userCode.slice(0, 4)}-${userCode.slice(4)}`;
      const approve = body.decision !== 'deny';
      const { rowCount } = await rt.platform.pools.control.query(
        `UPDATE wact.device_logins SET ${approve ? 'approved_by = $2, approved_at = now()' : 'denied_at = now()'}
        WHERE user_code = $1 AND approved_at IS NULL AND denied_at IS NULL AND consumed_at IS NULL AND expires_at > now()${approve ? '' : ' AND $2::uuid IS NOT NULL'}`,
        [normalised, auth.session.userId],
      );
      if (!rowCount) throw new BadRequestError('unknown or expired code', 'invalid_user_code');
      await audit({
        action: approve ? 'auth.cli.approve' : 'auth.cli.deny',
        actor: sessionActor(auth.session),
        sessionId: auth.session.sessionId,
        ...reqMeta(req),
      });
      if (req.is('application/json')) res.json({ ok: true, approved: approve });
      else
        res
          .type('html')
          .send(
            page(
              'CLI sign-in',
              `<h1>${approve ? 'Approved' : 'Denied'}</h1><p>You can close this tab${approve ? ' and return to your terminal' : ''}.</p>`,
            ),
          );
    }),
  );

  router.post(
    '/cli/token',
    json,
    wrap(async (req, res) => {
      await rt.limiter.hit(`ip:${clientIp(req)}:device-token`, rt.settings.ratePerIp * 10);
      const { deviceCode } = deviceTokenBody.parse(req.body ?? {});
      const { rows } = await rt.platform.pools.control.query<{
        approved_by: string | null;
        denied: boolean;
        expired: boolean;
        consumed: boolean;
      }>(
        `SELECT approved_by, denied_at IS NOT NULL AS denied, expires_at <= now() AS expired, consumed_at IS NOT NULL AS consumed
         FROM wact.device_logins WHERE device_hash = $1`,
        [digest(deviceCode)],
      );
      const row = rows[0];
      if (!row || row.consumed || row.expired)
        throw new BadRequestError('this device code is unknown, used or expired: run wact login again', 'expired_token');
      if (row.denied) throw new BadRequestError('the sign-in was denied in the browser', 'access_denied');
      if (!row.approved_by) throw new BadRequestError('waiting for approval in the browser', 'authorization_pending');
      const consumed = await rt.platform.pools.control.query(
        'UPDATE wact.device_logins SET consumed_at = now() WHERE device_hash = $1 AND consumed_at IS NULL',
        [digest(deviceCode)],
      );
      if (!consumed.rowCount) throw new BadRequestError('this device code was already used', 'expired_token');
      const user = await rt.users.get(row.approved_by);
      if (!user) throw new BadRequestError('unknown user', 'expired_token');
      const totp = await rt.totp.status(user.id);
      const { token, sessionId } = await rt.sessions.create({
        userId: user.id,
        via: 'cli',
        stage: 'active',
        mfa: totp.enrolled,
        ...reqMeta(req),
      });
      await audit({
        action: 'auth.login',
        actor: userActor(user),
        sessionId,
        target: { type: 'session', id: sessionId },
        ...reqMeta(req),
        metadata: { via: 'cli', kind: user.kind },
      });
      res.json({
        token,
        tokenType: 'Bearer',
        sessionId,
        expiresInSeconds: Math.floor(rt.settings.sessionMaxMs / 1000),
        user: { id: user.id, displayName: user.displayName, kind: user.kind, employeeRole: user.employeeRole },
      });
    }),
  );

  return Object.assign(router, { me });
}

class ConflictOrBad extends WactError {
  constructor(stage: SessionStage) {
    super(
      409,
      stage === 'totp_enroll' ? 'totp_enrollment_required' : 'totp_not_pending',
      stage === 'totp_enroll' ? 'set up TOTP first' : 'this session needs no TOTP code',
    );
  }
}
