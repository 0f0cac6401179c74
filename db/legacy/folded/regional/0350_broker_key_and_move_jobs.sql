-- Issue 14.4: the key commands and the workspace move run through the broker
-- as the signed-in person. The short ones (protect-keys, set-customer-key)
-- run in the broker's request; re-encryption and the move run as jobs of the
-- worker. Both processes connect as wact_broker, which until now could add
-- and delete key rows but not re-wrap them, and could not rewrite ciphertexts
-- nor copy a workspace's rows into this region. Each grant below is the
-- narrowest one the code needs (column lists where a column list exists):
--
-- Re-wrapping (shared/crypto/keyring-dal.ts, rewrap): UPDATE of the wrapping
-- columns only. The broker can already DELETE and INSERT rows of this table,
-- so replacing a row's wrapping in place adds no power it did not have: it
-- cannot touch workspace_id, purpose or version, and every change is still
-- announced by the workspace_keys_announce trigger.
GRANT UPDATE (wrapped, kek_id, provider) ON wact_private.workspace_keys TO wact_broker;

-- Re-encryption progress (shared/crypto/reencrypt-service.ts): the resumable
-- cursor per table, written after every batch (INSERT … ON CONFLICT DO UPDATE).
GRANT INSERT, UPDATE (cursor, rows_done, finished_at, updated_at) ON wact_private.key_reencryption TO wact_broker;

-- Re-encryption: the ciphertext columns of the tables ingest writes, and
-- nothing else of those rows (no hash, no time, no workspace). The broker may
-- already DELETE these rows; it gains the ability to replace a ciphertext by
-- another one bound to the same workspace, table and column (the AAD), which
-- is what a re-encryption is. Tables the broker already updates (links,
-- credentials, SIEM destinations, deletion targets) need nothing more.
GRANT UPDATE (fbclid_enc, gclid_enc, gbraid_enc, wbraid_enc, msclkid_enc, ttclid_enc, li_fat_id_enc, ctwa_clid_enc,
              ad_source_url_enc) ON wact.clicks TO wact_broker;
GRANT UPDATE (ctwa_clid_enc) ON wact.conversations TO wact_broker;
GRANT UPDATE (payload_enc) ON wact.raw_webhook_payloads TO wact_broker;

-- The move (shared/lifecycle/move-service.ts) copies a workspace's rows into
-- the target region, re-encrypted under the target keys: INSERT on the
-- workspace tables the broker could not insert into yet (it deletes them
-- already, for wipes and moves). Session grants are not copied: a database
-- session belongs to its region and ends with the move. The audit stream is
-- copied by the owner credential in one transaction, exactly as the wipe
-- erases it (never by wact_broker: no service role writes audit.events rows
-- directly).
GRANT INSERT ON wact.clicks, wact.conversations, wact.webhook_receipts, wact.raw_webhook_payloads, wact.conversions,
  wact.conversion_keys, wact.export_jobs, wact.export_attempts TO wact_broker;
