import { lazy } from 'react';
import GppGoodIcon from '@mui/icons-material/GppGood';

export default {
  list: lazy(() => import('./ApprovalList.tsx')),
  icon: GppGoodIcon,
  recordRepresentation: 'reason',
};
