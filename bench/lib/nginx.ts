// nginx, started by the benchmark: as the static upstream (a fixed response, so the upstream is
// not what limits the proxies) or as a reverse-proxy peer with upstream keep-alive (its fast
// set-up). A generated config in a temp dir, on loopback, in the foreground (daemon off), stopped
// with its process group.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, onCleanup, type Started, start, waitForPort } from "./procs.ts";

/** `upstream` null: serve "hello, world\n" itself; otherwise proxy to it. */
export async function startNginx(
  upstream: URL | null,
  workers: number,
): Promise<{ url: string; proc: Started }> {
  const dir = mkdtempSync(path.join(tmpdir(), "iter8-bench-nginx-"));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  const conf = `
${asRoot ? "user root;" : ""}
worker_processes ${workers};
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
${upstream === null ? STATIC.replace("PORT", String(port)) : PROXY.replace("PORT", String(port)).replace("UPSTREAM", upstream.host)}
}
`;
  const file = path.join(dir, "nginx.conf");
  writeFileSync(file, conf);
  const proc = start("nginx", ["-p", dir, "-e", path.join(dir, "error.log"), "-c", file]);
  await waitForPort("127.0.0.1", port, proc);
  return { url: `http://127.0.0.1:${port}/`, proc };
}

const STATIC = `
  server {
    listen 127.0.0.1:PORT;
    location / {
      default_type text/plain;
      return 200 "hello, world\\n";
    }
  }`;

const PROXY = `
  upstream backend {
    server UPSTREAM;
    keepalive 128;
  }
  server {
    listen 127.0.0.1:PORT;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
  }`;
