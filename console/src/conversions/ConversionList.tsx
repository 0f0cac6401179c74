import {
  BooleanField,
  DataTable,
  FilterButton,
  FunctionField,
  List,
  NullableBooleanInput,
  NumberField,
  TextInput,
  TopToolbar,
  type RaRecord,
} from 'react-admin';
import { Chip, Stack, Tooltip } from '@mui/material';
import { EmptyState, ListError } from '../common/ListStates.tsx';
import { ExportButtons } from '../common/ExportButtons.tsx';
import { LocalDate, formatLocal } from '../common/Dates.tsx';

const filters = [<TextInput key="event" source="event" alwaysOn />, <NullableBooleanInput key="attributed" source="attributed" alwaysOn />];

const STATUS_COLOR: Record<string, 'success' | 'warning' | 'error' | 'default'> = {
  sent: 'success',
  pending: 'warning',
  queued: 'warning',
  failed: 'error',
  rejected: 'error',
};

/** Ad-platform sync status of one conversion: one chip per platform export. */
export function SyncStatus({ record }: { record: RaRecord }) {
  const exports: { platform: string; status: string; lastAttemptAt?: string; httpStatus?: number; attempts?: number }[] =
    record.exports ?? record.sync ?? [];
  if (!exports.length) return <span>{record.attributed ? 'not synced' : '—'}</span>;
  return (
    <Stack direction="row" spacing={0.5}>
      {exports.map((e) => (
        <Tooltip
          key={e.platform}
          title={`${e.attempts ?? 0} attempt(s), last ${formatLocal(e.lastAttemptAt)}${e.httpStatus ? `, HTTP ${e.httpStatus}` : ''}`}
        >
          <span>
            <Chip size="small" label={`${e.platform}: ${e.status}`} color={STATUS_COLOR[e.status] ?? 'default'} />
          </span>
        </Tooltip>
      ))}
    </Stack>
  );
}

export default function ConversionList() {
  return (
    <List
      sort={{ field: 'occurredAt', order: 'DESC' }}
      filters={filters}
      exporter={false}
      error={<ListError />}
      actions={
        <TopToolbar>
          <FilterButton />
          <ExportButtons />
        </TopToolbar>
      }
      empty={<EmptyState title="No conversions yet" hint="Send conversions with POST /v1/conversions and a workspace API key." />}
    >
      <DataTable bulkActionButtons={false}>
        <DataTable.Col source="occurredAt" label="Occurred">
          <LocalDate source="occurredAt" />
        </DataTable.Col>
        <DataTable.Col source="event" />
        <DataTable.NumberCol source="value">
          <NumberField source="value" emptyText="—" />
        </DataTable.NumberCol>
        <DataTable.Col source="currency" />
        <DataTable.Col source="attributed">
          <BooleanField source="attributed" />
        </DataTable.Col>
        <DataTable.Col source="matchMethod" label="Matched by" />
        <DataTable.Col label="Ad-platform sync" disableSort>
          <FunctionField render={(r: RaRecord) => <SyncStatus record={r} />} />
        </DataTable.Col>
      </DataTable>
    </List>
  );
}
