import { guarded } from '../common/guard.tsx';
import GppGoodIcon from '@mui/icons-material/GppGood';

export default {
  list: guarded('list', () => import('./ApprovalList.tsx')),
  icon: GppGoodIcon,
  recordRepresentation: 'reason',
};
