import { Create, SelectInput, SimpleForm, TextInput, email, required, useNotify, useRedirect } from 'react-admin';
import { ROLE_CHOICES } from './roles.ts';

export default function MemberInvite() {
  const notify = useNotify();
  const redirect = useRedirect();
  return (
    <Create
      resource="invitations"
      title="Invite a member"
      mutationOptions={{
        onSuccess: () => {
          notify('Invitation created: it is accepted when they first sign in with that email.', { type: 'success' });
          redirect('list', 'members');
        },
      }}
    >
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
