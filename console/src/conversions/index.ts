import { guarded } from '../common/guard.tsx';
import PaidIcon from '@mui/icons-material/Paid';

export default {
  list: guarded('list', () => import('./ConversionList.tsx')),
  icon: PaidIcon,
  recordRepresentation: 'event',
};
