import { useCallback, useEffect, useState } from 'react';
import { ConfirmButton, ErrorText, Json } from '../components.tsx';
import { getJson, message, send } from '../lib/api.ts';
import type { Drift, Pin } from '../lib/types.ts';

interface Route {
  pathPrefix: string;
  protocol: string;
  audience: string;
  pinning: string;
}
interface RouteTools {
  route: string;
  items: Pin[];
  drift: Drift[];
}

/** Tools: pinned definitions per route, drift waiting for approval; approve or revoke. */
export function ToolsPage() {
  const [routes, setRoutes] = useState<Route[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    getJson<{ routes: Route[] }>('/routes').then(
      (r) => setRoutes(r.routes),
      (e) => setError(message(e)),
    );
  }, []);
  const pinned = routes?.filter((r) => r.pinning !== 'off') ?? [];
  return (
    <section aria-labelledby="tools-heading">
      <h1 id="tools-heading">Tools</h1>
      {error && <ErrorText text={error} />}
      {routes && pinned.length === 0 && <p>No route pins its tools.</p>}
      {pinned.map((r) => (
        <RouteCard key={r.pathPrefix} route={r} />
      ))}
    </section>
  );
}

function RouteCard({ route }: { route: Route }) {
  const [data, setData] = useState<RouteTools>();
  const [error, setError] = useState<string>();
  const load = useCallback(() => {
    getJson<RouteTools>(`/admin/tools?route=${encodeURIComponent(route.pathPrefix)}`).then(setData, (e) =>
      setError(message(e)),
    );
  }, [route.pathPrefix]);
  useEffect(load, [load]);
  const id = `route-${route.pathPrefix.replace(/\W/g, '-')}`;
  return (
    <article className="card" aria-labelledby={id}>
      <h2 id={id}>
        <code>{route.pathPrefix}</code> ({route.protocol}, pinning {route.pinning})
      </h2>
      {error && <ErrorText text={error} />}
      <table>
        <thead>
          <tr>
            <th scope="col">Tool</th>
            <th scope="col">Status</th>
            <th scope="col">Description (as the server shows it)</th>
            <th scope="col">Drift</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {data?.items.map((p) => {
            const drift = data.drift.find((d) => d.tool === p.tool);
            return (
              <tr key={p.tool} data-testid="tool" data-tool={p.tool} data-status={p.status}>
                <th scope="row">{p.tool}</th>
                <td>
                  <span className={`badge badge-${p.status}`}>{p.status}</span>
                </td>
                <td>
                  {typeof p.seenDefinition?.description === 'string' ? p.seenDefinition.description : '—'}
                </td>
                <td>
                  {drift ? (
                    <details>
                      <summary>changed: {drift.changed.join(', ')}</summary>
                      <Json value={drift} />
                    </details>
                  ) : (
                    '—'
                  )}
                </td>
                <td>
                  {p.seenDigest && (p.seenDigest !== p.digest || p.status !== 'approved') && (
                    <ConfirmButton
                      label="Approve definition"
                      confirm={`Approve the definition of ${p.tool} the server shows now?`}
                      onConfirm={async () => {
                        await send('POST', '/admin/tools/approve', {
                          route: route.pathPrefix,
                          tool: p.tool,
                          digest: p.seenDigest,
                          reason: 'approved from the dashboard',
                        });
                        load();
                      }}
                    />
                  )}{' '}
                  {p.digest && (
                    <ConfirmButton
                      label="Revoke"
                      danger
                      confirm={`Withdraw the approval of ${p.tool}?`}
                      onConfirm={async () => {
                        await send('POST', '/admin/tools/revoke', {
                          route: route.pathPrefix,
                          tool: p.tool,
                          reason: 'revoked from the dashboard',
                        });
                        load();
                      }}
                    />
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {data?.items.length === 0 && <p>No tool seen yet.</p>}
    </article>
  );
}
