// The hostile app's web process: on GET /report it tries each way out of
// its sandbox and answers, as JSON, what happened (see README.md).
//
//   GET /        hostile app up
//   GET /report  {"data", "victim", "victim_pid", "uid", "build_token", "attempts": {name: result}}
//
// It listens on 127.0.0.1:$PORT and exits on SIGTERM or SIGINT.
const fs = require('fs');
const http = require('http');
const path = require('path');
const lib = require('./lib');
const attacks = require('./attacks');

const port = process.env.PORT;
if (!port) {
  console.error('PORT is not set');
  process.exit(1);
}
const victim = process.env.VICTIM || 'victim';
const memMB = Number(process.env.HOSTILE_MEM_MB || 1024);
const forks = Number(process.env.HOSTILE_FORKS || 2000);

// buildAttempts returns what the build reported, each attempt named
// "build: ...", with whether its setsid child still runs.
function buildAttempts(rep) {
  let build;
  try {
    build = JSON.parse(fs.readFileSync(path.join(__dirname, 'build-report.json'), 'utf8'));
  } catch (err) {
    return { 'build report': `inconclusive: read build-report.json: ${lib.why(err)}` };
  }
  rep.build_token = build.token;
  const out = {};
  for (const [name, result] of Object.entries(build.attempts)) out['build: ' + name] = result;
  out["build: setsid child still running"] = attacks.setsidChild(build);
  return out;
}

// report makes every attempt, one after the other, and returns the report.
async function report() {
  const data = lib.dataDir();
  const rep = { data: data.dir, data_from: data.from, victim, victim_pid: 0, uid: process.getuid(), attempts: {} };
  const a = rep.attempts;
  Object.assign(a, buildAttempts(rep));
  if (data.dir === '') {
    a['find DATA'] = `inconclusive: no data dir found (${data.from})`;
    return rep;
  }
  const pid = Number(process.env.VICTIM_PID) || attacks.findByEnv(victim).pid;
  rep.victim_pid = pid;
  a['uid'] = lib.uidAttempt(data.dir);
  a['read nua.db'] = lib.tryRead(path.join(data.dir, 'nua.db'));
  a['read host key'] = lib.tryRead(path.join(data.dir, 'ssh_host_ed25519_key'));
  a['read victim env'] = attacks.victimEnv(victim, Number(process.env.VICTIM_PID) || 0);
  a['read victim slug'] = attacks.victimSlug(data.dir, victim);
  a['read victim data'] = attacks.victimData(data.dir, victim);
  a['write victim data'] = lib.tryWrite(path.join(data.dir, 'apps', victim, 'data'), 'hostile-was-here.web', 'written by the hostile web process\n');
  a['write victim cache'] = lib.tryWrite(path.join(data.dir, 'cache', victim), 'hostile-was-here.web', 'written by the hostile web process\n');
  a['connect nua.sock'] = await attacks.connectSocket(data.dir);
  a['signal victim'] = attacks.signalVictim(victim, pid);
  a['allocate past the memory limit'] = await attacks.allocate(memMB);
  a['fork bomb'] = await attacks.forkBomb(forks, 30000);
  return rep;
}

// One report at a time: two fork bombs at once would measure nothing.
let running = Promise.resolve();

function reply(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type });
  res.end(body);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'GET') return reply(res, 405, 'text/plain', 'method not allowed\n');
  if (req.url === '/') return reply(res, 200, 'text/plain', 'hostile app up\n');
  if (req.url !== '/report') return reply(res, 404, 'text/plain', 'not found\n');
  running = running.then(report).then(
    (rep) => {
      for (const [name, result] of Object.entries(rep.attempts)) console.log(`hostile: ${name}: ${result}`);
      reply(res, 200, 'application/json', JSON.stringify(rep, null, 2) + '\n');
    },
    (err) => reply(res, 500, 'text/plain', `report: ${err.stack}\n`),
  );
});

server.listen(Number(port), '127.0.0.1', () => console.log(`hostile listening on 127.0.0.1:${port}`));
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
