import { lazy } from 'react';
import SupportAgentIcon from '@mui/icons-material/SupportAgent';

export default {
  list: lazy(() => import('./SupportSessionList.tsx')),
  create: lazy(() => import('./SupportSessionCreate.tsx')),
  icon: SupportAgentIcon,
  recordRepresentation: 'reason',
};
