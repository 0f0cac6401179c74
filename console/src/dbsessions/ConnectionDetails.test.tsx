// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { ConnectionDetails } from './ConnectionDetails.tsx';
import { commandOf } from '../dataProvider/connections.ts';

const TOKEN = 'tok_' + 'A'.repeat(39);
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBdev\n-----END CERTIFICATE-----\n';
const INFO = {
  host: 'localhost',
  port: 6432,
  database: 'wact',
  user: '0b7c3c4e-1111-4222-8333-444455556666',
  password: TOKEN,
  sslrootcert: PEM,
  caFingerprint: 'AB:CD',
};

describe('console: gateway connection details', () => {
  afterEach(cleanup);

  it('the psql command verifies the gateway and holds no token and no URL', () => {
    const command = commandOf(INFO)!;
    expect(command).toBe(
      `PGHOST=localhost PGPORT=6432 PGDATABASE=wact PGUSER=${INFO.user} PGSSLMODE=verify-full PGSSLROOTCERT="$HOME/.config/wact/gateway-ca.crt" psql`,
    );
    expect(command).not.toContain(TOKEN);
  });

  it('an old-style answer that only has a token URL is not shown at all', () => {
    expect(commandOf({ url: `postgresql://u:${TOKEN}@gw:6432/wact?sslmode=require` } as never)).toBeUndefined();
  });

  it('never renders the token; the copy button puts it on the clipboard', async () => {
    const writeText = vi.fn(async () => undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const { container } = render(<ConnectionDetails info={INFO} sessionId={INFO.user} />);
    expect(container.innerHTML).not.toContain(TOKEN);
    expect(container.innerHTML).not.toMatch(/postgres(ql)?:\/\//);
    const fields = [...container.querySelectorAll('textarea')].map((t) => t.value);
    expect(fields).toContain(commandOf(INFO));
    expect(fields).toContain(PEM);
    fireEvent.click(screen.getByRole('button', { name: 'Copy session token' }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith(TOKEN));
    expect(await screen.findByRole('button', { name: 'Session token copied' })).toBeTruthy();
    expect(container.innerHTML).not.toContain(TOKEN);
  });
});
