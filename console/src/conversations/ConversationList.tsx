import { DataTable, DateInput, List, SelectInput, TextField, TopToolbar, FilterButton } from 'react-admin';
import { MaskedField } from '../masking/MaskedField.tsx';
import { EmptyState, ListError } from '../common/ListStates.tsx';
import { ExportButtons } from '../common/ExportButtons.tsx';
import { LocalDate } from '../common/Dates.tsx';

export const PROVIDERS = [
  { id: 'meta', name: 'Meta Cloud API' },
  { id: 'twilio', name: 'Twilio' },
  { id: '360dialog', name: '360dialog' },
  { id: 'bird', name: 'Bird' },
  { id: 'gupshup', name: 'Gupshup' },
];
export const METHODS = [
  { id: 'ref_code', name: 'Ref code' },
  { id: 'ctwa_clid', name: 'Click-to-WhatsApp click id' },
  { id: 'ad_source_id', name: 'Ad source id' },
  { id: 'none', name: 'Not attributed' },
];

const filters = [
  <SelectInput key="provider" source="provider" choices={PROVIDERS} alwaysOn />,
  <SelectInput key="attribution" source="attributionMethod" label="Attribution" choices={METHODS} alwaysOn />,
  <DateInput key="from" source="from" label="Started after" />,
  <DateInput key="to" source="to" label="Started before" />,
];

export default function ConversationList() {
  return (
    <List
      sort={{ field: 'startedAt', order: 'DESC' }}
      filters={filters}
      actions={
        <TopToolbar>
          <FilterButton />
          <ExportButtons />
        </TopToolbar>
      }
      exporter={false}
      error={<ListError />}
      empty={<EmptyState title="No conversations yet" hint="Conversations appear here as soon as your BSP sends the first webhook." />}
    >
      <DataTable rowClick="show" bulkActionButtons={false}>
        <DataTable.Col source="startedAt" label="Started">
          <LocalDate source="startedAt" />
        </DataTable.Col>
        <DataTable.Col source="provider" />
        <DataTable.Col source="sender" label="Sender" disableSort>
          <MaskedField source="sender" />
        </DataTable.Col>
        <DataTable.Col source="attributionMethod" label="Attribution">
          <TextField source="attributionMethod" emptyText="not attributed" />
        </DataTable.Col>
        <DataTable.Col source="clickId" label="Click id" disableSort>
          <MaskedField source="clickId" />
        </DataTable.Col>
        <DataTable.Col source="platform" label="Platform" />
      </DataTable>
    </List>
  );
}
