import type dns from 'node:dns';
import { describe, expect, it } from 'vitest';
import { checkDestination } from '../../../shared/audit/audit-siem.ts';
import { createOutboundClient } from '../../../shared/http/outbound-client.ts';

/** The SIEM destination check at configuration time, through the shared outbound client. */
describe('SIEM destination check', () => {
  const client = createOutboundClient({ env: 'test' });

  it.each([
    'https://[::ffff:127.0.0.1]/',
    'https://[::ffff:a9fe:a9fe]/latest/meta-data/',
    'https://[64:ff9b::a9fe:a9fe]/',
    'https://[2002:7f00:1::]/',
    'https://2130706433/',
    'https://0177.0.0.1/',
    'https://127.1/',
    'https://localhost/',
    'https://169.254.169.254/',
    'http://siem.example.com/', // not https
    'https://user:pw@siem.example.com/',
    'not a url',
  ])('refuses %s', async (url) => {
    await expect(checkDestination(url, client)).rejects.toMatchObject({ status: 400, code: 'invalid_siem_url' });
  });

  it('refuses a name whose answer mixes public and loopback addresses', async () => {
    const lookup = (_h: string, cb: (e: Error | null, a: dns.LookupAddress[]) => void) =>
      cb(null, [
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ]);
    const stubbed = createOutboundClient({ env: 'test', lookup });
    await expect(checkDestination('https://siem.example.com/', stubbed)).rejects.toMatchObject({ code: 'invalid_siem_url' });
  });

  it('accepts a public destination, and loopback only when the development allow-list names it', async () => {
    const lookup = (_h: string, cb: (e: Error | null, a: dns.LookupAddress[]) => void) =>
      cb(null, [{ address: '93.184.216.34', family: 4 }]);
    expect((await checkDestination('https://siem.example.com/collect', createOutboundClient({ env: 'test', lookup }))).host).toBe(
      'siem.example.com',
    );
    const dev = createOutboundClient({ env: 'development', devAllow: ['127.0.0.1/32'] });
    expect((await checkDestination('https://127.0.0.1:8088/', dev)).port).toBe('8088');
    await expect(checkDestination('https://127.0.0.1:8088/', client)).rejects.toMatchObject({ code: 'invalid_siem_url' });
  });
});
