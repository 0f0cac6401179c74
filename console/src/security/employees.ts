import { guarded } from '../common/guard.tsx';
import BadgeIcon from '@mui/icons-material/Badge';

export default {
  list: guarded('list', () => import('./EmployeeList.tsx')),
  icon: BadgeIcon,
  recordRepresentation: 'displayName',
};
