import { useState } from 'react';
import { Alert, Box, Button, TextField } from '@mui/material';
import { useDataProvider, useNotify } from 'react-admin';
import type { WactDataProvider } from '../dataProvider/index.ts';
import { errorMessage } from '../common/errors.ts';

export interface FieldSpec {
  name: string;
  label: string;
  help?: string;
  optional?: boolean;
}

/**
 * Write-only secret form: inputs are password fields, never prefilled, cleared after
 * saving; the broker stores the values encrypted and never returns them.
 */
export function CredentialForm({
  path,
  fields,
  onSaved,
  submitLabel = 'Save',
}: {
  path: string;
  fields: readonly FieldSpec[];
  onSaved?: () => void;
  submitLabel?: string;
}) {
  const dataProvider = useDataProvider<WactDataProvider>();
  const notify = useNotify();
  const [values, setValues] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const complete = fields.every((f) => f.optional || (values[f.name] ?? '').trim().length > 0);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await dataProvider.call(path, { method: 'PUT', json: values });
      setValues({});
      notify('Saved. The secret is stored encrypted and will not be shown again.', { type: 'success' });
      onSaved?.();
    } catch (err) {
      setError(errorMessage(err, 'Could not save'));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Box component="form" onSubmit={submit} sx={{ display: 'flex', flexDirection: 'column', gap: 1.5, maxWidth: 520 }} autoComplete="off">
      {fields.map((f) => (
        <TextField
          key={f.name}
          type={/token|secret/i.test(f.name) ? 'password' : 'text'}
          label={f.label}
          helperText={f.help}
          value={values[f.name] ?? ''}
          onChange={(e) => setValues({ ...values, [f.name]: e.target.value })}
          required={!f.optional}
          size="small"
          autoComplete="new-password"
          slotProps={{ htmlInput: { 'data-secret': 'true', spellCheck: false } }}
        />
      ))}
      {error && <Alert severity="error">{error}</Alert>}
      <Box>
        <Button type="submit" variant="contained" disabled={!complete || busy}>
          {submitLabel}
        </Button>
      </Box>
    </Box>
  );
}
