-- databases: regional
-- Group commit of inbound messages in one round trip.
--
-- ingest hands a whole batch (already hashed and encrypted: no plaintext
-- reaches this function) as parallel arrays; the function runs as the caller
-- (SECURITY INVOKER: wact_ingest's grants and row-level security apply) and
-- does, per message, in the caller's transaction:
--   1. the dedup receipt (workspace, provider, keyed hash of the message id):
--      a repeat is reported as a duplicate and nothing else is written; a
--      concurrent repeat waits on the in-flight receipt row, then conflicts;
--   2. the sender's conversation: the latest one if this message falls within
--      p_conv_window of its start, else a new one, attributed
--        a. to the click whose ref code the message carried, if that click is
--           at most p_attr_window older (10 minutes of clock skew tolerated),
--        b. else to the Click-to-WhatsApp referral in the message (ctwa_clid,
--           or the ad source id for Status ads), recorded as a 'ctwa' click;
--   3. the minimised payload (encrypted) in the daily partition.
-- Senders are locked first, in a fixed order, so concurrent batches never
-- both start a conversation for one person and cannot deadlock on senders;
-- the caller passes messages sorted by receipt key for the same reason.
--
-- Key-rotation aware: besides each sender's and ref code's keyed hash under
-- the workspace's current hashing key, the caller passes the hash under the
-- previous key version (NULL when there is none), so a sender keeps their
-- conversation, a click its ref code and a BSP retry its dedup receipt across
-- a `wact workspace rotate-keys`.
CREATE OR REPLACE FUNCTION wact_private.ingest_inbound_batch(
  p_ws uuid[], p_provider text[], p_msg text[], p_sender text[], p_kind text[], p_started timestamptz[],
  p_ref text[], p_sender_prev text[], p_ref_prev text[], p_msg_prev text[], p_ctwa_click bytea[], p_ctwa_conv bytea[], p_ctwa_prefix text[],
  p_source_id text[], p_source_type text[], p_source_url bytea[], p_payload bytea[],
  p_conv_window interval, p_attr_window interval)
RETURNS TABLE (idx integer, duplicate boolean, conversation_id uuid, new_conversation boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, wact, wact_private AS $$
#variable_conflict use_column
DECLARE
  i integer;
  n integer := coalesce(array_length(p_ws, 1), 0);
  conv_id uuid;
  conv_started timestamptz;
  click_id uuid;
  click_at timestamptz;
  method text;
  latency bigint;
  prev_id uuid;
  prev_at timestamptz;
BEGIN
  PERFORM pg_advisory_xact_lock(k)
     FROM (SELECT DISTINCT hashtextextended(w::text || '|' || s, 7007) AS k
             FROM unnest(p_ws || p_ws, p_sender || p_sender_prev) AS t(w, s) WHERE s IS NOT NULL ORDER BY 1) q;
  FOR i IN 1..n LOOP
    -- a retry of a message first received under the previous hashing key
    IF p_msg_prev[i] IS NOT NULL AND EXISTS (SELECT 1 FROM wact.webhook_receipts r
                                              WHERE r.workspace_id = p_ws[i] AND r.provider = p_provider[i] AND r.message_hash = p_msg_prev[i]) THEN
      idx := i; duplicate := true; conversation_id := NULL; new_conversation := false;
      RETURN NEXT;
      CONTINUE;
    END IF;
    INSERT INTO wact.webhook_receipts (workspace_id, provider, message_hash)
    VALUES (p_ws[i], p_provider[i], p_msg[i]) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
      idx := i; duplicate := true; conversation_id := NULL; new_conversation := false;
      RETURN NEXT;
      CONTINUE;
    END IF;

    conv_id := NULL;
    SELECT c.id, c.started_at INTO conv_id, conv_started
      FROM wact.conversations c
     WHERE c.workspace_id = p_ws[i] AND c.sender_hash = p_sender[i]
     ORDER BY c.started_at DESC LIMIT 1;
    IF p_sender_prev[i] IS NOT NULL THEN
      prev_id := NULL;
      SELECT c.id, c.started_at INTO prev_id, prev_at
        FROM wact.conversations c
       WHERE c.workspace_id = p_ws[i] AND c.sender_hash = p_sender_prev[i]
       ORDER BY c.started_at DESC LIMIT 1;
      IF prev_id IS NOT NULL AND (conv_id IS NULL OR prev_at > conv_started) THEN
        conv_id := prev_id; conv_started := prev_at;
      END IF;
    END IF;
    IF conv_id IS NOT NULL AND p_started[i] - conv_started < p_conv_window AND conv_started - p_started[i] < p_conv_window THEN
      new_conversation := false;
    ELSE
      conv_id := gen_random_uuid();
      new_conversation := true;
      click_id := NULL; click_at := NULL; method := NULL; latency := NULL;
      IF p_ref[i] IS NOT NULL THEN
        SELECT c.id, c.created_at INTO click_id, click_at
          FROM wact.clicks c
         WHERE c.workspace_id = p_ws[i] AND c.ref_hash = p_ref[i]
         ORDER BY c.created_at DESC LIMIT 1;
        IF click_id IS NULL AND p_ref_prev[i] IS NOT NULL THEN
          SELECT c.id, c.created_at INTO click_id, click_at
            FROM wact.clicks c
           WHERE c.workspace_id = p_ws[i] AND c.ref_hash = p_ref_prev[i]
           ORDER BY c.created_at DESC LIMIT 1;
        END IF;
        IF click_id IS NOT NULL AND p_started[i] - click_at <= p_attr_window AND click_at - p_started[i] <= interval '10 minutes' THEN
          method := 'ref_code';
          latency := greatest(0, (extract(epoch FROM p_started[i] - click_at) * 1000)::bigint);
        ELSE
          click_id := NULL; click_at := NULL;
        END IF;
      END IF;
      IF method IS NULL AND (p_ctwa_click[i] IS NOT NULL OR p_source_id[i] IS NOT NULL) THEN
        click_id := gen_random_uuid();
        click_at := now();
        INSERT INTO wact.clicks (id, workspace_id, source, ctwa_clid_enc, click_id_prefixes, ad_source_id, ad_source_type, ad_source_url_enc, created_at)
        VALUES (click_id, p_ws[i], 'ctwa', p_ctwa_click[i],
                CASE WHEN p_ctwa_prefix[i] IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('ctwa_clid', p_ctwa_prefix[i]) END,
                p_source_id[i], p_source_type[i], p_source_url[i], click_at);
        -- the referral arrives with the message the ad click opened: no measurable delay
        method := CASE WHEN p_ctwa_click[i] IS NOT NULL THEN 'ctwa_clid' ELSE 'ad_source_id' END;
        latency := 0;
      END IF;
      INSERT INTO wact.conversations (id, workspace_id, provider, sender_hash, sender_kind, started_at, ctwa_clid_enc, ctwa_clid_prefix,
                                      ad_source_id, ad_source_type, matched_click_id, matched_click_at, attribution_method, attribution_latency_ms)
      VALUES (conv_id, p_ws[i], p_provider[i], p_sender[i], p_kind[i], p_started[i], p_ctwa_conv[i], p_ctwa_prefix[i],
              p_source_id[i], p_source_type[i], click_id, click_at, method, latency);
    END IF;
    INSERT INTO wact.raw_webhook_payloads (id, workspace_id, provider, message_hash, conversation_id, payload_enc)
    VALUES (gen_random_uuid(), p_ws[i], p_provider[i], p_msg[i], conv_id, p_payload[i]);
    idx := i; duplicate := false; conversation_id := conv_id;
    RETURN NEXT;
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION wact_private.ingest_inbound_batch(uuid[],text[],text[],text[],text[],timestamp with time zone[],text[],text[],text[],text[],bytea[],bytea[],text[],text[],text[],bytea[],bytea[],interval,interval) FROM PUBLIC, wact_ingest, wact_broker, wact_support, wact_engineer;
GRANT EXECUTE ON FUNCTION wact_private.ingest_inbound_batch(uuid[],text[],text[],text[],text[],timestamp with time zone[],text[],text[],text[],text[],bytea[],bytea[],text[],text[],text[],bytea[],bytea[],interval,interval) TO wact_ingest;
