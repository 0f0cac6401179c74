import { guarded } from '../common/guard.tsx';
import ChatIcon from '@mui/icons-material/Chat';

export default {
  list: guarded('list', () => import('./ConversationList.tsx')),
  show: guarded('show', () => import('./ConversationShow.tsx')),
  icon: ChatIcon,
  recordRepresentation: 'id',
};
