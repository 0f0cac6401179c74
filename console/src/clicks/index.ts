import { lazy } from 'react';
import AdsClickIcon from '@mui/icons-material/AdsClick';

export default {
  list: lazy(() => import('./ClickList.tsx')),
  icon: AdsClickIcon,
  recordRepresentation: 'id',
};
