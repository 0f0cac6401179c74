import { lazy } from 'react';
import BadgeIcon from '@mui/icons-material/Badge';

export default {
  list: lazy(() => import('./EmployeeList.tsx')),
  icon: BadgeIcon,
  recordRepresentation: 'displayName',
};
