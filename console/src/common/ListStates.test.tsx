// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { AdminContext, DataTable, List, memoryStore, type DataProvider } from 'react-admin';
import { EmptyState, ListError } from './ListStates.tsx';

function renderList(getList: DataProvider['getList']) {
  return render(
    <AdminContext dataProvider={{ getList } as unknown as DataProvider} store={memoryStore()}>
      <List
        resource="links"
        disableSyncWithLocation
        exporter={false}
        error={<ListError />}
        empty={<EmptyState title="No tracking links yet" />}
      >
        <DataTable bulkActionButtons={false}>
          <DataTable.Col source="id" />
        </DataTable>
      </List>
    </AdminContext>,
  );
}

describe('list states', () => {
  afterEach(() => cleanup());

  it('error state shows the broker message and retries', async () => {
    let fail = true;
    const getList = vi.fn(async () => {
      if (fail) throw new Error('your role in this workspace does not allow this');
      return { data: [{ id: 'Kfie51eMB4' }], total: 1 };
    });
    renderList(getList as unknown as DataProvider['getList']);
    expect(await screen.findByText('your role in this workspace does not allow this')).toBeTruthy();
    fail = false;
    fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
    expect(await screen.findByText('Kfie51eMB4')).toBeTruthy();
  });

  it('empty state says what to do', async () => {
    renderList((async () => ({ data: [], total: 0 })) as unknown as DataProvider['getList']);
    expect(await screen.findByText('No tracking links yet')).toBeTruthy();
    expect(screen.getByRole('status')).toBeTruthy();
  });
});
