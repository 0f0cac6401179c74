import { guarded } from '../common/guard.tsx';
import SupportAgentIcon from '@mui/icons-material/SupportAgent';

export default {
  list: guarded('list', () => import('./SupportSessionList.tsx')),
  create: guarded('create', () => import('./SupportSessionCreate.tsx')),
  icon: SupportAgentIcon,
  recordRepresentation: 'reason',
};
