import fs from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * The console is a static single-page app the broker serves at `/`. In development
 * `npm run dev:console` runs this dev server over HTTPS with the development certificate
 * (same site as the broker, so its SameSite=Strict session cookie applies) and forwards
 * the API and the sign-in routes to a running broker.
 */
const broker = process.env.WACT_BROKER_URL ?? `https://localhost:${process.env.BROKER_PORT ?? 9443}`;
const home = process.env.WACT_HOME ?? path.resolve(import.meta.dirname, '..', '.wact');
const certDir = path.join(home, 'tls');
const https = fs.existsSync(path.join(certDir, 'server.crt'))
  ? { cert: fs.readFileSync(path.join(certDir, 'server.crt')), key: fs.readFileSync(path.join(certDir, 'server.key')) }
  : undefined;
const proxied = {
  target: broker,
  changeOrigin: true,
  secure: false,
  // The broker refuses writes whose Origin is not its own (CSRF defence): present its origin.
  configure(proxy: {
    on(event: 'proxyReq', cb: (req: { setHeader(k: string, v: string): void; getHeader(k: string): unknown }) => void): void;
  }) {
    proxy.on('proxyReq', (req) => {
      if (req.getHeader('origin')) req.setHeader('origin', new URL(broker).origin);
    });
  },
};

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  server: {
    port: Number(process.env.CONSOLE_DEV_PORT ?? 5173),
    https,
    proxy: { '/api': proxied, '/auth': proxied, '/.well-known': proxied },
    // The console imports the broker's permission table (one source of truth).
    fs: { allow: [path.resolve(import.meta.dirname, '..')] },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // The manifest lets scripts/build-console.ts tell the initial chunks from the lazy routes.
    manifest: true,
    chunkSizeWarningLimit: 1200,
  },
});
