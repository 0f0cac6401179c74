import { Create, NumberInput, SimpleForm, TextInput, maxValue, minLength, minValue, required, useNotify, useRedirect } from 'react-admin';
import { setSupportSession } from './supportSession.ts';

/** Opening a workspace for a ticket: the reason is required and goes into the customer's audit log. */
export default function SupportSessionCreate() {
  const redirect = useRedirect();
  const notify = useNotify();
  return (
    <Create
      title="Open a workspace for a ticket"
      mutationOptions={{
        onSuccess: (data: any, variables: any) => {
          const reason = data.reason ?? variables?.data?.reason;
          setSupportSession({ id: String(data.id), workspaceId: data.workspaceId ?? variables?.data?.workspaceId, workspaceName: data.workspaceName, reason, expiresAt: data.expiresAt });
          notify('Support session opened. Identifiers are redacted by the database.', { type: 'info' });
          redirect('/support/browse');
        },
      }}
    >
      <SimpleForm>
        <TextInput source="workspaceId" label="Workspace id" validate={required()} />
        <TextInput source="reason" label="Reason (ticket reference and what you need)" multiline validate={[required(), minLength(10)]} helperText="The customer sees this reason in their audit log." />
        <NumberInput source="ttlMinutes" label="Duration (minutes)" defaultValue={15} validate={[minValue(1), maxValue(60)]} />
      </SimpleForm>
    </Create>
  );
}
