// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import {
  AdminContext,
  RecordContextProvider,
  ResourceContextProvider,
  memoryStore,
  type AuthProvider,
  type DataProvider,
} from 'react-admin';
import { MaskedField, MIN_REASON_LENGTH } from './MaskedField.tsx';

const CLEAR = '+4915123456789';
const MASKED = '3f9a…c21e';

function setup({
  canUnmask,
  unmask = vi.fn(async () => ({ value: CLEAR })),
  record = { id: 'c1', sender: MASKED },
  revealMs,
}: {
  canUnmask: boolean;
  unmask?: ReturnType<typeof vi.fn>;
  record?: Record<string, unknown>;
  revealMs?: number;
}) {
  const authProvider: AuthProvider = {
    login: async () => undefined,
    logout: async () => undefined,
    checkAuth: async () => undefined,
    checkError: async () => undefined,
    getPermissions: async () => undefined,
    canAccess: async ({ action }) => (action === 'unmask' ? canUnmask : true),
  };
  const dataProvider = { unmask } as unknown as DataProvider;
  render(
    <AdminContext authProvider={authProvider} dataProvider={dataProvider} store={memoryStore()}>
      <ResourceContextProvider value="conversations">
        <RecordContextProvider value={record}>
          <MaskedField source="sender" revealMs={revealMs} />
        </RecordContextProvider>
      </ResourceContextProvider>
    </AdminContext>,
  );
  return { unmask };
}

describe('MaskedField', () => {
  afterEach(() => cleanup());

  it('shows the masked value and no unmask action to a role without identifiers.unmask', async () => {
    setup({ canUnmask: false });
    expect(await screen.findByText(MASKED)).toBeTruthy();
    expect(screen.getByLabelText('masked sender').getAttribute('data-masked')).toBe('true');
    // canAccess resolves asynchronously: give it the chance to (wrongly) show the button.
    await act(async () => new Promise((r) => setTimeout(r, 50)));
    expect(screen.queryByRole('button', { name: /unmask/i })).toBeNull();
    expect(document.body.textContent).not.toContain(CLEAR);
  });

  it('renders an empty placeholder when the record has no identifier', async () => {
    setup({ canUnmask: true, record: { id: 'c2', sender: null } });
    expect(await screen.findByText('—')).toBeTruthy();
    expect(screen.queryByRole('button', { name: /unmask/i })).toBeNull();
  });

  it('asks for a reason before unmasking, sends it, reveals the value, and masks it again', async () => {
    const { unmask } = setup({ canUnmask: true });
    fireEvent.click(await screen.findByRole('button', { name: 'Unmask sender' }));
    const reason = await screen.findByLabelText(/Reason/);
    const submit = screen.getByRole('button', { name: 'Unmask' }) as HTMLButtonElement;
    expect(submit.disabled).toBe(true);
    fireEvent.change(reason, { target: { value: 'x'.repeat(MIN_REASON_LENGTH - 1) } });
    expect(submit.disabled).toBe(true);
    fireEvent.change(reason, { target: { value: 'TICKET-9 customer asked to verify' } });
    expect(submit.disabled).toBe(false);
    fireEvent.click(submit);
    await waitFor(() =>
      expect(unmask).toHaveBeenCalledWith('conversations', { id: 'c1', field: 'sender', reason: 'TICKET-9 customer asked to verify' }),
    );
    expect(await screen.findByText(CLEAR)).toBeTruthy();
    expect(screen.getByLabelText('revealed sender').getAttribute('data-masked')).toBe('false');
    fireEvent.click(screen.getByRole('button', { name: 'Mask again' }));
    expect(await screen.findByText(MASKED)).toBeTruthy();
    expect(screen.queryByText(CLEAR)).toBeNull();
  });

  it('keeps the value masked and shows the broker refusal when unmasking fails', async () => {
    const unmask = vi.fn(async () => {
      throw Object.assign(new Error('Unmasking needs the owner or admin role'), { status: 403 });
    });
    setup({ canUnmask: true, unmask });
    fireEvent.click(await screen.findByRole('button', { name: 'Unmask sender' }));
    fireEvent.change(await screen.findByLabelText(/Reason/), { target: { value: 'checking a complaint TICKET-1' } });
    fireEvent.click(screen.getByRole('button', { name: 'Unmask' }));
    expect(await screen.findByText('Unmasking needs the owner or admin role')).toBeTruthy();
    expect(screen.getByLabelText('masked sender').textContent).toBe(MASKED);
  });

  it('re-masks a revealed value by itself after the reveal period', async () => {
    setup({ canUnmask: true, revealMs: 300 });
    fireEvent.click(await screen.findByRole('button', { name: 'Unmask sender' }));
    fireEvent.change(await screen.findByLabelText(/Reason/), { target: { value: 'TICKET-10 verify sender id' } });
    fireEvent.click(screen.getByRole('button', { name: 'Unmask' }));
    expect(await screen.findByText(CLEAR)).toBeTruthy();
    await waitFor(() => expect(screen.queryByText(CLEAR)).toBeNull(), { timeout: 3_000 });
    expect(screen.getByLabelText('masked sender').textContent).toBe(MASKED);
  });
});
