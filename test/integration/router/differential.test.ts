// Differential framing cases: each goes through both engines to a strict and to a lenient
// (insecureHTTPParser) node:http upstream; see differential-harness.ts for the oracle.

import { after, before, describe, it } from "node:test";
import { type Differential, startDifferential } from "./differential-harness.ts";

const H = "Host: diff.test\r\n";
/** Appended to every case: a request whose answer shows whether the boundaries before it held. */
const LAST = `GET /last HTTP/1.1\r\n${H}Connection: close\r\n\r\n`;
const hidden = `GET /smuggled HTTP/1.1\r\n${H}\r\n`;

export const CASES: Record<string, string> = {
  "plain GET": `GET /a HTTP/1.1\r\n${H}\r\n`,
  "three pipelined GETs": `GET /1 HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}\r\nGET /3 HTTP/1.1\r\n${H}\r\n`,
  "POST with a length": `POST /p HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`,
  "leading zeros in the length": `POST /p HTTP/1.1\r\n${H}Content-Length: 005\r\n\r\nhello`,
  "chunked with extensions": `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a=b;c="d e"\r\nhello\r\n0\r\n\r\n`,
  "chunked with trailers": `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n`,
  "Connection lists content-length (POST)": `POST /s HTTP/1.1\r\n${H}Connection: content-length\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`,
  "Connection lists content-length (GET)": `GET /s HTTP/1.1\r\n${H}Connection: content-length\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`,
  "Connection lists transfer-encoding": `POST /s HTTP/1.1\r\n${H}Connection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n${hidden.length.toString(16)}\r\n${hidden}\r\n0\r\n\r\n`,
  "Connection lists host": `GET /h HTTP/1.1\r\n${H}Connection: host\r\n\r\n`,
  "identical duplicate lengths": `POST /d HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`,
  "conflicting lengths": `POST /d HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 50\r\n\r\nhello`,
  "length and chunked": `POST /d HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  "chunked not last": `POST /d HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`,
  "chunked twice": `POST /d HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  xchunked: `POST /d HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`,
  "space before a colon": `POST /d HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`,
  "obs-fold in a header": `GET /f HTTP/1.1\r\n${H}X-A: 1\r\n 2\r\n\r\n`,
  "bare LF in the head": `GET /lf HTTP/1.1\n${H}\n`,
  "bare LF in a trailer": `POST /t HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX: 1\n${hidden}\r\n`,
  "trailer without a colon": `POST /t HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n${hidden}`,
  "junk after a chunk size": `POST /j HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5 junk\r\nhello\r\n0\r\n\r\n`,
  "space inside chunk extensions": `POST /j HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5 ;a=b\r\nhello\r\n0\r\n\r\n`,
  "0x in a chunk size": `POST /j HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n`,
  "chunk size overflow": `POST /j HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${"f".repeat(17)}\r\nhello\r\n0\r\n\r\n`,
  "bare LF after chunk data": `POST /j HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n`,
  "signed length": `POST /s HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`,
  "a raw byte in the target": `GET /a\u00ff HTTP/1.1\r\n${H}\r\n`,
  "NUL in a header": `GET /n HTTP/1.1\r\n${H}X-A: a\u0000b\r\n\r\n`,
  "absolute-form target": "GET http://other.test/abs?q=1 HTTP/1.1\r\nHost: diff.test\r\n\r\n",
  "absolute-form without a path": "GET http://other.test HTTP/1.1\r\nHost: diff.test\r\n\r\n",
  "HTTP/1.0 keep-alive": "GET /old HTTP/1.0\r\nConnection: keep-alive\r\nHost: diff.test\r\n\r\n",
  "HTTP/1.0 with chunked": `POST /old HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  "CRLF between requests": `GET /1 HTTP/1.1\r\n${H}\r\n\r\nGET /2 HTTP/1.1\r\n${H}\r\n`,
};

for (const engine of ["fast", "node"] as const) {
  for (const insecure of [false, true]) {
    describe(`differential framing (${engine} engine, ${insecure ? "lenient" : "strict"} upstream)`, () => {
      let d: Differential;
      before(async () => {
        d = await startDifferential(engine, insecure);
      });
      after(async () => {
        await d.close();
      });
      for (const [name, bytes] of Object.entries(CASES)) {
        it(name, async () => {
          await d.check(Buffer.from(bytes + LAST, "latin1"), name);
        });
      }
    });
  }
}
