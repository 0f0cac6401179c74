import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * The console is a static single-page app the broker serves at `/`. In development
 * `npm run dev:console` runs this dev server and forwards the API and the sign-in
 * routes to a running broker, so the session cookie stays same-origin.
 */
const broker = process.env.WACT_BROKER_URL ?? `https://localhost:${process.env.BROKER_PORT ?? 9443}`;
const proxied = { target: broker, changeOrigin: false, secure: false } as const;

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  server: {
    port: Number(process.env.CONSOLE_DEV_PORT ?? 5173),
    proxy: { '/api': proxied, '/auth': proxied, '/.well-known': proxied },
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
