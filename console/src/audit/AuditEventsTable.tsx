import { DataTable, DateTimeInput, FunctionField, TextInput, type RaRecord } from 'react-admin';
import { Chip } from '@mui/material';
import { LocalDate } from '../common/Dates.tsx';

export const auditFilters = [
  <DateTimeInput key="from" source="from" label="From" alwaysOn />,
  <DateTimeInput key="to" source="to" label="To" alwaysOn />,
  <TextInput key="actor" source="actor" label="Actor" alwaysOn />,
  <TextInput key="action" source="action" label="Action (e.g. data.read)" />,
  <TextInput key="target" source="target" label="Target" />,
  <TextInput key="reason" source="reason" label="Reason contains" />,
];

export function actorLabel(r: RaRecord): string {
  const a = r.actor ?? {};
  if (typeof a === 'string') return a;
  return [a.displayName ?? a.name ?? a.id, a.kind, a.role].filter(Boolean).join(' · ') || r.actorId || '—';
}

function targetLabel(r: RaRecord): string {
  const t = r.target;
  if (!t) return '—';
  if (typeof t === 'string') return t;
  return [t.type, t.id].filter(Boolean).join(' ');
}

/** The columns shared by the workspace and the platform audit log. */
export function AuditEventsTable({ withWorkspace = false }: { withWorkspace?: boolean }) {
  return (
    <DataTable bulkActionButtons={false} rowClick={false}>
      <DataTable.Col source="occurredAt" label="Time">
        <FunctionField render={(r: RaRecord) => <LocalDate source={r.occurredAt ? 'occurredAt' : r.time ? 'time' : 'createdAt'} />} />
      </DataTable.Col>
      <DataTable.Col label="Actor" disableSort>
        <FunctionField render={actorLabel} />
      </DataTable.Col>
      <DataTable.Col source="action" />
      {withWorkspace ? <DataTable.Col source="workspaceId" label="Workspace" /> : null}
      <DataTable.Col label="Target" disableSort>
        <FunctionField render={targetLabel} />
      </DataTable.Col>
      <DataTable.Col source="reason" />
      <DataTable.Col source="outcome">
        <FunctionField
          render={(r: RaRecord) =>
            r.outcome ? (
              <Chip size="small" label={r.outcome} color={r.outcome === 'success' || r.outcome === 'allowed' ? 'default' : 'warning'} />
            ) : (
              '—'
            )
          }
        />
      </DataTable.Col>
    </DataTable>
  );
}
