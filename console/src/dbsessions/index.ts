import { lazy } from 'react';
import StorageIcon from '@mui/icons-material/Storage';

export default {
  list: lazy(() => import('./DbSessionList.tsx')),
  create: lazy(() => import('./DbSessionCreate.tsx')),
  show: lazy(() => import('./DbSessionShow.tsx')),
  icon: StorageIcon,
  recordRepresentation: 'reason',
};
