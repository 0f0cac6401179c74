import { lazy } from 'react';
import LinkIcon from '@mui/icons-material/Link';

export default {
  list: lazy(() => import('./LinkList.tsx')),
  create: lazy(() => import('./LinkCreate.tsx')),
  icon: LinkIcon,
  recordRepresentation: 'id',
};
