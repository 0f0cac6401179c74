import { TextInput, regex, required } from 'react-admin';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The workspace id as it appears in the customer's ticket (the directory has thousands). */
export function WorkspaceInput({ source = 'workspaceId' }: { source?: string }) {
  return (
    <TextInput
      source={source}
      label="Workspace id"
      helperText="From the ticket, e.g. 7b0f3c2e-…"
      validate={[required(), regex(UUID, 'A workspace id (uuid)')]}
      parse={(v: string) => v.trim()}
    />
  );
}
