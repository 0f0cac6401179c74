import { CreateButton, DataTable, DeleteButton, FunctionField, List, TopToolbar, type RaRecord } from 'react-admin';
import { EmptyState, ListError } from '../common/ListStates.tsx';
import { LocalDate } from '../common/Dates.tsx';
import { CopyField } from '../common/SecretOnce.tsx';
import { useIngestBase } from '../workspace/useIngestBase.ts';
import { trackingUrl } from './linkUrls.ts';
import { getWorkspaceId } from '../workspace/currentWorkspace.ts';

function UrlCell({ record }: { record: RaRecord }) {
  const base = useIngestBase();
  const url = record.url ?? trackingUrl(base, getWorkspaceId() ?? '', String(record.id));
  return <CopyField label="Tracking URL" value={url} />;
}

export default function LinkList() {
  return (
    <List
      sort={{ field: 'createdAt', order: 'DESC' }}
      exporter={false}
      error={<ListError />}
      actions={
        <TopToolbar>
          <CreateButton label="New link" />
        </TopToolbar>
      }
      empty={
        <EmptyState
          title="No tracking links yet"
          hint="A tracking link records the ad click and opens WhatsApp with a ref code."
          action={<CreateButton label="New link" />}
        />
      }
    >
      <DataTable bulkActionButtons={false}>
        <DataTable.Col source="id" label="Link" />
        <DataTable.Col source="waNumber" label="WhatsApp number" />
        <DataTable.Col source="prefillText" label="Prefilled text" />
        <DataTable.Col label="URL" disableSort>
          <FunctionField render={(r: RaRecord) => <UrlCell record={r} />} />
        </DataTable.Col>
        <DataTable.Col source="createdAt" label="Created">
          <LocalDate source="createdAt" />
        </DataTable.Col>
        <DataTable.Col label="" disableSort>
          <DeleteButton
            label="Disable"
            mutationMode="pessimistic"
            confirmTitle="Disable this tracking link?"
            confirmContent="Visitors following it get an error instead of WhatsApp."
          />
        </DataTable.Col>
      </DataTable>
    </List>
  );
}
