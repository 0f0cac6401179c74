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

import { looksLikeIdentifier } from '../../shared/audit/audit-validation.ts';

export const MASKED_PHONE = "'[masked phone]'";
export const MASKED_EMAIL = "'[masked email]'";
export const MASKED_SECRET = "'[masked secret]'";

const SECRET_WORD = /^(password|passwd|pwd|pass|secret|token|api_?key|apikey|credentials?|private_?key|client_secret|auth_?token)$/i;
const SECRET_NAME = /(^|[._])(password|passwd|pwd|secret|token|api_?key|apikey|credentials?|private_?key|client_secret)$/i;
const VERIFIER = /^(SCRAM-SHA-256\$|md5[0-9a-f]{32}$)/;
const DATE_LIKE =
  /^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4})([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*([+-]\d{2}(:?\d{2})?|Z)?\s*$/i;
const EMAIL = /[^\s@'"]+@[^\s@'"]+\.[^\s@.'"]{2,}/;
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

export function maskStatement(sql: string): string {
  let out = '';
  let i = 0;
  const n = sql.length;
  // The last few significant tokens (lower-cased words and operators) for context.
  const recent: string[] = [];
  const remember = (t: string) => {
    recent.push(t);
    if (recent.length > 3) recent.shift();
  };
  const secretContext = () => recent.some((t) => SECRET_WORD.test(t));

  while (i < n) {
    const c = sql[i];
    const next = sql[i + 1];
    // -- line comment
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? n : end;
      out += maskComment(sql.slice(i, stop));
      i = stop;
      continue;
    }
    // /* nested block comment */
    if (c === '/' && next === '*') {
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
        if (sql[j] === '/' && sql[j + 1] === '*') {
          depth++;
          j += 2;
        } else if (sql[j] === '*' && sql[j + 1] === '/') {
          depth--;
          j += 2;
        } else j++;
      }
      out += maskComment(sql.slice(i, j));
      i = j;
      continue;
    }
    // "quoted identifier"
    if (c === '"') {
      let j = i + 1;
      while (j < n) {
        if (sql[j] === '"') {
          if (sql[j + 1] === '"') j += 2;
          else break;
        } else j++;
      }
      const tok = sql.slice(i, Math.min(j + 1, n));
      out += tok;
      remember(tok.slice(1, -1).toLowerCase());
      i = j + 1;
      continue;
    }
    // string literal, with optional E / U& / B / X / N prefix
    const prefix = /^(?:[eE]|[uU]&|[bBxXnN])'/.exec(sql.slice(i, i + 3));
    if (c === "'" || (prefix && !isWordChar(sql[i - 1]))) {
      const start = i;
      const escapes = prefix ? /^[eE]/.test(prefix[0]) : false;
      let j = i + (prefix ? prefix[0].length : 1);
      while (j < n) {
        if (escapes && sql[j] === '\\') j += 2;
        else if (sql[j] === "'") {
          if (sql[j + 1] === "'") j += 2;
          else break;
        } else j++;
      }
      const tok = sql.slice(start, Math.min(j + 1, n));
      out += classifyString(tok, secretContext());
      // A literal naming a secret (set_config('app.api_key', …)) makes the next one secret.
      remember(SECRET_NAME.test(stringContent(tok)) ? 'secret' : "'");
      i = j + 1;
      continue;
    }
    // $tag$ dollar-quoted string $tag$ (not $1 parameters)
    if (c === '$' && !isWordChar(sql[i - 1])) {
      const m = /^\$([A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$/.exec(sql.slice(i, i + 66));
      if (m) {
        const tag = m[0];
        const end = sql.indexOf(tag, i + tag.length);
        const stop = end < 0 ? n : end + tag.length;
        const tok = sql.slice(i, stop);
        out += end < 0 ? tok : classifyString(tok, secretContext());
        remember("'");
        i = stop;
        continue;
      }
    }
    // numbers, with a sign that may belong to a phone number (+4915…)
    if ((c >= '0' && c <= '9') || (c === '+' && next >= '0' && next <= '9' && !isWordChar(sql[i - 1]))) {
      let j = i + (c === '+' ? 1 : 0);
      while (j < n && /[0-9.eE_]/.test(sql[j])) j++;
      const tok = sql.slice(i, j);
      const digits = digitCount(tok);
      const phone = /^\+?\d+$/.test(tok) && ((tok.startsWith('+') && digits >= 8) || digits >= 10) && digits <= 15;
      out += phone ? MASKED_PHONE : tok;
      remember('0');
      i = j;
      continue;
    }
    if (isWordChar(c)) {
      let j = i;
      while (j < n && isWordChar(sql[j])) j++;
      const word = sql.slice(i, j);
      out += word;
      remember(word.toLowerCase());
      i = j;
      continue;
    }
    if (!/\s/.test(c)) remember(c);
    out += c;
    i++;
  }
  return out;
}

function isWordChar(c: string | undefined): boolean {
  return c !== undefined && /[\w\u0080-\uffff]/.test(c);
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
 */
export function auditSafe(text: string): string {
  if (!looksLikeIdentifier(text)) return text;
  const blanked = text
    .replace(/[^\s@'"]+@[^\s@'"]+\.[^\s@.'"]{2,}/g, '[masked email]')
    .replace(/\+?\d(?:[\s()./-]{0,2}\d){6,}/g, '[masked number]');
  return looksLikeIdentifier(blanked) ? '[statement withheld: looks like it holds an identifier]' : blanked;
}

const PART = 200; // the audit log's longest metadata string
const PARTS = 6;

/**
 * The masked statement as audit metadata: `statement`, `statement.2` … (the
 * audit log keeps metadata strings short), with its full length and whether
 * the stored text is cut.
 */
export function auditStatementFields(sql: string): Record<string, string | number | boolean> {
  const masked = maskStatement(sql);
  const out: Record<string, string | number | boolean> = {};
  for (let i = 0; i < PARTS && i * PART < masked.length; i++) {
    out[i === 0 ? 'statement' : `statement.${i + 1}`] = auditSafe(masked.slice(i * PART, (i + 1) * PART));
  }
  if (!masked.length) out.statement = '(empty)';
  if (masked.length > PART * PARTS) {
    out.statementLength = masked.length;
    out.statementTruncated = true;
  }
  return out;
}

/** The stored statement text put back together (for tests, displays and exports). */
export function joinStatementFields(metadata: Record<string, unknown>): string {
  let text = String(metadata.statement ?? '');
  for (let i = 2; i <= PARTS && metadata[`statement.${i}`] !== undefined; i++) text += String(metadata[`statement.${i}`]);
  return text;
}
