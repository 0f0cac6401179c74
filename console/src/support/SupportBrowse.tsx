import { Alert, Box, Button, Tab, Tabs, Typography } from '@mui/material';
import { useState } from 'react';
import { DataTable, List, TextField, Title, useRedirect } from 'react-admin';
import { EmptyState } from '../common/ListStates.tsx';
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
        Redacted view for “{session.reason}”. Session ends in <strong data-testid="browse-countdown">{formatCountdown(left)}</strong>. Every read is in the customer&apos;s audit log.
      </Alert>
      <Tabs value={tab} onChange={(_, v) => setTab(v)} aria-label="Redacted data">
        <Tab label="Conversations" />
        <Tab label="Clicks" />
      </Tabs>
      {tab === 0 ? (
        <List resource="support-conversations" disableSyncWithLocation sort={{ field: 'startedAt', order: 'DESC' }} exporter={false} title=" " empty={<EmptyState title="No conversations" />} actions={false}>
          <DataTable bulkActionButtons={false} rowClick={false}>
            <DataTable.Col source="startedAt" label="Started">
              <LocalDate source="startedAt" />
            </DataTable.Col>
            <DataTable.Col source="provider" />
            <DataTable.Col source="sender" label="Sender" disableSort>
              <MaskedField source="sender" unmaskable={false} />
            </DataTable.Col>
            <DataTable.Col source="attributionMethod" label="Attribution">
              <TextField source="attributionMethod" emptyText="not attributed" />
            </DataTable.Col>
            <DataTable.Col source="clickId" label="Click id" disableSort>
              <MaskedField source="clickId" unmaskable={false} />
            </DataTable.Col>
          </DataTable>
        </List>
      ) : (
        <List resource="support-clicks" disableSyncWithLocation sort={{ field: 'createdAt', order: 'DESC' }} exporter={false} title=" " empty={<EmptyState title="No clicks" />} actions={false}>
          <DataTable bulkActionButtons={false} rowClick={false}>
            <DataTable.Col source="createdAt" label="Clicked">
              <LocalDate source="createdAt" />
            </DataTable.Col>
            <DataTable.Col source="source" />
            <DataTable.Col source="clickId" label="Click id" disableSort>
              <MaskedField source="clickId" unmaskable={false} />
            </DataTable.Col>
            <DataTable.Col source="utmSource" label="utm_source" />
          </DataTable>
        </List>
      )}
      <Typography variant="caption" color="text.secondary">
        Masking is applied by the database views; support sessions cannot unmask.
      </Typography>
    </Box>
  );
}
