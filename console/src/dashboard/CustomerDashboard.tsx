import { Alert, Box, Card, CardContent, CardHeader, Skeleton, ToggleButton, ToggleButtonGroup, Typography } from '@mui/material';
import { useState } from 'react';
import { Title, useDataProvider } from 'react-admin';
import { useQuery } from '@tanstack/react-query';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  Legend,
  Line,
  LineChart,
  Pie,
  PieChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { WactDataProvider } from '../dataProvider/index.ts';
import { attributedShare, dayLabel, normaliseStats } from './stats.ts';
import { EmptyState } from '../common/ListStates.tsx';
import { useWorkspaceId } from '../layout/WorkspaceSwitcher.tsx';

const COLORS = ['#0b6e4f', '#1f3a5f', '#e07a5f', '#f2cc8f', '#81b29a', '#3d405b'];
export const DASHBOARD_PATH = '/api/workspaces/{ws}/dashboard';

function Kpi({ label, value }: { label: string; value: string }) {
  return (
    <Card>
      <CardContent>
        <Typography variant="overline">{label}</Typography>
        <Typography variant="h4" component="p">
          {value}
        </Typography>
      </CardContent>
    </Card>
  );
}

export default function CustomerDashboard() {
  const dataProvider = useDataProvider<WactDataProvider>();
  const workspaceId = useWorkspaceId();
  const [days, setDays] = useState(30);
  const { data, isPending, error } = useQuery({
    queryKey: ['dashboard', workspaceId, days],
    queryFn: async () => normaliseStats(await dataProvider.call(`${DASHBOARD_PATH}?days=${days}`)),
    enabled: !!workspaceId,
  });

  return (
    <Box sx={{ p: 2, display: 'flex', flexDirection: 'column', gap: 2 }}>
      <Title title="Dashboard" />
      <Box sx={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center' }}>
        <Typography variant="h5" component="h1">
          Dashboard
        </Typography>
        <ToggleButtonGroup size="small" exclusive value={days} onChange={(_, v) => v && setDays(v)} aria-label="Period">
          <ToggleButton value={7}>7 days</ToggleButton>
          <ToggleButton value={30}>30 days</ToggleButton>
          <ToggleButton value={90}>90 days</ToggleButton>
        </ToggleButtonGroup>
      </Box>
      {error ? <Alert severity="error">Could not load the dashboard: {(error as Error).message}</Alert> : null}
      {isPending ? (
        <Skeleton variant="rectangular" height={320} aria-label="Loading dashboard" />
      ) : data && data.totals.conversations === 0 ? (
        <EmptyState
          title="No conversations in this period"
          hint="Once your BSP webhook is connected, conversations and their attribution show up here."
        />
      ) : data ? (
        <>
          <Box sx={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(200px, 1fr))', gap: 2 }}>
            <Kpi label="Conversations" value={data.totals.conversations.toLocaleString()} />
            <Kpi label="Attributed share" value={`${Math.round(attributedShare(data) * 100)} %`} />
            <Kpi label="Conversions" value={data.totals.conversions.toLocaleString()} />
          </Box>
          <Card>
            <CardHeader title="Conversations per day" />
            <CardContent sx={{ height: 300 }} role="img" aria-label="Conversations and attributed conversations per day">
              <ResponsiveContainer>
                <LineChart data={data.perDay.map((d) => ({ ...d, label: dayLabel(d.day) }))}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="label" />
                  <YAxis allowDecimals={false} />
                  <Tooltip />
                  <Legend />
                  <Line type="monotone" dataKey="conversations" name="Conversations" stroke={COLORS[1]} isAnimationActive={false} />
                  <Line type="monotone" dataKey="attributed" name="Attributed" stroke={COLORS[0]} isAnimationActive={false} />
                </LineChart>
              </ResponsiveContainer>
            </CardContent>
          </Card>
          <Box sx={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(320px, 1fr))', gap: 2 }}>
            <Card>
              <CardHeader title="By ad platform" />
              <CardContent sx={{ height: 260 }} role="img" aria-label="Attributed conversations by ad platform">
                <ResponsiveContainer>
                  <PieChart>
                    <Pie data={data.byPlatform} dataKey="value" nameKey="name" outerRadius={90} label isAnimationActive={false}>
                      {data.byPlatform.map((_, i) => (
                        <Cell key={i} fill={COLORS[i % COLORS.length]} />
                      ))}
                    </Pie>
                    <Tooltip />
                    <Legend />
                  </PieChart>
                </ResponsiveContainer>
              </CardContent>
            </Card>
            <Card>
              <CardHeader title="By BSP" />
              <CardContent sx={{ height: 260 }} role="img" aria-label="Conversations by BSP">
                <ResponsiveContainer>
                  <BarChart data={data.byProvider}>
                    <CartesianGrid strokeDasharray="3 3" />
                    <XAxis dataKey="name" />
                    <YAxis allowDecimals={false} />
                    <Tooltip />
                    <Bar dataKey="value" name="Conversations" fill={COLORS[0]} isAnimationActive={false} />
                  </BarChart>
                </ResponsiveContainer>
              </CardContent>
            </Card>
          </Box>
        </>
      ) : null}
    </Box>
  );
}
