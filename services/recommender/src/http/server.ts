import http from 'node:http';
import type { Express } from 'express';
import { answerClientErrors } from '@cml-rec/shared/http/errors';

/**
 * Serves an express app on `host:port` (0: a free port) with requests and responses that are
 * born with the app's prototypes.
 *
 * Express re-parents every request and response when it receives them
 * (`Object.setPrototypeOf(req, app.request)` in `app.handle`, express/lib/application.js).
 * V8 does not take that in its stride: measured at 500 req/s on the recommendations route,
 * about a third of every request's short-lived objects then survived young-generation
 * collections (2.6 MB per scavenge, twice a second, 2 to 40 ms each) although a heap snapshot
 * taken mid-load finds only the requests in flight, and the old generation filled with them
 * until a mark-compact every few seconds; 27 MB/s allocated in all. Constructed by subclasses
 * whose prototypes are `app.request` and `app.response`, the objects already have the
 * prototype express asks for and the call changes nothing: 14 MB/s allocated, 0.2 MB
 * surviving a scavenge, no mark-compact under the same load.
 */
export function listen(app: Express, port: number, host: string): Promise<http.Server> {
  const { Request, Response } = bornWithAppPrototypes(app);
  const server = http.createServer({ IncomingMessage: Request, ServerResponse: Response }, app);
  answerClientErrors(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/**
 * Request and response classes for `app`: each class's prototype inherits from the app's
 * (so `req.app` and every express method still resolve) and becomes the app's prototype.
 */
function bornWithAppPrototypes(app: Express) {
  class Request extends http.IncomingMessage {}
  class Response extends http.ServerResponse<Request> {}
  Object.setPrototypeOf(Request.prototype, app.request);
  Object.setPrototypeOf(Response.prototype, app.response);
  app.request = Request.prototype as Express['request'];
  app.response = Response.prototype as Express['response'];
  return { Request, Response };
}

/**
 * Stops accepting connections and resolves once every open one has ended, waiting at most
 * `drainMs` for requests in flight. `server.close()` alone waits for every open socket, and
 * once the server is closing node no longer enforces headersTimeout: a client that sent half a
 * request head would hold shutdown open until the orchestrator kills the process. So idle
 * keep-alive sockets are closed at once, and whatever is still open at the deadline is cut.
 */
export function closeServer(server: http.Server, drainMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // node 19+ does this inside close(); said here so the drain does not depend on it.
  server.closeIdleConnections();
  const deadline = setTimeout(() => server.closeAllConnections(), drainMs);
  return closed.finally(() => clearTimeout(deadline));
}
