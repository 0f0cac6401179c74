// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { AdminContext, memoryStore, type DataProvider } from 'react-admin';
import { TestMessageStep } from './SetupWizard.tsx';
import { validateShorten, wipeConfirmed } from '../settings/paths.ts';

describe('setup wizard: "send a test message" step', () => {
  afterEach(() => cleanup());

  it('waits while there is no conversation, turns green when the first one arrives, then lets the owner continue', async () => {
    let total = 0;
    const getList = vi.fn(async () => ({ data: total ? [{ id: 'c1' }] : [], total }));
    const onFinish = vi.fn();
    render(
      <AdminContext dataProvider={{ getList } as unknown as DataProvider} store={memoryStore()}>
        <TestMessageStep onFinish={onFinish} intervalMs={50} />
      </AdminContext>,
    );
    expect(await screen.findByText(/Waiting for the first conversation/)).toBeTruthy();
    const button = screen.getByRole('button', { name: 'Go to the dashboard' }) as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    expect(getList).toHaveBeenCalledWith('conversations', expect.objectContaining({ pagination: { page: 1, perPage: 1 } }));
    total = 1;
    expect(await screen.findByTestId('first-conversation')).toBeTruthy();
    expect(button.disabled).toBe(false);
    fireEvent.click(button);
    expect(onFinish).toHaveBeenCalledOnce();
    // Once green it stops polling.
    const calls = getList.mock.calls.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(getList.mock.calls.length).toBe(calls);
  });

  it('shows a polling error without giving up', async () => {
    let fail = true;
    const getList = vi.fn(async () => {
      if (fail) throw new Error('the audit log is unavailable, so this data cannot be shown');
      return { data: [{ id: 'c1' }], total: 1 };
    });
    render(
      <AdminContext dataProvider={{ getList } as unknown as DataProvider} store={memoryStore()}>
        <TestMessageStep onFinish={() => undefined} intervalMs={50} />
      </AdminContext>,
    );
    expect(await screen.findByText(/audit log is unavailable/)).toBeTruthy();
    fail = false;
    expect(await screen.findByTestId('first-conversation')).toBeTruthy();
  });
});

describe('Settings → Data rules', () => {
  it('retention can only be set from 1 day to the default', () => {
    expect(validateShorten(365, 730)).toBeUndefined();
    expect(validateShorten(730, 730)).toBeUndefined();
    expect(validateShorten(731, 730)).toMatch(/only be shortened/);
    expect(validateShorten(0, 90)).toMatch(/at least 1/);
    expect(validateShorten(1.5, 90)).toMatch(/whole number/);
  });

  it('the wipe confirmation must be the exact workspace name', () => {
    expect(wipeConfirmed('Acme', 'Acme')).toBe(true);
    expect(wipeConfirmed('acme', 'Acme')).toBe(false);
    expect(wipeConfirmed('Acme ', 'Acme')).toBe(false);
    expect(wipeConfirmed('', '')).toBe(false);
  });
});
