import crypto from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { headMessage, manifestMessage } from '../../shared/audit/audit-canonical.ts';
import { checkSignature, keyFingerprint, loadTrustedKeys, publishKey } from '../../shared/audit/audit-keys.ts';
import { kmsSigningKey, signingKeyFromConfig } from '../../shared/audit/audit-signing-keys.ts';

/**
 * The production signing path: AWS KMS Sign/GetPublicKey (ECC_NIST_P256,
 * ECDSA_SHA_256). The mock answers with real DER signatures made by a local
 * P-256 key, so the verification below really runs.
 */
const kms = mockClient(KMSClient);
afterEach(() => kms.reset());

function kmsWith(key: crypto.KeyPairKeyObjectResult, spec = 'ECC_NIST_P256') {
  kms.on(GetPublicKeyCommand).resolves({
    KeyId: 'arn:aws:kms:eu-central-1:111122223333:key/audit',
    KeySpec: spec as never,
    KeyUsage: 'SIGN_VERIFY',
    PublicKey: new Uint8Array(key.publicKey.export({ format: 'der', type: 'spki' })),
  });
  kms.on(SignCommand).callsFake((input: { Message: Uint8Array }) => ({
    Signature: new Uint8Array(crypto.sign('sha256', Buffer.from(input.Message), key.privateKey)), // DER, as KMS returns
    SigningAlgorithm: 'ECDSA_SHA_256',
  }));
}

describe('audit signing with an AWS KMS key', () => {
  it('signs heads and manifests that verify with the published key set (fingerprint = SHA-256 of the SPKI KMS returns)', async () => {
    const pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    kmsWith(pair);
    const key = await kmsSigningKey(new KMSClient({ region: 'eu-central-1' }), 'alias/wact-audit');
    expect(key).toMatchObject({ alg: 'ES256', provider: 'aws-kms-sign' });
    expect(key.keyId).toBe(`kms-${keyFingerprint(pair.publicKey).slice(7, 23)}`);

    const head = {
      streamId: crypto.randomUUID(),
      seq: '7',
      hash: 'cd'.repeat(32),
      signedAt: '2026-03-01T10:00:00.000000Z',
      keyId: key.keyId,
    };
    const headSig = await key.sign(headMessage(head));
    const manifest = { database: 'eu', streamId: head.streamId, events: 7, complete: true, signedAt: head.signedAt, keyId: key.keyId };
    const manifestSig = await key.sign(manifestMessage(manifest));

    const set = JSON.stringify({
      keys: [publishKey(key.publicKey, { kid: key.keyId, validFrom: '2026-01-01T00:00:00.000000Z', validTo: null, source: 'aws-kms' })],
    });
    const trusted = loadTrustedKeys(set, [keyFingerprint(pair.publicKey)]);
    expect(checkSignature(trusted, key.keyId, head.signedAt, headMessage(head), headSig)).toEqual({ ok: true });
    expect(checkSignature(trusted, key.keyId, head.signedAt, manifestMessage(manifest), manifestSig)).toEqual({ ok: true });
    expect(checkSignature(trusted, key.keyId, head.signedAt, headMessage({ ...head, seq: '8' }), headSig).ok).toBe(false);

    // Only Sign with the documented algorithm on the raw message; never anything that exports the key.
    const calls = kms.commandCalls(SignCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0].args[0].input).toMatchObject({
      MessageType: 'RAW',
      SigningAlgorithm: 'ECDSA_SHA_256',
      KeyId: 'arn:aws:kms:eu-central-1:111122223333:key/audit',
    });
    expect(kms.calls().every((c) => c.args[0] instanceof SignCommand || c.args[0] instanceof GetPublicKeyCommand)).toBe(true);
  });

  it('fails closed: a key of the wrong type, or a Sign answer made by another key, is refused', async () => {
    kmsWith(crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'RSA_2048');
    await expect(kmsSigningKey(new KMSClient({ region: 'eu-central-1' }), 'alias/x')).rejects.toThrow(
      /must be an ECC_NIST_P256 key for SIGN_VERIFY/,
    );
    kms.reset();
    const published = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const other = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    kmsWith(published);
    kms.on(SignCommand).resolves({ Signature: new Uint8Array(crypto.sign('sha256', Buffer.from('x'), other.privateKey)) });
    const key = await kmsSigningKey(new KMSClient({ region: 'eu-central-1' }), 'alias/x');
    await expect(key.sign(Buffer.from('x'))).rejects.toThrow(/signature does not verify/);
  });

  it('production refuses to sign without a KMS key (no local key file an insider could copy)', async () => {
    const get = signingKeyFromConfig({ env: 'production', home: '/nonexistent', raw: { WACT_AUDIT_SIGNING_KMS_REGION: 'eu-central-1' } });
    await expect(get()).rejects.toThrow(/production needs WACT_AUDIT_SIGNING_KMS_KEY/);
    const pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    kmsWith(pair);
    const withKms = signingKeyFromConfig(
      {
        env: 'production',
        home: '/nonexistent',
        raw: { WACT_AUDIT_SIGNING_KMS_KEY: 'alias/wact-audit', WACT_AUDIT_SIGNING_KMS_REGION: 'eu-central-1' },
      },
      { kmsClient: new KMSClient({ region: 'eu-central-1' }) },
    );
    expect((await withKms()).alg).toBe('ES256');
  });

  it('a Sign call that does not answer fails within the timeout (the signing holding its stream’s lock ends), and was told to abort', async () => {
    const pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    kmsWith(pair);
    let signal: AbortSignal | undefined;
    // A hung KMS endpoint: the call never settles, whatever the signal says.
    kms.on(SignCommand).callsFake(() => new Promise(() => undefined));
    const client = new KMSClient({ region: 'eu-central-1' });
    const send = client.send.bind(client);
    client.send = ((cmd: never, opts?: { abortSignal?: AbortSignal }) => {
      if (opts?.abortSignal) signal = opts.abortSignal;
      return send(cmd, opts as never);
    }) as typeof client.send;
    const key = await kmsSigningKey(client, 'alias/wact-audit', { timeoutMs: 50 });
    const t0 = Date.now();
    await expect(key.sign(Buffer.from('wact.audit.head.v1\nx'))).rejects.toThrow(/did not answer within 50 ms/);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(signal?.aborted).toBe(true);
  });
});
