import crypto from 'node:crypto';
import type pg from 'pg';
import QRCode from 'qrcode';
import { generateSecret, generateURI, verify } from 'otplib';
import { withTransaction } from '../../shared/db/pools.ts';
import { BadRequestError, ConflictError, TooManyRequestsError } from '../../shared/errors/errors.ts';
import type { TotpSecretBox } from './totp-secret-box.ts';

export const TOTP_ISSUER = 'WAct';
export const RECOVERY_CODE_COUNT = 10;
const CODE_PATTERN = /^\d{6}$/;

export interface TotpStatus {
  enrolled: boolean;
  lockedUntil: string | null;
}

/** Outcome of one checked code, so the caller can audit precisely. */
export type TotpCheck =
  | { ok: true; method: 'totp' | 'recovery_code'; remainingRecoveryCodes?: number }
  | { ok: false; reason: 'invalid' | 'replayed'; lockedNow: boolean; failures: number };

export function recoveryCodeDigest(userId: string, code: string): Buffer {
  const normalised = code.toLowerCase().replace(/[^a-z0-9]/g, '');
  return crypto.createHash('sha256').update(`wact.recovery.v1\0${userId}\0${normalised}`).digest();
}

function newRecoveryCode(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789'; // no 0/o, 1/l/i
  const bytes = crypto.randomBytes(12);
  const chars = [...bytes].map((b) => alphabet[b % alphabet.length]).join(''); // 31^12 ≈ 2^59
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`;
}

interface CredentialRow {
  secret_ct: Buffer;
  wrapped_key: Buffer;
  confirmed_at: Date | null;
  last_time_step: string | null;
  failed_attempts: number;
  locked: boolean;
  locked_until: Date | null;
}

/**
 * RFC 6238 TOTP (SHA-1, 6 digits, 30 s: what authenticator apps support) with
 * otplib 13. One step of clock drift either way is accepted; a step once used
 * is never accepted again (replay), enforced under a row lock so two
 * concurrent requests cannot both spend it. `maxFailures` wrong codes in a row
 * lock TOTP (and recovery codes) for `lockMs`.
 */
export function createTotpService(deps: { pool: pg.Pool; box: TotpSecretBox; maxFailures: number; lockMs: number; now?: () => number }) {
  const { pool, box } = deps;
  const nowSeconds = () => Math.floor((deps.now ?? Date.now)() / 1000);

  async function status(userId: string): Promise<TotpStatus> {
    const { rows } = await pool.query<{ confirmed_at: Date | null; locked_until: Date | null }>(
      'SELECT confirmed_at, CASE WHEN locked_until > now() THEN locked_until END AS locked_until FROM wact.totp_credentials WHERE user_id = $1',
      [userId],
    );
    return { enrolled: !!rows[0]?.confirmed_at, lockedUntil: rows[0]?.locked_until?.toISOString() ?? null };
  }

  /** Starts (or restarts, while unconfirmed) enrollment: a new secret, its otpauth URI and a QR code image. */
  async function beginEnrollment(userId: string, label: string): Promise<{ otpauthUri: string; qrCode: string; secret: string }> {
    const secret = generateSecret({ length: 20 });
    const sealed = await box.seal(userId, secret);
    const { rowCount } = await pool.query(
      `INSERT INTO wact.totp_credentials AS t (user_id, secret_ct, wrapped_key, kek_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id) DO UPDATE SET secret_ct = EXCLUDED.secret_ct, wrapped_key = EXCLUDED.wrapped_key,
              kek_id = EXCLUDED.kek_id, last_time_step = NULL, created_at = now()
        WHERE t.confirmed_at IS NULL`,
      [userId, sealed.secretCt, sealed.wrappedKey, sealed.kekId],
    );
    if (!rowCount) throw new ConflictError('TOTP is already set up for this account', 'totp_already_enrolled');
    const otpauthUri = generateURI({ issuer: TOTP_ISSUER, label, secret });
    const qrCode = await QRCode.toDataURL(otpauthUri, { errorCorrectionLevel: 'M', margin: 1, width: 240 });
    return { otpauthUri, qrCode, secret };
  }

  /**
   * Checks a code (or recovery code) under the credential's row lock and
   * records the outcome. `confirm` accepts only an unconfirmed credential and
   * confirms it.
   */
  async function check(userId: string, input: { code?: string; recoveryCode?: string }, mode: 'confirm' | 'verify'): Promise<TotpCheck> {
    return withTransaction(pool, async (client) => {
      const { rows } = await client.query<CredentialRow>(
        `SELECT secret_ct, wrapped_key, confirmed_at, last_time_step, failed_attempts,
                (locked_until IS NOT NULL AND locked_until > now()) AS locked, locked_until
           FROM wact.totp_credentials WHERE user_id = $1 FOR UPDATE`,
        [userId],
      );
      const row = rows[0];
      if (!row)
        throw new BadRequestError(
          mode === 'confirm' ? 'start TOTP enrollment first' : 'TOTP is not set up for this account',
          'totp_not_enrolled',
        );
      if (mode === 'confirm' && row.confirmed_at)
        throw new ConflictError('TOTP is already set up for this account', 'totp_already_enrolled');
      if (mode === 'verify' && !row.confirmed_at) throw new BadRequestError('finish TOTP enrollment first', 'totp_not_enrolled');
      if (row.locked)
        throw new TooManyRequestsError(`too many wrong codes: TOTP is locked until ${row.locked_until!.toISOString()}`, 'totp_locked');

      let success: { method: 'totp' | 'recovery_code'; step?: number; remaining?: number } | undefined;
      let reason: 'invalid' | 'replayed' = 'invalid';
      if (input.recoveryCode !== undefined) {
        if (mode !== 'verify') throw new BadRequestError('recovery codes are for signing in, not enrollment', 'invalid_code');
        const used = await client.query(
          'UPDATE wact.recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL',
          [userId, recoveryCodeDigest(userId, input.recoveryCode.slice(0, 64))],
        );
        if (used.rowCount) {
          const left = await client.query<{ n: string }>(
            'SELECT count(*) AS n FROM wact.recovery_codes WHERE user_id = $1 AND used_at IS NULL',
            [userId],
          );
          success = { method: 'recovery_code', remaining: Number(left.rows[0].n) };
        }
      } else if (typeof input.code === 'string' && CODE_PATTERN.test(input.code)) {
        const secret = await box.open(userId, { secretCt: row.secret_ct, wrappedKey: row.wrapped_key });
        const last = row.last_time_step === null ? undefined : Number(row.last_time_step);
        const epoch = nowSeconds();
        const result = await verify({ secret, token: input.code, epochTolerance: 30, epoch, afterTimeStep: last });
        if (result.valid) success = { method: 'totp', step: (result as unknown as { timeStep: number }).timeStep };
        else if (last !== undefined && (await verify({ secret, token: input.code, epochTolerance: 30, epoch })).valid) reason = 'replayed';
      }

      if (success) {
        await client.query(
          `UPDATE wact.totp_credentials SET failed_attempts = 0, locked_until = NULL,
                  last_time_step = COALESCE($2, last_time_step),
                  confirmed_at = CASE WHEN $3 THEN now() ELSE confirmed_at END
            WHERE user_id = $1`,
          [userId, success.step ?? null, mode === 'confirm'],
        );
        return { ok: true, method: success.method, remainingRecoveryCodes: success.remaining };
      }
      const failures = row.failed_attempts + 1;
      const lockedNow = failures >= deps.maxFailures;
      await client.query(
        `UPDATE wact.totp_credentials SET failed_attempts = $2,
                locked_until = CASE WHEN $3 THEN now() + make_interval(secs => $4::double precision / 1000) ELSE locked_until END
          WHERE user_id = $1`,
        [userId, lockedNow ? 0 : failures, lockedNow, deps.lockMs],
      );
      return { ok: false, reason, lockedNow, failures };
    });
  }

  /** Issues a fresh set of recovery codes (replacing any), returned once in clear, stored hashed. */
  async function issueRecoveryCodes(userId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await withTransaction(pool, async (client) => {
      await client.query('DELETE FROM wact.recovery_codes WHERE user_id = $1', [userId]);
      for (const code of codes) {
        await client.query('INSERT INTO wact.recovery_codes (user_id, code_hash) VALUES ($1, $2)', [
          userId,
          recoveryCodeDigest(userId, code),
        ]);
      }
    });
    return codes;
  }

  return { status, beginEnrollment, check, issueRecoveryCodes };
}

export type TotpService = ReturnType<typeof createTotpService>;
