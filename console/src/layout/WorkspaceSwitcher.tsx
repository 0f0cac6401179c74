import { useEffect, useState } from 'react';
import { MenuItem, TextField } from '@mui/material';
import { useGetIdentity, useRedirect } from 'react-admin';
import { useQueryClient } from '@tanstack/react-query';
import { getWorkspaceId, onWorkspaceChange, setWorkspaceId } from '../workspace/currentWorkspace.ts';
import type { WorkspaceMembership } from '../auth/session.ts';

export function useWorkspaceId(): string | undefined {
  const [id, setId] = useState(getWorkspaceId());
  useEffect(() => onWorkspaceChange(setId), []);
  return id;
}

/** Customers in several workspaces pick which one the console shows; data is refetched. */
export function WorkspaceSwitcher() {
  const { identity } = useGetIdentity();
  const current = useWorkspaceId();
  const queryClient = useQueryClient();
  const redirect = useRedirect();
  const workspaces = (identity?.workspaces ?? []) as WorkspaceMembership[];
  if (identity?.kind !== 'customer' || workspaces.length === 0) return null;
  return (
    <TextField
      select
      size="small"
      variant="outlined"
      label="Workspace"
      value={current ?? ''}
      onChange={(e) => {
        setWorkspaceId(e.target.value);
        queryClient.clear();
        redirect('/');
      }}
      sx={{
        minWidth: 180,
        '& .MuiInputBase-root': { color: 'inherit', bgcolor: 'rgba(255,255,255,0.12)' },
        '& .MuiInputLabel-root': { color: 'inherit' },
      }}
    >
      {workspaces.map((w) => (
        <MenuItem key={w.id} value={w.id}>
          {w.name} · {w.role}
          {w.region ? ` · ${w.region.toUpperCase()}` : ''}
        </MenuItem>
      ))}
    </TextField>
  );
}
