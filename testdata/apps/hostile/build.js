// The hostile app's build script (`npm run build`): it tries to read nua's
// secrets, write into another app's build cache and leave a process
// behind, then writes what happened to build-report.json in the slug for
// the web process to serve. It always exits 0, so the deploy goes on.
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const lib = require('./lib');

const victim = process.env.VICTIM || 'victim';
const token = process.env.HOSTILE_TOKEN || 'no-token';
const data = lib.dataDir();

// leaveChild starts a shell in a session of its own (setsid(2), as the
// setsid command does) that sleeps for ten minutes: it outlives the build
// unless the build is contained as a whole. Its command line carries the
// token so a test can find it.
let setsidPid = 0;
function leaveChild() {
  let child;
  try {
    child = spawn('/bin/sh', ['-c', 'sleep 600; echo survived', 'hostile-setsid-' + token], {
      detached: true, // setsid() in the child
      stdio: 'ignore',
    });
  } catch (err) {
    return `not started: ${lib.why(err)}`;
  }
  let failed = null;
  child.on('error', (err) => { failed = err; });
  child.unref();
  if (child.pid === undefined) return 'not started: spawn refused';
  for (let i = 0; i < 250; i++) {
    if (lib.cmdline(child.pid).includes('hostile-setsid-' + token)) {
      setsidPid = child.pid;
      return `started pid ${child.pid} in a new session (sleep 600)`;
    }
    if (failed) break;
    lib.sleepSync(20);
  }
  return `not seen running within 5s (pid ${child.pid})${failed ? ': ' + lib.why(failed) : ''}`;
}

const attempts = {};
if (data.dir === '') {
  attempts['find DATA'] = `inconclusive: no data dir found (${data.from})`;
} else {
  attempts['read nua.db'] = lib.tryRead(path.join(data.dir, 'nua.db'));
  attempts['read host key'] = lib.tryRead(path.join(data.dir, 'ssh_host_ed25519_key'));
  attempts['write victim cache'] = lib.tryWrite(path.join(data.dir, 'cache', victim), 'hostile-was-here.build', 'written by the hostile build\n');
  attempts['uid'] = lib.uidAttempt(data.dir);
}
const setsid = leaveChild(); // an escape only if the child outlives the build

const report = { data: data.dir, data_from: data.from, cwd: process.cwd(), uid: process.getuid(), token, setsid, setsid_pid: setsidPid, attempts };
fs.writeFileSync('build-report.json', JSON.stringify(report, null, 2) + '\n');
for (const [name, result] of Object.entries(attempts)) console.log(`hostile build: ${name}: ${result}`);
console.log(`hostile build: setsid child: ${setsid}`);
