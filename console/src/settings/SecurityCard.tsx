import { Card, CardContent, CardHeader, FormControlLabel, Skeleton, Switch } from '@mui/material';
import { useDataProvider, useNotify } from 'react-admin';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { WactDataProvider } from '../dataProvider/index.ts';
import { useWorkspaceId } from '../layout/WorkspaceSwitcher.tsx';
import { errorMessage } from '../common/errors.ts';

const PATH = '/api/workspaces/{ws}/settings/security';

/** Owners and admins can require an authenticator (TOTP) from every member of the workspace. */
export function SecurityCard() {
  const dataProvider = useDataProvider<WactDataProvider>();
  const notify = useNotify();
  const ws = useWorkspaceId();
  const qc = useQueryClient();
  const { data, isPending } = useQuery({ queryKey: ['security-settings', ws], queryFn: () => dataProvider.call(PATH), enabled: !!ws });
  return (
    <Card>
      <CardHeader title="Sign-in security" subheader="Members without an authenticator are asked to set one up at their next sign-in." />
      <CardContent>
        {isPending ? (
          <Skeleton height={40} />
        ) : (
          <FormControlLabel
            control={
              <Switch
                checked={!!data?.requireTotp}
                onChange={async (e) => {
                  try {
                    await dataProvider.call(PATH, { method: 'PUT', json: { requireTotp: e.target.checked } });
                    await qc.invalidateQueries({ queryKey: ['security-settings', ws] });
                    notify('Saved', { type: 'success' });
                  } catch (err) {
                    notify(errorMessage(err, 'Could not save'), { type: 'error' });
                  }
                }}
              />
            }
            label="Require an authenticator app (TOTP) for all members"
          />
        )}
      </CardContent>
    </Card>
  );
}
