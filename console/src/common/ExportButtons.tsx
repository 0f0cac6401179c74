import { useState } from 'react';
import { Button, CircularProgress } from '@mui/material';
import DownloadIcon from '@mui/icons-material/Download';
import { useCanAccess, useDataProvider, useListContext, useNotify, useResourceContext } from 'react-admin';
import type { WactDataProvider } from '../dataProvider/index.ts';
import { errorMessage } from './errors.ts';

/**
 * Downloads what the list shows (its filter), in the given formats, through the broker's
 * export route: the broker decides what the role may see and audits the export.
 */
export function ExportButtons({ formats = ['csv'], path }: { formats?: ('csv' | 'jsonl')[]; path?: string }) {
  const resource = useResourceContext() ?? '';
  const { filterValues } = useListContext();
  const { canAccess } = useCanAccess({ resource, action: 'export' });
  const dataProvider = useDataProvider<WactDataProvider>();
  const notify = useNotify();
  const [busy, setBusy] = useState<string | undefined>();
  if (!canAccess) return null;
  const run = async (format: 'csv' | 'jsonl') => {
    setBusy(format);
    try {
      const { name, size } = await dataProvider.exportList(resource, { format, filter: filterValues, path });
      notify(`Downloaded ${name} (${size.toLocaleString()} bytes)`, { type: 'success' });
    } catch (err) {
      notify(errorMessage(err, 'Export failed'), { type: 'error' });
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <>
      {formats.map((f) => (
        <Button
          key={f}
          size="small"
          startIcon={busy === f ? <CircularProgress size={14} /> : <DownloadIcon />}
          disabled={!!busy}
          onClick={() => void run(f)}
        >
          Export {f.toUpperCase()}
        </Button>
      ))}
    </>
  );
}
