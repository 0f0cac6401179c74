import { guarded } from '../common/guard.tsx';
import PolicyIcon from '@mui/icons-material/Policy';

export default {
  list: guarded('list', () => import('./PlatformAuditList.tsx')),
  icon: PolicyIcon,
  recordRepresentation: 'action',
};
