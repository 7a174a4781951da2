import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The API is reached through the dev and preview servers' proxy, so the SPA and the API share
// an origin (no CORS set-up). CRM_API: where the API listens.
const api = process.env.CRM_API ?? 'http://127.0.0.1:8000';
const proxy = { '/graphql': { target: api, changeOrigin: true } };

export default defineConfig({
  plugins: [react()],
  server: { proxy },
  preview: { proxy },
});
