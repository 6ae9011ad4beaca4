// Small loopback HTTP servers for the load generator's integration tests.

import http from "node:http";
import net from "node:net";

export interface TestServer {
  url: string;
  port: number;
  requests: () => number;
  close: () => Promise<void>;
}

export async function startServer(handler: http.RequestListener): Promise<TestServer> {
  let count = 0;
  const server = http.createServer((req, res) => {
    count++;
    handler(req, res);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A raw TCP server that answers every request on a connection with `respond(n)` bytes. */
export async function startRawServer(respond: (n: number) => string): Promise<TestServer> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let buffered = "";
    socket.on("data", (d) => {
      buffered += d.toString("latin1");
      let end = buffered.indexOf("\r\n\r\n");
      while (end !== -1) {
        buffered = buffered.slice(end + 4);
        const reply = respond(count++);
        socket.write(reply);
        if (/connection: close/i.test(reply)) socket.end();
        end = buffered.indexOf("\r\n\r\n");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port with nothing listening (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
