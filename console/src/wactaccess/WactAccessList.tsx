import {
  DataTable,
  DateTimeInput,
  FilterButton,
  FunctionField,
  List,
  NumberField,
  SelectInput,
  TextInput,
  TopToolbar,
  type RaRecord,
} from 'react-admin';
import { Chip } from '@mui/material';
import { EmptyState, ListError } from '../common/ListStates.tsx';
import { ExportButtons } from '../common/ExportButtons.tsx';
import { LocalDate } from '../common/Dates.tsx';

const filters = [
  <TextInput key="q" source="q" label="Employee, reason or ticket" alwaysOn />,
  <SelectInput
    key="endedHow"
    source="endedHow"
    label="How it ended"
    alwaysOn
    choices={[
      { id: 'active', name: 'still active' },
      { id: 'closed', name: 'closed' },
      { id: 'expired', name: 'expired' },
      { id: 'revoked', name: 'revoked' },
    ]}
  />,
  <SelectInput
    key="kind"
    source="kind"
    label="Kind"
    choices={[
      { id: 'database', name: 'database session' },
      { id: 'support', name: 'support browse' },
    ]}
  />,
  <SelectInput
    key="employeeRole"
    source="employeeRole"
    label="Employee role"
    choices={[
      { id: 'engineer', name: 'engineer' },
      { id: 'support', name: 'support' },
      { id: 'security', name: 'security' },
    ]}
  />,
  <SelectInput
    key="scope"
    source="scope"
    choices={[
      { id: 'full', name: 'full' },
      { id: 'redacted', name: 'redacted' },
    ]}
  />,
  <DateTimeInput key="from" source="from" label="Started from" />,
  <DateTimeInput key="to" source="to" label="Started before" />,
];

export function EndedChip({ record }: { record: RaRecord }) {
  const color = record.endedHow === 'revoked' ? 'error' : record.endedHow === 'active' ? 'warning' : 'default';
  return <Chip size="small" color={color} label={record.endedHow} data-testid="ended-how" />;
}

export default function WactAccessList() {
  return (
    <List
      title="WAct access"
      sort={{ field: 'start', order: 'DESC' }}
      perPage={25}
      filters={filters}
      exporter={false}
      error={<ListError />}
      actions={
        <TopToolbar>
          <FilterButton />
          <ExportButtons formats={['csv', 'jsonl']} />
        </TopToolbar>
      }
      empty={<EmptyState title="No WAct employee has accessed this workspace" />}
    >
      <DataTable bulkActionButtons={false} rowClick="show">
        <DataTable.Col source="start" label="Start">
          <LocalDate source="start" />
        </DataTable.Col>
        <DataTable.Col source="end" label="End">
          <LocalDate source="end" />
        </DataTable.Col>
        <DataTable.Col source="employeeName" label="Employee" />
        <DataTable.Col source="employeeRole" label="Role" disableSort />
        <DataTable.Col source="kind" disableSort />
        <DataTable.Col source="scope" disableSort />
        <DataTable.Col source="reason" disableSort />
        <DataTable.Col source="ticket" disableSort />
        <DataTable.Col label="Approved by" disableSort>
          <FunctionField render={(r: RaRecord) => [r.approverName, r.approverComment].filter(Boolean).join(' — ') || '—'} />
        </DataTable.Col>
        <DataTable.Col label="How it ended" disableSort>
          <FunctionField render={(r: RaRecord) => <EndedChip record={r} />} />
        </DataTable.Col>
        <DataTable.Col source="statementCount" label="Statements" disableSort>
          <NumberField source="statementCount" />
        </DataTable.Col>
      </DataTable>
    </List>
  );
}
