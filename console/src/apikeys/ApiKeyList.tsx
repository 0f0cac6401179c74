import { useState } from 'react';
import { Button, Dialog, DialogActions, DialogContent, DialogTitle, TextField as MuiTextField } from '@mui/material';
import AddIcon from '@mui/icons-material/Add';
import { DataTable, DeleteButton, List, TopToolbar, useCreate, useNotify, useRefresh, type RaRecord, FunctionField } from 'react-admin';
import { EmptyState, ListError } from '../common/ListStates.tsx';
import { LocalDate } from '../common/Dates.tsx';
import { SecretOnceDialog } from '../common/SecretOnce.tsx';
import { errorMessage } from '../common/errors.ts';

/**
 * Creates a key; the broker returns the key itself once, and only its hash is stored. The
 * key is handed up to the page so its dialog survives the list switching from empty to filled.
 */
function NewKeyButton({ onCreated }: { onCreated: (key: string) => void }) {
  const [open, setOpen] = useState(false);
  const [label, setLabel] = useState('');
  const [create, { isPending }] = useCreate();
  const notify = useNotify();
  const refresh = useRefresh();
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    create(
      'api-keys',
      { data: { label } },
      {
        onSuccess: (data: RaRecord) => {
          setOpen(false);
          setLabel('');
          onCreated(data.key);
          refresh();
        },
        onError: (err: unknown) => notify(errorMessage(err, 'Could not create the key'), { type: 'error' }),
      },
    );
  };
  return (
    <>
      <Button startIcon={<AddIcon />} onClick={() => setOpen(true)}>
        New API key
      </Button>
      <Dialog open={open} onClose={() => setOpen(false)}>
        <form onSubmit={submit}>
          <DialogTitle>New API key</DialogTitle>
          <DialogContent>
            <MuiTextField
              autoFocus
              fullWidth
              margin="dense"
              label="Label"
              value={label}
              onChange={(e) => setLabel(e.target.value)}
              helperText="Where the key is used, e.g. “CRM conversions”"
              required
            />
          </DialogContent>
          <DialogActions>
            <Button onClick={() => setOpen(false)}>Cancel</Button>
            <Button type="submit" variant="contained" disabled={isPending || !label.trim()}>
              Create
            </Button>
          </DialogActions>
        </form>
      </Dialog>
    </>
  );
}

export default function ApiKeyList() {
  const [secret, setSecret] = useState<string | undefined>();
  return (
    <>
      <List
        exporter={false}
        error={<ListError />}
        sort={{ field: 'createdAt', order: 'DESC' }}
        actions={
          <TopToolbar>
            <NewKeyButton onCreated={setSecret} />
          </TopToolbar>
        }
        empty={
          <EmptyState
            title="No API keys"
            hint="API keys let your site and CRM post clicks and conversions."
            action={<NewKeyButton onCreated={setSecret} />}
          />
        }
      >
        <DataTable bulkActionButtons={false}>
          <DataTable.Col source="label" />
          <DataTable.Col source="prefix" label="Key" />
          <DataTable.Col source="createdAt" label="Created">
            <LocalDate source="createdAt" />
          </DataTable.Col>
          <DataTable.Col source="revokedAt" label="Revoked">
            <LocalDate source="revokedAt" emptyText="active" />
          </DataTable.Col>
          <DataTable.Col label="" disableSort>
            <FunctionField
              render={(r: RaRecord) =>
                r.revokedAt ? null : (
                  <DeleteButton
                    label="Revoke"
                    mutationMode="pessimistic"
                    confirmTitle="Revoke this API key?"
                    confirmContent="Requests using it will be refused at once."
                  />
                )
              }
            />
          </DataTable.Col>
        </DataTable>
      </List>
      {secret && <SecretOnceDialog title="Your new API key" secret={secret} onClose={() => setSecret(undefined)} />}
    </>
  );
}
