import { Create, RadioButtonGroupInput, SelectInput, SimpleForm, TextInput, minLength, required, useGetIdentity } from 'react-admin';
import { WorkspaceInput } from './WorkspaceInput.tsx';

const TTLS = [
  { id: 5, name: '5 minutes' },
  { id: 10, name: '10 minutes' },
  { id: 15, name: '15 minutes (maximum)' },
];

/** An engineer asks for a session: redacted is granted at once, full needs a security officer's approval. */
export default function DbSessionCreate() {
  const { identity } = useGetIdentity();
  const support = identity?.employeeRole === 'support';
  return (
    <Create title="Request a database session" redirect="show">
      <SimpleForm>
        <WorkspaceInput />
        <RadioButtonGroupInput
          source="scope"
          defaultValue="redacted"
          choices={[
            { id: 'redacted', name: 'Redacted (masked views, granted at once)' },
            ...(support ? [] : [{ id: 'full', name: 'Full (unmasked identifiers, needs approval by security)' }]),
          ]}
          validate={required()}
        />
        <SelectInput source="ttlMinutes" label="Duration" choices={TTLS} defaultValue={5} validate={required()} />
        <TextInput
          source="reason"
          multiline
          validate={[required(), minLength(10)]}
          helperText="At least 10 characters; include the ticket reference. Visible to approvers and to the customer."
        />
      </SimpleForm>
    </Create>
  );
}
