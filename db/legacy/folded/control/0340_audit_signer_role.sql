-- Issue 13.2: only the audit signing worker publishes signing keys and writes signed heads and
-- digests. Until now the signer logged in as wact_broker, so a broker credential could insert a
-- key of its own into audit.signing_keys (and so into /.well-known/wact-audit-keys) or plant
-- heads. The broker keeps only what asking needs: INSERT a sign request, read the answer.
GRANT USAGE ON SCHEMA audit TO wact_signer;
GRANT SELECT ON audit.events, audit.chain_heads, audit.signed_heads, audit.signing_keys, audit.digests TO wact_signer;
GRANT INSERT ON audit.signing_keys, audit.signed_heads, audit.digests TO wact_signer;
GRANT SELECT, UPDATE ON audit.sign_requests TO wact_signer;
REVOKE INSERT ON audit.signing_keys, audit.signed_heads, audit.digests FROM wact_broker;
