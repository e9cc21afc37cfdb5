/** HTTP endpoint: /metrics (Prometheus text), /status.json, /events.json and the status page at /. */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { EventLog } from '../daemon/events.js';
import type { DaemonView } from '../daemon/service.js';
import { openFromQuery, PAGE_CSP, renderStatusPage } from './page.js';

export async function startHttp(
  host: string,
  port: number,
  registry: Registry,
  view: DaemonView,
  events: EventLog,
): Promise<Server> {
  const server = createServer((req, res) => {
    const [url = '/', query = ''] = (req.url ?? '/').split('?', 2);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const send = (code: number, type: string, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (url === '/metrics') {
      registry.metrics().then(
        (text) => send(200, registry.contentType, text),
        (e) => send(500, 'text/plain', `metrics collection failed: ${String(e)}\n`),
      );
    } else if (url === '/status.json') {
      send(200, 'application/json', JSON.stringify(view.status(), null, 2));
    } else if (url === '/events.json') {
      send(200, 'application/json', JSON.stringify(events.list().slice(-500)));
    } else if (url === '/') {
      const page = renderStatusPage(view.status(), events.list(), { open: openFromQuery(new URLSearchParams(query)) });
      send(200, 'text/html; charset=utf-8', page, {
        'content-security-policy': PAGE_CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
    } else {
      send(404, 'text/plain', 'not found; try /metrics or /status.json\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          e.code === 'EADDRINUSE'
            ? `status.http.port: port ${port} on ${host} is already in use`
            : `status.http: cannot listen on ${host}:${port} (${e.code ?? e.message})`,
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  return server;
}
