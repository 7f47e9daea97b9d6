// The sample Node.js app that nua's tests push. It uses one npm package, ms.
//
//   GET /         hello from nodeapp <$GREETING, else world>
//   GET /env/KEY  the value of the environment variable KEY (404 if unset)
//   GET /built    what the build script wrote (404 if it did not run)
//   GET /uptime   how long the process has run, formatted by ms
//
// It listens on :$PORT and exits cleanly on SIGTERM or SIGINT.
const fs = require('fs');
const http = require('http');
const ms = require('ms');

const port = process.env.PORT;
if (!port) {
  console.error('PORT is not set');
  process.exit(1);
}
const started = Date.now();

function reply(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'GET') return reply(res, 405, 'method not allowed\n');
  if (req.url === '/') {
    const greeting = process.env.GREETING || 'world';
    return reply(res, 200, `hello from nodeapp ${greeting}\n`);
  }
  const env = req.url.match(/^\/env\/([A-Za-z0-9_]+)$/);
  if (env) {
    const v = process.env[env[1]];
    return v === undefined ? reply(res, 404, 'not set\n') : reply(res, 200, v);
  }
  if (req.url === '/built') {
    fs.readFile('build/info.txt', 'utf8', (err, data) => (err ? reply(res, 404, 'not built\n') : reply(res, 200, data)));
    return;
  }
  if (req.url === '/uptime') return reply(res, 200, ms(Date.now() - started) + '\n');
  return reply(res, 404, 'not found\n');
});

server.listen(port, () => console.log(`nodeapp listening on :${port}`));
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    console.log('nodeapp shutting down');
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
