import { useEffect, useState } from 'react';
import { Alert, Box, Button, Card, CardContent, CardHeader, Skeleton, TextField } from '@mui/material';
import { useDataProvider, useNotify } from 'react-admin';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { WactDataProvider } from '../dataProvider/index.ts';
import { LIFECYCLE_PATHS, RETENTION_DEFAULTS, validateShorten } from './paths.ts';
import { useWorkspaceId } from '../layout/WorkspaceSwitcher.tsx';
import { errorMessage } from '../common/errors.ts';

export function RetentionCard() {
  const dataProvider = useDataProvider<WactDataProvider>();
  const notify = useNotify();
  const ws = useWorkspaceId();
  const qc = useQueryClient();
  const { data, isPending, error } = useQuery({
    queryKey: ['retention', ws],
    queryFn: () => dataProvider.call(LIFECYCLE_PATHS.retention),
    enabled: !!ws,
  });
  const current = {
    eventsDays: Number(data?.eventsDays ?? RETENTION_DEFAULTS.eventsDays),
    rawDays: Number(data?.rawDays ?? RETENTION_DEFAULTS.rawDays),
  };
  const max = {
    eventsDays: Number(data?.defaults?.eventsDays ?? RETENTION_DEFAULTS.eventsDays),
    rawDays: Number(data?.defaults?.rawDays ?? RETENTION_DEFAULTS.rawDays),
  };
  const [events, setEvents] = useState('');
  const [raw, setRaw] = useState('');
  useEffect(() => {
    if (data) {
      setEvents(String(current.eventsDays));
      setRaw(String(current.rawDays));
    }
  }, [data]);
  const eventsError = events ? validateShorten(Number(events), max.eventsDays) : undefined;
  const rawError = raw ? validateShorten(Number(raw), max.rawDays) : undefined;
  const changed = Number(events) !== current.eventsDays || Number(raw) !== current.rawDays;
  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    try {
      await dataProvider.call(LIFECYCLE_PATHS.retention, { method: 'PUT', json: { eventsDays: Number(events), rawDays: Number(raw) } });
      notify('Retention saved. Data older than this is removed by the next retention run.', { type: 'success' });
      await qc.invalidateQueries({ queryKey: ['retention', ws] });
    } catch (err) {
      notify(errorMessage(err, 'Could not save'), { type: 'error' });
    }
  };
  return (
    <Card>
      <CardHeader
        title="Retention"
        subheader="How long WAct keeps this workspace's data. Periods can be shortened, never extended beyond the defaults."
      />
      <CardContent>
        {error ? <Alert severity="error">{(error as Error).message}</Alert> : null}
        {isPending ? (
          <Skeleton height={80} />
        ) : (
          <Box component="form" onSubmit={save} sx={{ display: 'flex', gap: 2, flexWrap: 'wrap', alignItems: 'flex-start' }}>
            <TextField
              type="number"
              label="Attributed events (days)"
              value={events}
              onChange={(e) => setEvents(e.target.value)}
              error={!!eventsError}
              helperText={eventsError ?? `Now ${current.eventsDays} days (default and maximum ${max.eventsDays})`}
              slotProps={{ htmlInput: { min: 1, max: max.eventsDays } }}
            />
            <TextField
              type="number"
              label="Raw webhook payloads (days)"
              value={raw}
              onChange={(e) => setRaw(e.target.value)}
              error={!!rawError}
              helperText={rawError ?? `Now ${current.rawDays} days (default and maximum ${max.rawDays})`}
              slotProps={{ htmlInput: { min: 1, max: max.rawDays } }}
            />
            <Button type="submit" variant="contained" disabled={!changed || !!eventsError || !!rawError} sx={{ mt: 1 }}>
              Save retention
            </Button>
          </Box>
        )}
      </CardContent>
    </Card>
  );
}
