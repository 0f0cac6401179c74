import { lazy } from 'react';
import ChatIcon from '@mui/icons-material/Chat';

export default {
  list: lazy(() => import('./ConversationList.tsx')),
  show: lazy(() => import('./ConversationShow.tsx')),
  icon: ChatIcon,
  recordRepresentation: 'id',
};
