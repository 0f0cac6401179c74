-- Issue 13: audit signatures an insider cannot make, and a witness the customer holds.
--
-- Signing keys now live outside the database: an AWS KMS asymmetric key (ECDSA P-256) in
-- production, a local Ed25519 key file in development. audit.signing_keys only records their
-- public halves (DER SubjectPublicKeyInfo) and validity, so signed heads keep their foreign key
-- and the key set can be published. Rows from before (32-byte raw Ed25519 keys wrapped by the
-- region's KEK) stay, retired, so exports they signed still verify.
ALTER TABLE audit.signing_keys DROP CONSTRAINT signing_keys_public_key_check;
-- Rotation without UPDATE: a key is valid from its created_at until the next key's (the service
-- roles keep INSERT only), so "one active key" is now "the newest key".
DROP INDEX audit.signing_keys_one_active;
ALTER TABLE audit.signing_keys ALTER COLUMN wrapped_private DROP NOT NULL, ALTER COLUMN kek_id DROP NOT NULL;
ALTER TABLE audit.signing_keys
  ADD COLUMN alg text NOT NULL DEFAULT 'EdDSA' CHECK (alg IN ('EdDSA', 'ES256')),
  ADD CONSTRAINT signing_keys_public_key_shape CHECK (
    (length(public_key) = 32 AND alg = 'EdDSA') OR length(public_key) BETWEEN 40 AND 200),
  -- A key held outside the database has no wrapped private half here, and one held here has.
  ADD CONSTRAINT signing_keys_private_where CHECK ((provider IN ('aws-kms-sign', 'local-file')) = (wrapped_private IS NULL));

-- Digest files: per stream, the (seq, hash) of every event since the previous digest and a
-- signed head over the last one. Served to the customer to keep (like CloudTrail digest
-- files); `body` is the file exactly as signed and downloaded.
CREATE TABLE audit.digests (
  stream_id    uuid        NOT NULL,
  first_seq    bigint      NOT NULL CHECK (first_seq > 0),
  last_seq     bigint      NOT NULL CHECK (last_seq >= first_seq),
  period_start timestamptz NOT NULL,
  period_end   timestamptz NOT NULL,
  body         text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream_id, last_seq)
);
GRANT SELECT, INSERT ON audit.digests TO wact_broker;
