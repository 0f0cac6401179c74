import { Create, SelectInput, SimpleForm, TextInput, minLength, required, useNotify, useRedirect, type RaRecord } from 'react-admin';
import { setSupportSession } from './supportSession.ts';
import { WorkspaceInput } from '../dbsessions/WorkspaceInput.tsx';

const TTLS = [
  { id: 5, name: '5 minutes' },
  { id: 10, name: '10 minutes' },
  { id: 15, name: '15 minutes (maximum)' },
];

/** Opening a workspace for a ticket: the reason is required and goes into the customer's audit log. */
export default function SupportSessionCreate() {
  const redirect = useRedirect();
  const notify = useNotify();
  return (
    <Create
      title="Open a workspace for a ticket"
      mutationOptions={{
        onSuccess: (data: RaRecord, variables: { data?: Record<string, string> }) => {
          setSupportSession({
            id: String(data.id),
            workspaceId: data.workspaceId ?? variables?.data?.workspaceId,
            reason: data.reason ?? variables?.data?.reason,
            expiresAt: data.expiresAt,
          });
          notify('Support session opened. Identifiers are redacted by the database.', { type: 'info' });
          redirect('/support/browse');
        },
      }}
    >
      <SimpleForm>
        <WorkspaceInput />
        <TextInput
          source="reason"
          label="Reason (ticket reference and what you need)"
          multiline
          validate={[required(), minLength(10)]}
          helperText="The customer sees this reason in their audit log."
        />
        <SelectInput source="ttlMinutes" label="Duration" choices={TTLS} defaultValue={15} validate={required()} />
      </SimpleForm>
    </Create>
  );
}
