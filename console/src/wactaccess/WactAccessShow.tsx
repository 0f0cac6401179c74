import { Labeled, Show, SimpleShowLayout, TextField, useRecordContext } from 'react-admin';
import { Chip, Stack, Table, TableBody, TableCell, TableHead, TableRow, Typography } from '@mui/material';
import { LocalDate } from '../common/Dates.tsx';

interface Entry {
  seq: number;
  /** The gateway connection's transcript id (null: recorded before transcripts existed). */
  connection: string | null;
  at: string;
  text: string;
  outcome: string;
  rows: number | null;
}

/** The statements as the audit log recorded them: text already masked by the gateway. */
function Transcript() {
  const record = useRecordContext();
  const entries = (record?.transcript ?? []) as Entry[];
  if (!entries.length) return <Typography variant="body2">No statements were run in this session.</Typography>;
  return (
    <Table size="small" data-testid="transcript">
      <TableHead>
        <TableRow>
          <TableCell>Time</TableCell>
          <TableCell>Connection</TableCell>
          <TableCell>Statement (masked)</TableCell>
          <TableCell>Outcome</TableCell>
          <TableCell align="right">Rows</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {entries.map((e) => (
          <TableRow key={e.seq}>
            <TableCell>{new Date(e.at).toLocaleString()}</TableCell>
            <TableCell title={e.connection ?? undefined}>{e.connection ? e.connection.slice(0, 8) : '—'}</TableCell>
            <TableCell sx={{ fontFamily: 'monospace', whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>{e.text}</TableCell>
            <TableCell>
              <Chip size="small" color={e.outcome === 'success' ? 'default' : 'error'} label={e.outcome} />
            </TableCell>
            <TableCell align="right">{e.rows ?? '—'}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

export default function WactAccessShow() {
  return (
    <Show title="WAct access session">
      <SimpleShowLayout>
        <Stack direction="row" spacing={4} sx={{ flexWrap: 'wrap' }}>
          <TextField source="employeeName" label="Employee" />
          <TextField source="employeeRole" label="Role" />
          <TextField source="kind" />
          <TextField source="scope" />
          <TextField source="ticket" emptyText="—" />
          <TextField source="endedHow" label="How it ended" />
          <TextField source="statementCount" label="Statements" />
        </Stack>
        <TextField source="reason" />
        <Stack direction="row" spacing={4}>
          <TextField source="approverName" label="Approved by" emptyText="—" />
          <TextField source="approverComment" label="Approver's comment" emptyText="—" />
          <TextField source="revokedBy" label="Revoked by" emptyText="—" />
        </Stack>
        <Stack direction="row" spacing={4}>
          <Labeled label="Start">
            <LocalDate source="start" />
          </Labeled>
          <Labeled label="End">
            <LocalDate source="end" />
          </Labeled>
        </Stack>
        <Labeled label="Transcript" fullWidth>
          <Transcript />
        </Labeled>
      </SimpleShowLayout>
    </Show>
  );
}
