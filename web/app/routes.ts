import { type RouteConfig, index, route } from '@react-router/dev/routes';

export default [
  index('routes/home.tsx'),
  route('devices/:deviceId', 'routes/device.tsx'),
  route('api/series', 'routes/api.series.ts'),
  route('api/live', 'routes/api.live.ts'),
  route('healthz', 'routes/healthz.ts'),
] satisfies RouteConfig;
