import { useCallback, useEffect, useState } from 'react';
import {
  Alert,
  Box,
  Button,
  Chip,
  CircularProgress,
  IconButton,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Tooltip,
  Typography,
} from '@mui/material';
import DownloadIcon from '@mui/icons-material/Download';
import { downloadFile, httpClient } from '../http/httpClient.ts';
import { formatLocal } from '../common/Dates.tsx';
import { errorMessage } from '../common/errors.ts';

/** One entry of /.well-known/wact-audit-keys (docs/audit-export.md, rule 1). */
export interface PublishedKey {
  kid: string;
  alg: string;
  fingerprint: string;
  validFrom: string;
  validTo: string | null;
  source: string;
}

const SOURCES: Record<string, string> = {
  'aws-kms': 'AWS KMS (private key never leaves KMS)',
  local: 'Local key file (development)',
  'legacy-db': 'Database key (before key separation, retired)',
};

/**
 * The published signing keys with their fingerprints and validity. The
 * customer compares a fingerprint here with the one in the key file they
 * saved (or pins it with --fingerprint): the console is a second channel, so a
 * key swapped in the file alone does not go unnoticed. Shown whole: a
 * shortened fingerprint is easy to collide with visually.
 */
export function PublishedKeysTable({ keys }: { keys: PublishedKey[] }) {
  if (!keys.length) return <Alert severity="warning">No signing key is published yet: nothing can be verified.</Alert>;
  return (
    <Table size="small" aria-label="Published audit signing keys">
      <TableHead>
        <TableRow>
          <TableCell>Key</TableCell>
          <TableCell>Algorithm</TableCell>
          <TableCell>Fingerprint (SHA-256 of the public key)</TableCell>
          <TableCell>Valid from</TableCell>
          <TableCell>Valid to</TableCell>
          <TableCell>Held in</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {keys.map((k) => (
          <TableRow key={k.kid} data-kid={k.kid}>
            <TableCell sx={{ fontFamily: 'monospace' }}>{k.kid}</TableCell>
            <TableCell>{k.alg === 'ES256' ? 'ECDSA P-256 / SHA-256' : k.alg === 'EdDSA' ? 'Ed25519' : k.alg}</TableCell>
            <TableCell sx={{ fontFamily: 'monospace', wordBreak: 'break-all', maxWidth: 360 }}>{k.fingerprint}</TableCell>
            <TableCell>
              <time dateTime={k.validFrom}>{formatLocal(k.validFrom)}</time>
            </TableCell>
            <TableCell>
              {k.validTo ? (
                <time dateTime={k.validTo}>{formatLocal(k.validTo)}</time>
              ) : (
                <Chip size="small" color="success" label="in use" />
              )}
            </TableCell>
            <TableCell>{SOURCES[k.source] ?? k.source}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

interface DigestRow {
  id: string;
  name: string;
  firstSeq: string;
  lastSeq: string;
  periodStart: string;
  periodEnd: string;
}

const PAGE = 25;

function totalOf(headers: Headers): number | undefined {
  const m = /\/(\d+)$/.exec(headers.get('Content-Range') ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * The workspace's hourly digest files: the witness the customer keeps (each
 * lists the hash of every event since the previous one and is signed). Every
 * listing and download is an audited read on the broker. Newest first; the
 * list opens on the newest page.
 */
export function DigestFiles({ workspaceId }: { workspaceId: string }) {
  const base = `/api/workspaces/${encodeURIComponent(workspaceId)}/audit/digests`;
  const [rows, setRows] = useState<DigestRow[] | undefined>();
  const [total, setTotal] = useState(0);
  const [offset, setOffset] = useState<number | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState<string | undefined>();
  const [saved, setSaved] = useState<string | undefined>();

  const load = useCallback(
    async (start?: number) => {
      setError(undefined);
      try {
        const fetchPage = (from: number) => httpClient(`${base}?range=${encodeURIComponent(JSON.stringify([from, from + PAGE - 1]))}`);
        let page = await fetchPage(start ?? 0);
        let n = totalOf(page.headers) ?? (page.json as DigestRow[]).length;
        let from = start ?? 0;
        // The broker lists oldest first: open on the newest page.
        if (start === undefined && n > PAGE) {
          from = n - PAGE;
          page = await fetchPage(from);
          n = totalOf(page.headers) ?? n;
        }
        setRows([...(page.json as DigestRow[])].reverse());
        setTotal(n);
        setOffset(from);
      } catch (err) {
        setError(errorMessage(err, 'Digest files unavailable'));
      }
    },
    [base],
  );
  useEffect(() => {
    void load();
  }, [load]);

  const download = async (d: DigestRow) => {
    setBusy(d.lastSeq);
    setError(undefined);
    try {
      const { name } = await downloadFile(`${base}/${encodeURIComponent(d.lastSeq)}`, d.name);
      setSaved(name);
    } catch (err) {
      setError(errorMessage(err, 'Download failed'));
    } finally {
      setBusy(undefined);
    }
  };

  if (error && !rows) return <Alert severity="warning">Digest files unavailable: {error}</Alert>;
  if (!rows) return <CircularProgress size={20} />;
  return (
    <Box sx={{ display: 'flex', flexDirection: 'column', gap: 1 }}>
      <Typography variant="body2">
        Keep these files: <code>wact audit verify export.jsonl --keys wact-audit-keys.json --digests DIR</code> then checks an export
        against them, and names any event rewritten after a digest was delivered, even by someone holding the signing key.
      </Typography>
      {error && <Alert severity="error">{error}</Alert>}
      {saved && <Alert severity="success">Saved {saved}</Alert>}
      {rows.length === 0 ? (
        <Typography variant="body2">No digest file yet: the first is written within the hour after the first event.</Typography>
      ) : (
        <Table size="small" aria-label="Digest files">
          <TableHead>
            <TableRow>
              <TableCell>Events (seq)</TableCell>
              <TableCell>Period</TableCell>
              <TableCell>File</TableCell>
              <TableCell />
            </TableRow>
          </TableHead>
          <TableBody>
            {rows.map((d) => (
              <TableRow key={d.lastSeq}>
                <TableCell>
                  {d.firstSeq}–{d.lastSeq}
                </TableCell>
                <TableCell>
                  {formatLocal(d.periodStart)} – {formatLocal(d.periodEnd)}
                </TableCell>
                <TableCell sx={{ fontFamily: 'monospace', wordBreak: 'break-all' }}>{d.name}</TableCell>
                <TableCell>
                  <Tooltip title="Download this digest file">
                    <span>
                      <IconButton aria-label={`Download digest ${d.lastSeq}`} disabled={!!busy} onClick={() => void download(d)}>
                        {busy === d.lastSeq ? <CircularProgress size={16} /> : <DownloadIcon fontSize="small" />}
                      </IconButton>
                    </span>
                  </Tooltip>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
      {total > PAGE && offset !== undefined && (
        <Box sx={{ display: 'flex', gap: 1, alignItems: 'center' }}>
          <Button size="small" disabled={offset === 0} onClick={() => void load(Math.max(0, offset - PAGE))}>
            Older
          </Button>
          <Button size="small" disabled={offset + PAGE >= total} onClick={() => void load(Math.min(total - PAGE, offset + PAGE))}>
            Newer
          </Button>
          <Typography variant="caption">
            {offset + 1}–{Math.min(total, offset + PAGE)} of {total}
          </Typography>
        </Box>
      )}
    </Box>
  );
}
