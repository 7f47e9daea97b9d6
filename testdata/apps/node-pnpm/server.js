// A sample Node.js app that asks for a runtime or a package manager the
// server may lack: nua provides it.
//
//   GET /       hello from APP on node VERSION
//   GET /built  what the build script wrote (404 if it did not run)
//
// It listens on :$PORT and exits cleanly on SIGTERM.
const fs = require('fs');
const http = require('http');
const name = require('./package.json').name;

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
  if (req.url === '/built') {
    fs.readFile('built.txt', 'utf8', (err, data) => res.end(err ? 'not built\n' : data));
    return;
  }
  res.end(`hello from ${name} on node ${process.version}\n`);
});
server.listen(process.env.PORT, () => console.log(`${name} listening on :${process.env.PORT}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
