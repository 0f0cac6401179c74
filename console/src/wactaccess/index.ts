import { guarded } from '../common/guard.tsx';
import BadgeIcon from '@mui/icons-material/Badge';

/**
 * "WAct access": every WAct employee database and support session on the
 * workspace, with its transcript. Owners and admins (permission
 * `wactaccess.read`); the broker decides and audits each read.
 */
export default {
  list: guarded('list', () => import('./WactAccessList.tsx')),
  show: guarded('show', () => import('./WactAccessShow.tsx')),
  icon: BadgeIcon,
  recordRepresentation: 'employeeName',
};
