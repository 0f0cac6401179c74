// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { act, cleanup, render, screen } from '@testing-library/react';
import { SupportCountdown } from './SupportCountdown.tsx';
import { formatCountdown, setSupportSession } from './supportSession.ts';
import { getAccessReason } from '../workspace/accessReason.ts';
import { getWorkspaceId } from '../workspace/currentWorkspace.ts';

const WS = '11111111-2222-4333-8444-555555555555';

describe('support session countdown', () => {
  afterEach(() => {
    act(() => setSupportSession(undefined));
    cleanup();
  });

  it('formats minutes and seconds', () => {
    expect(formatCountdown(0)).toBe('0:00');
    expect(formatCountdown(61)).toBe('1:01');
    expect(formatCountdown(900)).toBe('15:00');
  });

  it('appears as soon as a session opens (no stale zero), carries the reason and workspace, and ends itself at expiry', async () => {
    render(<SupportCountdown />);
    expect(screen.queryByTestId('support-countdown')).toBeNull();
    act(() =>
      setSupportSession({
        id: 's1',
        workspaceId: WS,
        reason: 'TICKET-9 check redaction',
        expiresAt: new Date(Date.now() + 2_500).toISOString(),
      }),
    );
    const chip = await screen.findByTestId('support-countdown');
    expect(chip.textContent).toMatch(/0:0[12] left/);
    expect(getAccessReason()).toBe('TICKET-9 check redaction');
    expect(getWorkspaceId()).toBe(WS);
    await act(async () => new Promise((r) => setTimeout(r, 3_200)));
    expect(screen.queryByTestId('support-countdown')).toBeNull();
    expect(getAccessReason()).toBeUndefined();
  });
});
