import { Form, Links, Meta, NavLink, Outlet, Scripts, ScrollRestoration, data, isRouteErrorResponse, Link, useRouteLoaderData } from 'react-router';
import type { Route } from './+types/root';
import { layoutData } from './lib/flash.server';
import { zoneFromCookie } from './lib/timezone';
import './app.css';

export async function loader({ request }: Route.LoaderArgs) {
  const { user, flash, clear } = await layoutData(request);
  // The time zone pages show times in (UTC unless switched to the browser's on the range bar).
  const zone = zoneFromCookie(request.headers.get('Cookie'));
  return data({ user, flash, zone }, clear ? { headers: { 'Set-Cookie': clear } } : undefined);
}

/** A small chart glyph as the site icon, inline so it costs no request. */
const FAVICON = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1d4ed8"/><path d="M2 11l3-4 3 3 3-6 3 4" fill="none" stroke="#fff" stroke-width="1.6"/></svg>',
)}`;

export function Layout({ children }: { children: React.ReactNode }) {
  const root = useRouteLoaderData<typeof loader>('root');
  const user = root?.user;
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {/* An inline icon: browsers then never ask for /favicon.ico (which every page used to 404 on). */}
        <link rel="icon" type="image/svg+xml" href={FAVICON} />
        <Meta />
        <Links />
      </head>
      <body>
        <header className="topbar">
          <Link to="/" className="brand">
            switch-telemetry
          </Link>
          {user ? (
            <>
              <nav>
                <NavLink to="/dashboards">Dashboards</NavLink>
                <NavLink to="/devices">Devices</NavLink>
                <NavLink to="/profiles">Profiles</NavLink>
                <NavLink to="/alerts">Alerts</NavLink>
                {user.role === 'admin' ? <NavLink to="/collectors">Collectors</NavLink> : null}
                {user.role === 'admin' ? <NavLink to="/users">Users</NavLink> : null}
              </nav>
              <Form method="post" action="/logout" className="whoami">
                <span data-testid="whoami">
                  {user.email} · {user.role}
                </span>
                <button type="submit" className="link">
                  Sign out
                </button>
              </Form>
            </>
          ) : null}
        </header>
        <main>
          {root?.flash ? (
            <p className={root.flash.kind === 'warning' ? 'warning' : 'flash'} role="status" data-testid="flash">
              {root.flash.message}
            </p>
          ) : null}
          {children}
        </main>
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

export function ErrorBoundary({ error }: Route.ErrorBoundaryProps) {
  let title = 'Something went wrong';
  let detail = 'An unexpected error occurred.';
  if (isRouteErrorResponse(error)) {
    title = error.status === 404 ? 'Not found' : error.status === 403 ? 'Not allowed' : `Error ${error.status}`;
    detail = typeof error.data === 'string' ? error.data : (error.data?.error ?? error.statusText);
  } else if (error instanceof Error && import.meta.env.DEV) {
    detail = error.message;
  }
  return (
    <section className="error" data-testid="error">
      {/* React hoists it into <head>: error pages are titled too. */}
      <title>{`${title} · switch-telemetry`}</title>
      <h1>{title}</h1>
      <p>{detail}</p>
    </section>
  );
}
