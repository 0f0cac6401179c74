import { Create, SelectInput, SimpleForm, TextInput, email, required } from 'react-admin';
import { ROLE_CHOICES } from './roles.ts';

export default function MemberInvite() {
  return (
    <Create resource="invitations" redirect={() => 'members'} title="Invite a member">
      <SimpleForm>
        <TextInput
          source="email"
          type="email"
          validate={[required(), email()]}
          helperText="They sign in with single sign-on using this address."
        />
        <SelectInput source="role" choices={ROLE_CHOICES} defaultValue="analyst" validate={required()} />
      </SimpleForm>
    </Create>
  );
}
