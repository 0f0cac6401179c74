import { NumberField, Show, SimpleShowLayout, TextField } from 'react-admin';
import { MaskedField } from '../masking/MaskedField.tsx';
import { LocalDate } from '../common/Dates.tsx';

export default function ConversationShow() {
  return (
    <Show>
      <SimpleShowLayout>
        <TextField source="id" />
        <LocalDate source="startedAt" label="Started" />
        <TextField source="provider" />
        <MaskedField source="sender" label="Sender (phone hash)" />
        <TextField source="senderKind" label="Sender kind" emptyText="phone" />
        <TextField source="attributionMethod" label="Attribution" emptyText="not attributed" />
        <MaskedField source="clickId" label="Click id" />
        <TextField source="platform" emptyText="—" />
        <TextField source="adSourceId" label="Ad source id" emptyText="—" />
        <NumberField source="attributionLatencyMs" label="Click → chat (ms)" emptyText="—" />
        <TextField source="utmSource" label="utm_source" emptyText="—" />
        <TextField source="utmCampaign" label="utm_campaign" emptyText="—" />
      </SimpleShowLayout>
    </Show>
  );
}
