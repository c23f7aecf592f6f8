import { reactRouter } from '@react-router/dev/vite';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [reactRouter()],
  build: { chunkSizeWarningLimit: 2048 },
  server: { fs: { allow: ['..'] } },
});
