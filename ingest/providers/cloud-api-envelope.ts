import type { InboundMessage, ParsedWebhook } from './provider-types.ts';
import {
  arr,
  bad,
  epoch,
  isObject,
  obj,
  optArr,
  optObj,
  optStr,
  phoneSender,
  refFromText,
  referralFrom,
  str,
  type Json,
} from './parse-utils.ts';

/**
 * The WhatsApp Cloud API webhook envelope, shared by Meta (direct), 360dialog
 * (passes it through) and Gupshup's v3 "Meta format":
 *   { object: "whatsapp_business_account", entry: [{ id, changes: [{ field, value }] }] }
 * Only `field: "messages"` changes with `value.messages[]` carry inbound
 * messages; statuses, automatic events, platform events and group messages
 * are counted as ignored.
 */
export function parseCloudApiEnvelope(body: Json, now: number): ParsedWebhook {
  const root = obj(body, 'body');
  const object = str(root.object, 'object', 64);
  if (object !== 'whatsapp_business_account') return { messages: [], ignored: 1 };
  const entries = arr(root.entry, 'entry');
  if (entries.length > 100) bad('entry has too many items');
  const messages: InboundMessage[] = [];
  let ignored = 0;
  for (const [i, e] of entries.entries()) {
    const entry = obj(e, `entry[${i}]`);
    const changes = optArr(entry.changes, `entry[${i}].changes`);
    for (const [j, c] of changes.entries()) {
      const change = obj(c, `entry[${i}].changes[${j}]`);
      const field = optStr(change.field, 'field', 64);
      const value = optObj(change.value, `entry[${i}].changes[${j}].value`);
      if (field !== 'messages' || !value) {
        ignored++;
        continue;
      }
      ignored += optArr(value.statuses, 'statuses').length;
      if (value.type !== undefined && !Array.isArray(value.messages)) {
        ignored++; // Gupshup platform-event (connectivity-check) and similar
        continue;
      }
      const list = optArr(value.messages, 'messages');
      if (list.length > 1000) bad('messages has too many items');
      for (const [k, m] of list.entries()) {
        const parsed = parseMessage(m, `messages[${k}]`, now);
        if (parsed) messages.push(parsed);
        else ignored++;
      }
    }
  }
  return { messages, ignored };
}

function parseMessage(m: Json, path: string, now: number): InboundMessage | undefined {
  const msg = obj(m, path);
  const type = optStr(msg.type, `${path}.type`, 64) ?? 'unknown';
  // Group messages (Groups API) and system notices are not conversations with a person.
  if (msg.group_id !== undefined || type === 'system' || type === 'unsupported_group') return undefined;
  const messageId = str(msg.id, `${path}.id`);
  const timestamp = epoch(msg.timestamp, `${path}.timestamp`, now);
  // The phone (`from`, digits) when present; otherwise the business-scoped user id (2026 rollout).
  const bsuid = optStr(msg.from_user_id ?? msg.user_id, `${path}.user_id`, 128);
  let sender: InboundMessage['sender'];
  if (msg.from !== undefined && msg.from !== null && msg.from !== '') sender = phoneSender(msg.from, `${path}.from`);
  else if (bsuid) sender = { kind: 'bsuid', id: bsuid };
  else bad(`${path} has no sender`);
  const text = type === 'text' && isObject(msg.text) ? msg.text.body : undefined;
  const ref = msg.referral;
  const referral = isObject(ref)
    ? referralFrom({ ctwaClid: ref.ctwa_clid, sourceId: ref.source_id, sourceType: ref.source_type, sourceUrl: ref.source_url })
    : ref === undefined || ref === null
      ? undefined
      : bad(`${path}.referral must be an object`);
  return { messageId, sender, timestamp, type, refCode: refFromText(text), ...(referral ? { referral } : {}) };
}
