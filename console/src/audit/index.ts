import { guarded } from '../common/guard.tsx';
import HistoryIcon from '@mui/icons-material/History';

export default {
  list: guarded('list', () => import('./AuditList.tsx')),
  icon: HistoryIcon,
  recordRepresentation: 'action',
};
