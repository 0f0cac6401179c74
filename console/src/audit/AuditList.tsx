import { FilterButton, List, TopToolbar } from 'react-admin';
import { EmptyState, ListError } from '../common/ListStates.tsx';
import { ExportButtons } from '../common/ExportButtons.tsx';
import { AuditEventsTable, auditFilters } from './AuditEventsTable.tsx';
import { DigestPanel, VerifyPanel } from './VerifyPanel.tsx';
import { AuditDelivery } from './AuditDelivery.tsx';

export const AUDIT_EXPORT_PATH = '/api/workspaces/{ws}/audit/export';

export default function AuditList() {
  return (
    <>
      <List
        title="Audit log"
        sort={{ field: 'occurredAt', order: 'DESC' }}
        perPage={50}
        filters={auditFilters}
        exporter={false}
        error={<ListError />}
        actions={
          <TopToolbar>
            <FilterButton />
            <ExportButtons formats={['csv', 'jsonl']} path={AUDIT_EXPORT_PATH} />
          </TopToolbar>
        }
        aside={undefined}
        empty={<EmptyState title="No audit events in this range" />}
      >
        <AuditEventsTable />
      </List>
      <VerifyPanel />
      <DigestPanel />
      <AuditDelivery />
    </>
  );
}
