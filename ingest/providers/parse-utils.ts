import { BadRequestError } from '../../shared/errors/errors.ts';
import { InvalidPhoneError, normalisePhone } from '../../shared/phone/phone.ts';
import { extractRefCode } from '../attribution/ref-code.ts';
import type { ClickReferral, Sender } from './provider-types.ts';

/**
 * Defensive readers for untrusted JSON. Every failure is a BadRequestError
 * whose message names the field, never its value.
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export function bad(message: string): never {
  throw new BadRequestError(message, 'invalid_payload');
}

export function parseJson(raw: Buffer): Json {
  try {
    return JSON.parse(raw.toString('utf8')) as Json;
  } catch {
    throw new BadRequestError('request body is not valid JSON', 'malformed_body');
  }
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function obj(v: unknown, field: string): JsonObject {
  if (!isObject(v)) bad(`${field} must be an object`);
  return v;
}

export function optObj(v: unknown, field: string): JsonObject | undefined {
  if (v === undefined || v === null) return undefined;
  return obj(v, field);
}

export function arr(v: unknown, field: string): Json[] {
  if (!Array.isArray(v)) bad(`${field} must be an array`);
  return v;
}

export function optArr(v: unknown, field: string): Json[] {
  if (v === undefined || v === null) return [];
  return arr(v, field);
}

const MAX_ID = 512;

/** A non-empty identifier-like string of bounded length. */
export function str(v: unknown, field: string, max = MAX_ID): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) bad(`${field} must be a non-empty string`);
  return v;
}

export function optStr(v: unknown, field: string, max = MAX_ID): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  return str(v, field, max);
}

const EARLIEST = Date.UTC(2009, 0, 1); // before WhatsApp existed
const MAX_FUTURE_MS = 24 * 3600 * 1000;

/**
 * Unix time as the providers send it (a number or a digit string), in seconds
 * or milliseconds: the magnitude decides (Gupshup sends ms even in its
 * Meta-format callbacks). Absurd values are refused.
 */
export function epoch(v: unknown, field: string, now: number): Date {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^\d{1,16}$/.test(v)) n = Number(v);
  else bad(`${field} must be a Unix timestamp`);
  if (!Number.isFinite(n) || n <= 0) bad(`${field} must be a Unix timestamp`);
  const ms = n >= 1e11 ? n : n * 1000;
  return checkTime(ms, field, now);
}

export function isoTime(v: unknown, field: string, now: number): Date {
  if (typeof v !== 'string' || v.length > 40) bad(`${field} must be an ISO-8601 time`);
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) bad(`${field} must be an ISO-8601 time`);
  return checkTime(ms, field, now);
}

function checkTime(ms: number, field: string, now: number): Date {
  if (ms < EARLIEST || ms > now + MAX_FUTURE_MS) bad(`${field} is out of range`);
  return new Date(Math.floor(ms));
}

/** Normalises a sender phone; the error never echoes the number. */
export function phoneSender(raw: unknown, field: string): Sender {
  if (typeof raw !== 'string') bad(`${field} must be a phone number`);
  try {
    return { kind: 'phone', e164: normalisePhone(raw) };
  } catch (err) {
    if (err instanceof InvalidPhoneError) throw new BadRequestError(`${field} is not a valid phone number`, 'invalid_phone');
    throw err;
  }
}

/** Only the attribution fields of a Click-to-WhatsApp referral; ad creative is dropped. */
export function referralFrom(fields: {
  ctwaClid?: unknown;
  sourceId?: unknown;
  sourceType?: unknown;
  sourceUrl?: unknown;
}): ClickReferral | undefined {
  const r: ClickReferral = {
    ctwaClid: optStr(fields.ctwaClid, 'referral.ctwa_clid', 1024),
    sourceId: optStr(fields.sourceId, 'referral.source_id', 128),
    sourceType: optStr(fields.sourceType, 'referral.source_type', 32),
    sourceUrl: optStr(fields.sourceUrl, 'referral.source_url', 2048),
  };
  if (!r.ctwaClid && !r.sourceId && !r.sourceUrl) return undefined;
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as ClickReferral;
}

/** The ref code in a message text, if any; the text itself goes no further. */
export function refFromText(text: unknown): string | undefined {
  return typeof text === 'string' ? extractRefCode(text) : undefined;
}
