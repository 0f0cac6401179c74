import { describe, expect, it } from 'vitest';
import { cliSettings } from '../../cli/mode.ts';

/** The CLI's settings come from the one config schema: a bad value is refused by name, never silently replaced. */
describe('cliSettings', () => {
  it('polls a followed job every 2 s unless WACT_JOB_POLL_MS says otherwise', () => {
    expect(cliSettings({}).jobPollMs).toBe(2000);
    expect(cliSettings({ WACT_JOB_POLL_MS: '300' }).jobPollMs).toBe(300);
  });

  it.each(['10', '60001', '1.5', 'often'])('refuses WACT_JOB_POLL_MS=%s, naming it', (v) => {
    expect(() => cliSettings({ WACT_JOB_POLL_MS: v })).toThrow(/WACT_JOB_POLL_MS/);
  });
});
