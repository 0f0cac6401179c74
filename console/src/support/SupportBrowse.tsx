import { Alert, Box, Button, Tab, Tabs, Typography } from '@mui/material';
import { useState } from 'react';
import { DataTable, FunctionField, List, TextField, Title, useRedirect, type RaRecord } from 'react-admin';
import { EmptyState, ListError } from '../common/ListStates.tsx';
import { LocalDate } from '../common/Dates.tsx';
import { MaskedField } from '../masking/MaskedField.tsx';
import { formatCountdown, useSecondsLeft, useSupportSession } from './supportSession.ts';

/**
 * A support agent's redacted view of the workspace opened for a ticket. The rows come from
 * the database's `redacted` views read as the session role: masking is enforced below the UI,
 * and there is no unmask action here.
 */
export default function SupportBrowse() {
  const session = useSupportSession();
  const left = useSecondsLeft(session?.expiresAt);
  const redirect = useRedirect();
  const [tab, setTab] = useState(0);
  if (!session || left === 0) {
    return (
      <Box sx={{ p: 3 }}>
        <Title title="Browse (redacted)" />
        <Alert severity="info" action={<Button onClick={() => redirect('create', 'support-sessions')}>Open a workspace</Button>}>
          {session ? 'The support session has expired.' : 'No support session is open. Open a workspace for a ticket first.'}
        </Alert>
      </Box>
    );
  }
  return (
    <Box sx={{ p: 1 }}>
      <Title title={`Support: ${session.workspaceName ?? session.workspaceId}`} />
      <Alert severity="info" sx={{ mb: 1 }}>
        Redacted view for “{session.reason}”. Session ends in <strong data-testid="browse-countdown">{formatCountdown(left)}</strong>. Every
        read is in the customer&apos;s audit log.
      </Alert>
      <Tabs value={tab} onChange={(_, v) => setTab(v)} aria-label="Redacted data">
        <Tab label="Conversations" />
        <Tab label="Clicks" />
      </Tabs>
      {tab === 0 ? (
        <List
          resource="support-conversations"
          disableSyncWithLocation
          sort={{ field: 'started_at', order: 'DESC' }}
          exporter={false}
          error={<ListError />}
          title=" "
          empty={<EmptyState title="No conversations" />}
          actions={false}
        >
          <DataTable bulkActionButtons={false} rowClick={false}>
            <DataTable.Col source="started_at" label="Started">
              <LocalDate source="started_at" />
            </DataTable.Col>
            <DataTable.Col source="provider" />
            <DataTable.Col source="sender" label="Sender (masked)" disableSort>
              <MaskedField source="sender" unmaskable={false} />
            </DataTable.Col>
            <DataTable.Col source="attribution_method" label="Attribution">
              <TextField source="attribution_method" emptyText="not attributed" />
            </DataTable.Col>
            <DataTable.Col source="ctwa_clid" label="CTWA click id" disableSort>
              <MaskedField source="ctwa_clid" unmaskable={false} />
            </DataTable.Col>
          </DataTable>
        </List>
      ) : (
        <List
          resource="support-clicks"
          disableSyncWithLocation
          sort={{ field: 'created_at', order: 'DESC' }}
          exporter={false}
          error={<ListError />}
          title=" "
          empty={<EmptyState title="No clicks" />}
          actions={false}
        >
          <DataTable bulkActionButtons={false} rowClick={false}>
            <DataTable.Col source="created_at" label="Clicked">
              <LocalDate source="created_at" />
            </DataTable.Col>
            <DataTable.Col source="source" />
            <DataTable.Col source="click_ids" label="Click ids (masked)" disableSort>
              <FunctionField
                render={(r: RaRecord) =>
                  r.click_ids
                    ? Object.entries(r.click_ids)
                        .map(([k, v]) => `${k}: ${v}`)
                        .join(', ')
                    : '—'
                }
              />
            </DataTable.Col>
            <DataTable.Col source="utm_source" label="utm_source" disableSort />
            <DataTable.Col source="utm_campaign" label="utm_campaign" />
          </DataTable>
        </List>
      )}
      <Typography variant="caption" color="text.secondary">
        Masking is applied by the database views; support sessions cannot unmask.
      </Typography>
    </Box>
  );
}
