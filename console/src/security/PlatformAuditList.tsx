import { FilterButton, List, TopToolbar } from 'react-admin';
import { EmptyState, ListError } from '../common/ListStates.tsx';
import { AuditEventsTable, auditFilters } from '../audit/AuditEventsTable.tsx';
import { ReasonGate } from '../common/ReasonGate.tsx';

export default function PlatformAuditList() {
  return (
    <ReasonGate what="the platform audit log">
      <List
        title="Platform audit log"
        sort={{ field: 'occurredAt', order: 'DESC' }}
        perPage={50}
        filters={auditFilters}
        exporter={false}
        error={<ListError />}
        actions={
          <TopToolbar>
            <FilterButton />
          </TopToolbar>
        }
        empty={<EmptyState title="No platform events in this range" />}
      >
        <AuditEventsTable withWorkspace />
      </List>
    </ReasonGate>
  );
}
