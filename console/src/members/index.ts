import { lazy } from 'react';
import GroupIcon from '@mui/icons-material/Group';

export default {
  list: lazy(() => import('./MemberList.tsx')),
  create: lazy(() => import('./MemberInvite.tsx')),
  icon: GroupIcon,
  recordRepresentation: 'email',
};
