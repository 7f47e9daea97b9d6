// The attempts the hostile app's web process makes at request time. Each
// resolves to "denied: ...", "SUCCEEDED: ..." or "inconclusive: ..." (the
// attempt could not be made), and none takes more than about a minute.
const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');
const lib = require('./lib');

// findByEnv scans /proc for a process other than this one whose
// environment has NUA_APP=app; it says how many environments it could not
// read.
function findByEnv(app) {
  let scanned = 0;
  const refused = {};
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    scanned++;
    let env;
    try {
      env = fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    } catch (err) {
      refused[err.code] = (refused[err.code] || 0) + 1;
      continue;
    }
    if (env.includes('NUA_APP=' + app)) return { pid, vars: env.filter(Boolean).length, scanned, refused };
  }
  return { pid: 0, scanned, refused };
}

// victimEnv reads the environment of the victim's processes: its config,
// secrets included.
function victimEnv(victim, victimPid) {
  const found = findByEnv(victim);
  if (found.pid) return lib.succeeded(`read /proc/${found.pid}/environ of ${victim} (${found.vars} variables)`);
  const refused = Object.entries(found.refused).map(([code, n]) => `${n} ${code}`).join(', ') || 'none';
  const summary = `no readable environment of ${found.scanned} processes has NUA_APP=${victim} (unreadable: ${refused})`;
  if (!victimPid) return lib.denied(summary);
  try {
    const env = fs.readFileSync(`/proc/${victimPid}/environ`, 'latin1');
    return lib.succeeded(`read /proc/${victimPid}/environ (${env.split('\0').filter(Boolean).length} variables); ${summary}`);
  } catch (err) {
    return lib.denied(`read /proc/${victimPid}/environ: ${lib.why(err)}; ${summary}`);
  }
}

// victimSlug reads a file of one of the victim's slugs.
function victimSlug(data, victim) {
  const releases = path.join(data, 'apps', victim, 'releases');
  let slugs;
  try {
    slugs = fs.readdirSync(releases).filter((n) => /^v\d+$/.test(n));
  } catch (err) {
    return lib.denied(`list ${releases}: ${lib.why(err)}`);
  }
  if (slugs.length === 0) return `inconclusive: no slug in ${releases}`;
  const errs = [];
  for (const slug of slugs) {
    const dir = path.join(releases, slug);
    try {
      const file = fs.readdirSync(dir).map((n) => path.join(dir, n)).find((f) => fs.statSync(f).isFile());
      if (!file) {
        errs.push(`no file in ${dir}`);
        continue;
      }
      return lib.succeeded(`read ${fs.readFileSync(file).length} bytes of ${file}`);
    } catch (err) {
      errs.push(`${dir}: ${lib.why(err)}`);
    }
  }
  return lib.denied(errs.join('; '));
}

// victimData lists the victim's persistent data dir.
function victimData(data, victim) {
  const dir = path.join(data, 'apps', victim, 'data');
  try {
    return lib.succeeded(`listed ${dir} (${fs.readdirSync(dir).length} entries)`);
  } catch (err) {
    return lib.denied(`list ${dir}: ${lib.why(err)}`);
  }
}

// connectSocket connects to nua's admin socket.
function connectSocket(data) {
  const sock = path.join(data, 'nua.sock');
  return new Promise((resolve) => {
    const c = net.createConnection({ path: sock });
    const done = (result) => {
      clearTimeout(timer);
      c.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(`inconclusive: connect ${sock}: no answer within 5s`), 5000);
    c.on('connect', () => done(lib.succeeded(`connected to ${sock}`)));
    c.on('error', (err) => done(lib.denied(`connect ${sock}: ${lib.why(err)}`)));
  });
}

// signalVictim checks it may signal pid (kill -0), then stops it with
// SIGSTOP and lets it go on with SIGCONT.
function signalVictim(victim, pid) {
  if (!pid) return `inconclusive: no pid of ${victim} known (set VICTIM_PID)`;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (err.code === 'ESRCH') return `inconclusive: no process ${pid}`;
    return lib.denied(`kill -0 ${pid}: ${lib.why(err)}`);
  }
  try {
    process.kill(pid, 'SIGSTOP');
  } catch (err) {
    return lib.succeeded(`kill -0 ${pid} allowed; SIGSTOP: ${lib.why(err)}`);
  }
  process.kill(pid, 'SIGCONT');
  return lib.succeeded(`kill -0 and SIGSTOP on ${victim}'s pid ${pid} (then SIGCONT)`);
}

// allocate has a child process allocate and touch mb MiB, 64 MiB at a
// time, and says how far it got and how it ended.
function allocate(mb) {
  const code = `const mb = Number(process.argv[1]); const keep = [];
for (let got = 64; got <= mb; got += 64) { keep.push(Buffer.alloc(64 << 20, 1)); process.stdout.write(got + '\\n'); }
process.stdout.write('done\\n');`;
  return new Promise((resolve) => {
    let out = '';
    let errOut = '';
    const child = spawn(process.execPath, ['-e', code, String(mb)], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (b) => { out += b; });
    child.stderr.on('data', (b) => { errOut = (errOut + b).slice(-300); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve(`inconclusive: spawn the allocating child: ${lib.why(err)}`);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const lines = out.trim().split('\n').filter((l) => /^\d+$/.test(l));
      const got = lines.length ? Number(lines[lines.length - 1]) : 0;
      if (status === 0 && out.includes('done')) {
        resolve(lib.succeeded(`a child allocated and touched ${got} MiB and exited normally`));
      } else if (signal) {
        resolve(lib.denied(`the child was killed by ${signal} after ${got} of ${mb} MiB`));
      } else if (got > 0) {
        resolve(lib.denied(`the child failed (exit ${status}) after ${got} of ${mb} MiB: ${errOut.trim()}`));
      } else {
        resolve(`inconclusive: the child exited ${status} before allocating anything: ${errOut.trim()}`);
      }
    });
  });
}

// forkBomb starts processes (sleep 120) until one is refused, cap run at
// once or ms pass, then kills them all and waits for them.
async function forkBomb(cap, ms) {
  const kids = [];
  let refused = null;
  const start = Date.now();
  while (kids.length < cap && Date.now() - start < ms) {
    let c;
    try {
      c = spawn('/bin/sleep', ['120'], { stdio: 'ignore' });
    } catch (err) {
      refused = err;
      break;
    }
    if (c.pid === undefined) {
      refused = await new Promise((resolve) => c.once('error', resolve));
      break;
    }
    c.on('error', () => {});
    kids.push(c);
  }
  const took = ((Date.now() - start) / 1000).toFixed(1);
  const left = await killAll(kids);
  const cleanup = left === 0 ? `all ${kids.length} killed` : `${left} of ${kids.length} still running after SIGKILL and 20s`;
  if (refused) return lib.denied(`spawning was refused after ${kids.length} processes in ${took}s: ${lib.why(refused)}; ${cleanup}`);
  const stop = kids.length >= cap ? `the cap of ${cap}` : `the time bound of ${ms / 1000}s`;
  return lib.succeeded(`${kids.length} processes ran at once in ${took}s, none refused (stopped at ${stop}); ${cleanup}`);
}

// killAll kills kids and waits up to 20s for them; it returns how many
// are still running.
async function killAll(kids) {
  const running = () => kids.filter((c) => c.exitCode === null && c.signalCode === null);
  const exits = running().map((c) => new Promise((resolve) => c.once('exit', resolve)));
  for (const c of running()) c.kill('SIGKILL');
  let timer;
  await Promise.race([Promise.all(exits), new Promise((resolve) => { timer = setTimeout(resolve, 20000); })]);
  clearTimeout(timer);
  return running().length;
}

// setsidChild says whether the build's setsid child still runs.
function setsidChild(build) {
  const pid = build.setsid_pid;
  if (!pid) return lib.denied(`the build left no child: ${build.setsid}`);
  const cmd = lib.cmdline(pid);
  if (cmd.includes('hostile-setsid-' + build.token)) return lib.succeeded(`the build's setsid child, pid ${pid}, still runs: ${cmd}`);
  return lib.denied(`the build's setsid child, pid ${pid}, is gone`);
}

module.exports = { findByEnv, victimEnv, victimSlug, victimData, connectSocket, signalVictim, allocate, forkBomb, setsidChild };
