import { DataTable, DateInput, FilterButton, List, SelectInput, TextInput, TopToolbar } from 'react-admin';
import { MaskedField } from '../masking/MaskedField.tsx';
import { EmptyState, ListError } from '../common/ListStates.tsx';
import { ExportButtons } from '../common/ExportButtons.tsx';
import { LocalDate } from '../common/Dates.tsx';

const filters = [
  <SelectInput
    key="source"
    source="source"
    choices={[
      { id: 'link', name: 'Tracking link' },
      { id: 'snippet', name: 'Site snippet' },
      { id: 'ctwa', name: 'Click-to-WhatsApp ad' },
    ]}
    alwaysOn
  />,
  <TextInput key="utm" source="utmCampaign" label="utm_campaign" alwaysOn />,
  <DateInput key="from" source="from" label="After" />,
  <DateInput key="to" source="to" label="Before" />,
];

export default function ClickList() {
  return (
    <List
      sort={{ field: 'createdAt', order: 'DESC' }}
      filters={filters}
      exporter={false}
      error={<ListError />}
      actions={
        <TopToolbar>
          <FilterButton />
          <ExportButtons />
        </TopToolbar>
      }
      empty={<EmptyState title="No clicks yet" hint="Clicks are recorded by your tracking links and site snippet." />}
    >
      <DataTable bulkActionButtons={false}>
        <DataTable.Col source="createdAt" label="Clicked">
          <LocalDate source="createdAt" />
        </DataTable.Col>
        <DataTable.Col source="source" />
        <DataTable.Col source="linkId" label="Link" />
        <DataTable.Col source="clickId" label="Click id" disableSort>
          <MaskedField source="clickId" />
        </DataTable.Col>
        <DataTable.Col source="clickKind" label="Kind" />
        <DataTable.Col source="utmSource" label="utm_source" />
        <DataTable.Col source="utmCampaign" label="utm_campaign" />
      </DataTable>
    </List>
  );
}
