/**
 * Masks literals in SQL text before it is stored in the audit log: values
 * that look like raw phone numbers, and values typed next to a password /
 * secret / token keyword. The statement still reads as what was run
 * ("SELECT … WHERE phone = '[masked phone]'") without holding the value.
 *
 * A small lexer (comments, quoted identifiers, standard / escape / dollar
 * quoted strings, numbers) keeps keywords inside strings or comments from
 * confusing it; it never throws and the output is stable under re-masking.
 */

import { MAX_STATEMENT_METADATA_JSON, looksLikeIdentifier, storableText } from '../../shared/audit/audit-validation.ts';

export const MASKED_PHONE = "'[masked phone]'";
export const MASKED_EMAIL = "'[masked email]'";
export const MASKED_SECRET = "'[masked secret]'";

const SECRET_WORD = /^(password|passwd|pwd|pass|secret|token|api_?key|apikey|credentials?|private_?key|client_secret|auth_?token)$/i;
const SECRET_NAME = /(^|[._])(password|passwd|pwd|secret|token|api_?key|apikey|credentials?|private_?key|client_secret)$/i;
const VERIFIER = /^(SCRAM-SHA-256\$|md5[0-9a-f]{32}$)/;
const DATE_LIKE =
  /^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4})([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*([+-]\d{2}(:?\d{2})?|Z)?\s*$/i;
// Starts only where a run starts (lookbehind): same matches, linear on long literals.
const EMAIL = /(?<![^\s@'"])[^\s@'"]+@[^\s@'"]+\.[^\s@.'"]{2,}/;
const UUID_LIKE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

function digitCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) n++;
  return n;
}

/** Whole value shaped like a phone number: +, digits, spaces, dots, dashes, parentheses. */
function isPhoneLike(value: string): boolean {
  const v = value.trim();
  if (!/^(\+|00)?[\d\s().\-/]+$/.test(v)) return false;
  const digits = digitCount(v);
  if (digits < 7 || digits > 15) return false;
  if (DATE_LIKE.test(v)) return false;
  // Plain integers of 7–9 digits are more often ids or amounts than phone numbers.
  if (/^\d+$/.test(v) && digits < 10) return false;
  return true;
}

/** A phone number written inside longer text (e.g. 'call +49 151 1234 5678'). */
function containsPhone(value: string): boolean {
  if (UUID_LIKE.test(value)) value = value.replace(new RegExp(UUID_LIKE.source, 'gi'), ' ');
  return (
    /(^|[^\w])\+\d[\d\s().-]{6,20}\d/.test(value) || /(^|\D)\d{10,15}(\D|$)/.test(value.replace(/[\s().-]/g, (c) => (c === ' ' ? ' ' : '')))
  );
}

function stringContent(token: string): string {
  // Strip prefix (E, U&, B, X, N) and quotes; good enough for classification.
  const q = token.indexOf("'");
  if (q >= 0) return token.slice(q + 1, -1).replace(/''/g, "'");
  const d = token.indexOf('$', 1);
  return token.slice(d + 1, token.length - d - 1);
}

/*
 * One pass, linear in the text (it runs for every statement on the gateway):
 * characters are tested by code, not by per-character regexes or slices, and
 * the output is the input with only the masked tokens replaced (copied in
 * spans, not character by character).
 */
export function maskStatement(sql: string): string {
  let out = '';
  let copied = 0; // sql[copied, i) still to be copied to out
  let i = 0;
  const n = sql.length;
  // Replaces sql[from, to) with text in the output, if it differs.
  const emit = (from: number, to: number, text: string, original: string) => {
    if (text === original) return;
    out += sql.slice(copied, from) + text;
    copied = to;
  };
  // The last few significant tokens (lower-cased words and operators) for context.
  const recent: string[] = [];
  const remember = (t: string) => {
    recent.push(t);
    if (recent.length > 3) recent.shift();
  };
  const secretContext = () => recent.some((t) => SECRET_WORD.test(t));

  while (i < n) {
    const c = sql.charCodeAt(i);
    const next = i + 1 < n ? sql.charCodeAt(i + 1) : -1;
    // -- line comment
    if (c === 45 /* - */ && next === 45) {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? n : end;
      const tok = sql.slice(i, stop);
      emit(i, stop, maskComment(tok), tok);
      i = stop;
      continue;
    }
    // /* nested block comment */
    if (c === 47 /* / */ && next === 42 /* * */) {
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
        const d = sql.charCodeAt(j);
        if (d === 47 && sql.charCodeAt(j + 1) === 42) {
          depth++;
          j += 2;
        } else if (d === 42 && sql.charCodeAt(j + 1) === 47) {
          depth--;
          j += 2;
        } else j++;
      }
      j = Math.min(j, n);
      const tok = sql.slice(i, j);
      emit(i, j, maskComment(tok), tok);
      i = j;
      continue;
    }
    // "quoted identifier"
    if (c === 34 /* " */) {
      let j = i + 1;
      while (j < n) {
        const q = sql.indexOf('"', j);
        if (q < 0) {
          j = n;
          break;
        }
        if (sql.charCodeAt(q + 1) === 34) j = q + 2;
        else {
          j = q;
          break;
        }
      }
      remember(sql.slice(i + 1, j).toLowerCase());
      i = j + 1;
      continue;
    }
    // string literal, with optional E / U& / B / X / N prefix
    const prefixLength = c === 39 ? 0 : literalPrefix(sql, i);
    if (c === 39 /* ' */ || (prefixLength > 0 && !isWordCode(i > 0 ? sql.charCodeAt(i - 1) : -1))) {
      const start = i;
      const escapes = c === 69 || c === 101; // E'…' (the only prefix starting with e)
      let j = i + prefixLength + 1;
      while (j < n) {
        const d = sql.charCodeAt(j);
        if (escapes && d === 92 /* \ */) j += 2;
        else if (d === 39) {
          if (sql.charCodeAt(j + 1) === 39) j += 2;
          else break;
        } else j++;
      }
      const stop = Math.min(j + 1, n);
      const tok = sql.slice(start, stop);
      emit(start, stop, classifyString(tok, secretContext()), tok);
      // A literal naming a secret (set_config('app.api_key', …)) makes the next one secret.
      remember(SECRET_NAME.test(stringContent(tok)) ? 'secret' : "'");
      i = j + 1;
      continue;
    }
    // $tag$ dollar-quoted string $tag$ (not $1 parameters)
    if (c === 36 /* $ */ && !isWordCode(i > 0 ? sql.charCodeAt(i - 1) : -1)) {
      const m = /^\$([A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$/.exec(sql.slice(i, i + 66));
      if (m) {
        const tag = m[0];
        const end = sql.indexOf(tag, i + tag.length);
        const stop = end < 0 ? n : end + tag.length;
        if (end >= 0) {
          const tok = sql.slice(i, stop);
          emit(i, stop, classifyString(tok, secretContext()), tok);
        }
        remember("'");
        i = stop;
        continue;
      }
    }
    // numbers, with a sign that may belong to a phone number (+4915…)
    const sign = c === 43 /* + */ && isDigitCode(next) && !isWordCode(i > 0 ? sql.charCodeAt(i - 1) : -1);
    if (isDigitCode(c) || sign) {
      let j = i + (sign ? 1 : 0);
      while (j < n && isNumberCode(sql.charCodeAt(j))) j++;
      const tok = sql.slice(i, j);
      const digits = digitCount(tok);
      const phone = /^\+?\d+$/.test(tok) && ((sign && digits >= 8) || digits >= 10) && digits <= 15;
      if (phone) emit(i, j, MASKED_PHONE, tok);
      remember('0');
      i = j;
      continue;
    }
    if (isWordCode(c)) {
      let j = i + 1;
      while (j < n && isWordCode(sql.charCodeAt(j))) j++;
      remember(sql.slice(i, j).toLowerCase());
      i = j;
      continue;
    }
    // Other ASCII characters: operators and punctuation count as context, whitespace does not.
    if (!(c === 32 || (c >= 9 && c <= 13))) remember(sql[i]);
    i++;
  }
  return copied === 0 ? sql : out + sql.slice(copied);
}

/** Length of an E / U& / B / X / N prefix directly followed by a quote at i, else 0. */
function literalPrefix(sql: string, i: number): number {
  const c = sql.charCodeAt(i) | 0x20; // lower case for letters
  if ((c === 101 || c === 98 || c === 120 || c === 110) && sql.charCodeAt(i + 1) === 39) return 1; // e b x n
  if (c === 117 && sql.charCodeAt(i + 1) === 38 && sql.charCodeAt(i + 2) === 39) return 2; // u&
  return 0;
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isNumberCode(c: number): boolean {
  return isDigitCode(c) || c === 46 || c === 101 || c === 69 || c === 95; // . e E _
}

/** [\w\u0080-\uffff]: every UTF-16 unit from 0x80 on counts as a word character, as in PostgreSQL identifiers. */
function isWordCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 0x80;
}

function classifyString(token: string, secretContext: boolean): string {
  if (token === MASKED_PHONE || token === MASKED_SECRET || token === MASKED_EMAIL) return token;
  const content = stringContent(token);
  if (secretContext || VERIFIER.test(content)) return MASKED_SECRET;
  if (EMAIL.test(content)) return MASKED_EMAIL;
  if (isPhoneLike(content) || containsPhone(content)) return MASKED_PHONE;
  return token;
}

/** Comments may hold anything an engineer pasted: mask phone-shaped runs in them too. */
function maskComment(text: string): string {
  return text.replace(/\+?\d[\d\s().-]{6,20}\d/g, (m) => (isPhoneLike(m) ? '[masked phone]' : m));
}

/** Error messages quote input values ("invalid input syntax …: \"+4915…\""): same rules. */
export function maskMessage(text: string): string {
  return text
    .replace(/"([^"]*)"/g, (all, inner: string) => (isPhoneLike(inner) || containsPhone(inner) ? '"[masked phone]"' : all))
    .replace(/\+\d[\d\s().-]{6,20}\d/g, (m) => (isPhoneLike(m) ? '[masked phone]' : m));
}

/**
 * Last line of defence before the audit log, which refuses values that look
 * like raw identifiers: anything the lexer left (a digit run in an
 * identifier, an e-mail in a comment) is blanked so the record is written.
 *
 * Blanking never changes the length and only writes '#' (which JSON does not
 * escape), so the stored text is never longer than its input: the size
 * guarantee of statementRecordable holds whatever is blanked. It never
 * withholds the whole text either (a statement that could be hidden by adding
 * one e-mail-shaped comment would be an evasion): what is left after the
 * targeted passes loses its digits and '@'s, nothing else.
 */
export function auditSafe(text: string): string {
  if (!looksLikeIdentifier(text)) return text;
  let out = blankEmails(text).replace(NUMBER_RUN, (m) => m.replace(/\d/g, '#'));
  // Only shapes the targeted passes do not cover (e.g. a value that is all
  // digits with wide gaps) get here; with no digit and no '@' nothing can match.
  if (looksLikeIdentifier(out)) out = out.replace(/[0-9@]/g, '#');
  return out;
}

const NUMBER_RUN = /\+?\d(?:[\s()./-]{0,2}\d){6,}/g;
const SPACE_OR_AT = /[\s@]/;

/**
 * Every '@' that the audit log's e-mail pattern could use (a non-space before
 * it; after it, up to the next space or '@', a dot followed by two non-dots)
 * is blanked with the whole non-space runs on both sides. One pass, linear:
 * each run is looked at from at most its two '@' ends.
 */
function blankEmails(text: string): string {
  if (!text.includes('@')) return text;
  const chars = text.split('');
  const n = text.length;
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    if (at === 0 || SPACE_OR_AT.test(text[at - 1])) continue;
    let end = at + 1;
    while (end < n && !SPACE_OR_AT.test(text[end])) end++;
    if (!/^[^\s@]+\.[^\s@.]{2,}/.test(text.slice(at + 1, end))) continue;
    let start = at - 1;
    while (start > 0 && !SPACE_OR_AT.test(text[start - 1])) start--;
    for (let k = start; k < end; k++) chars[k] = '#';
  }
  return chars.join('');
}

/**
 * The largest statement the gateway records (UTF-8 bytes of SQL text, as on
 * the wire). Larger statements are refused before they run (54000): a
 * statement that cannot be recorded must not be executed.
 */
export const MAX_RECORDABLE_STATEMENT_BYTES = 256 * 1024;

/**
 * Worst-case growth of the stored statement's JSON text per UTF-16 unit of
 * SQL, and the constant on top. Masking replaces a literal of at least 2
 * characters ('' after PASSWORD), a number of at least 9, or a comment run of
 * at least 8 with a label of at most 17 plain characters (8.5 per unit); an
 * unterminated literal at the very end may be 1 character (the + 17); every
 * other character is copied and JSON escapes it to at most 6 (\u0001);
 * auditSafe never lengthens. UTF-16 units never exceed UTF-8 bytes.
 */
export const STATEMENT_JSON_GROWTH = 8.5;
const STATEMENT_JSON_CONSTANT = 17 + '"statement":"",'.length;
// Room for the other metadata of a statement record (24 keys at most, each
// string at most 200 characters, so at most 6 x 200 escaped).
const OTHER_METADATA_RESERVE = 24 * (6 * 200 + 72);
if (MAX_RECORDABLE_STATEMENT_BYTES * STATEMENT_JSON_GROWTH + STATEMENT_JSON_CONSTANT + OTHER_METADATA_RESERVE > MAX_STATEMENT_METADATA_JSON)
  throw new Error('MAX_RECORDABLE_STATEMENT_BYTES does not fit the audit log statement metadata limit');

const RECORDABLE = { ok: true } as const;

/**
 * Whether a statement (the text of a Query, or of a Parse) can be recorded in
 * full. The relay calls it before forwarding; a refusal is an ERROR with this
 * code and message for the client. O(1) for statements below a third of the
 * limit (UTF-8 has at most 3 bytes per UTF-16 unit); the message gives sizes,
 * never the text.
 */
export function statementRecordable(sql: string): { ok: true } | { ok: false; code: string; message: string } {
  if (sql.length * 3 <= MAX_RECORDABLE_STATEMENT_BYTES) return RECORDABLE;
  const bytes = Buffer.byteLength(sql, 'utf8');
  if (bytes <= MAX_RECORDABLE_STATEMENT_BYTES) return RECORDABLE;
  return {
    ok: false,
    code: '54000',
    message:
      `statement not run: it is ${bytes} bytes and the gateway records statements of at most ` +
      `${MAX_RECORDABLE_STATEMENT_BYTES} bytes (256 KiB); every statement must be recorded in full before it runs`,
  };
}

/**
 * The masked statement as audit metadata: the whole text in one `statement`
 * field, masked as one text (never per part, so nothing straddles a
 * boundary). For every statement that statementRecordable accepts the audit
 * log accepts the result (see STATEMENT_JSON_GROWTH).
 */
export function auditStatementFields(sql: string): { statement: string } {
  // NUL and lone surrogates are dropped by the audit log itself; drop them
  // first so what was checked for identifiers is exactly what is stored.
  const masked = maskStatement(storableText(sql));
  return { statement: masked.length ? auditSafe(masked) : '(empty)' };
}
