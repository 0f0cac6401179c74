import { guarded } from '../common/guard.tsx';
import GroupIcon from '@mui/icons-material/Group';

export default {
  list: guarded('list', () => import('./MemberList.tsx')),
  create: guarded('create', () => import('./MemberInvite.tsx')),
  icon: GroupIcon,
  recordRepresentation: 'email',
};
