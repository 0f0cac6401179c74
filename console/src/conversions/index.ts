import { lazy } from 'react';
import PaidIcon from '@mui/icons-material/Paid';

export default {
  list: lazy(() => import('./ConversionList.tsx')),
  icon: PaidIcon,
  recordRepresentation: 'event',
};
