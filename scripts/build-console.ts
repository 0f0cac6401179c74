/**
 * Builds the console (vite) and prints what the browser downloads first: the entry chunk
 * and every chunk it imports statically (the lazy route chunks are fetched later). Fails
 * when that initial JavaScript exceeds the budget (400 KB gzip by default).
 *
 *   npm run build                 # build + size report
 *   tsx scripts/build-console.ts --if-stale   # build only when sources are newer than dist
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CONSOLE_DIR = path.join(root, 'console');
export const DIST_DIR = path.join(CONSOLE_DIR, 'dist');
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const BUDGET_BYTES = Number(process.env.CONSOLE_INITIAL_JS_BUDGET ?? 400 * 1024);

interface ManifestChunk {
  file: string;
  isEntry?: boolean;
  imports?: string[];
  dynamicImports?: string[];
  css?: string[];
}

/** Newest modification time under a directory (skipping build output and dependencies). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('dist') || entry.name === 'node_modules' || entry.name.includes('.test.')) continue;
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** True when console/dist is missing or older than any console source (or the shared permission table). */
export function consoleIsStale(): boolean {
  const index = path.join(DIST_DIR, 'index.html');
  if (!fs.existsSync(index)) return true;
  const built = fs.statSync(index).mtimeMs;
  const sources = Math.max(newestMtime(CONSOLE_DIR), fs.statSync(path.join(root, 'shared/permissions/permissions.ts')).mtimeMs);
  return sources > built;
}

export interface SizeReport {
  initial: { file: string; bytes: number; gzip: number }[];
  initialGzip: number;
  lazyGzip: number;
  budget: number;
}

export function sizeReport(dist: string = DIST_DIR): SizeReport {
  const manifestPath = [path.join(dist, '.vite/manifest.json'), path.join(dist, 'manifest.json')].find((p) => fs.existsSync(p));
  if (!manifestPath) throw new Error(`no vite manifest in ${dist}`);
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as Record<string, ManifestChunk>;
  const initialKeys = new Set<string>();
  const visit = (key: string) => {
    if (initialKeys.has(key)) return;
    initialKeys.add(key);
    for (const i of manifest[key]?.imports ?? []) visit(i);
  };
  for (const [key, chunk] of Object.entries(manifest)) if (chunk.isEntry) visit(key);
  const measure = (file: string) => {
    const buf = fs.readFileSync(path.join(dist, file));
    return { file, bytes: buf.length, gzip: zlib.gzipSync(buf, { level: 9 }).length };
  };
  const initialFiles = new Set([...initialKeys].map((k) => manifest[k].file).filter((f) => f.endsWith('.js')));
  const initial = [...initialFiles].map(measure).sort((a, b) => b.gzip - a.gzip);
  const allJs = new Set(
    Object.values(manifest)
      .map((c) => c.file)
      .filter((f) => f.endsWith('.js')),
  );
  const lazyGzip = [...allJs].filter((f) => !initialFiles.has(f)).reduce((sum, f) => sum + measure(f).gzip, 0);
  return { initial, initialGzip: initial.reduce((s, c) => s + c.gzip, 0), lazyGzip, budget: BUDGET_BYTES };
}

/**
 * Builds into a fresh directory and swaps it in, so a broker (or a second `wact start`)
 * never sees a half-written console/dist.
 */
export async function buildConsole(options: { quiet?: boolean } = {}): Promise<SizeReport> {
  const { build } = await import('vite');
  const tmp = `${DIST_DIR}.tmp-${process.pid}-${Date.now()}`;
  // Always a production build, even from a test run (vitest sets NODE_ENV=test, which would
  // make vite and the React plugin emit development code paths).
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({
      configFile: path.join(CONSOLE_DIR, 'vite.config.ts'),
      logLevel: options.quiet ? 'error' : 'info',
      build: { outDir: tmp, emptyOutDir: true },
    });
    const report = sizeReport(tmp);
    swapInto(tmp, DIST_DIR);
    return report;
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Moves a finished build into place. Two processes building at once (two test files, two
 * `wact start`s) may race here: whoever loses keeps the other's equally fresh build.
 */
function swapInto(tmp: string, dist: string): void {
  const old = `${dist}.old-${process.pid}-${Date.now()}`;
  try {
    fs.renameSync(dist, old);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    fs.renameSync(tmp, dist);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
  }
  fs.rmSync(old, { recursive: true, force: true });
}

/** `wact start`: builds the console when console/dist is missing or older than its sources. */
export async function ensureConsoleBuilt(log: (line: string) => void = () => undefined): Promise<void> {
  if (!consoleIsStale()) return;
  log('building the console (console/dist is missing or older than its sources)…');
  const report = await buildConsole({ quiet: true });
  log(`console built: initial JS ${kb(report.initialGzip)} gzip`);
}

export function printReport(r: SizeReport, log: (line: string) => void = console.log): void {
  log('Console initial JavaScript (entry + static imports):');
  for (const c of r.initial) log(`  ${c.file.padEnd(48)} ${kb(c.bytes).padStart(10)}  gzip ${kb(c.gzip).padStart(9)}`);
  log(`  total initial JS gzip: ${kb(r.initialGzip)} (budget ${kb(r.budget)}) ${r.initialGzip <= r.budget ? 'OK' : 'OVER BUDGET'}`);
  log(`  lazy route chunks gzip: ${kb(r.lazyGzip)} (loaded on demand)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const ifStale = process.argv.includes('--if-stale');
  if (ifStale && !consoleIsStale()) {
    console.log('console/dist is up to date');
  } else {
    const report = await buildConsole();
    printReport(report);
    if (report.initialGzip > report.budget) {
      console.error('Initial JavaScript exceeds the budget.');
      process.exit(1);
    }
  }
}
