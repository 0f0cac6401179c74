import { Create, SimpleForm, TextInput, regex, required } from 'react-admin';

export const validateWaNumber = [
  required(),
  regex(/^\+?[1-9][0-9]{6,14}$/, 'Your business WhatsApp number in international format, digits only'),
];

export default function LinkCreate() {
  return (
    <Create redirect="list">
      <SimpleForm>
        <TextInput
          source="waNumber"
          label="Business WhatsApp number"
          helperText="The number visitors will chat with, e.g. 4915123456789"
          validate={validateWaNumber}
        />
        <TextInput source="prefillText" label="Prefilled message" defaultValue="Hi! I'd like to know more." multiline />
      </SimpleForm>
    </Create>
  );
}
