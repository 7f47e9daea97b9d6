// What the hostile app's build and web process share: finding nua's data
// dir, and attempts that end in "denied: ..." or "SUCCEEDED: ...".
const fs = require('fs');
const path = require('path');

const denied = (detail) => 'denied: ' + detail;
const succeeded = (detail) => 'SUCCEEDED: ' + detail;
const why = (err) => (err.code ? `${err.code} (${err.message})` : String(err.message || err));

// dataDir returns nua's data dir: the slug lives at
// DATA/apps/APP/releases/SLUG and a build's HOME at DATA/cache/APP/home,
// so DATA is found from the path alone, without reading anything.
function dataDir() {
  const tries = [];
  const fromSlug = (dir) => {
    const rel = path.dirname(dir);
    const apps = path.dirname(path.dirname(rel));
    if (path.basename(rel) === 'releases' && path.basename(apps) === 'apps') return path.dirname(apps);
    return '';
  };
  tries.push(['cwd', fromSlug(process.cwd())]);
  tries.push(['script dir', fromSlug(__dirname)]);
  tries.push(['NUA_DATA', process.env.NUA_DATA || '']);
  const appData = process.env.NUA_DATA_DIR; // DATA/apps/APP/data
  if (appData && path.basename(path.dirname(path.dirname(appData))) === 'apps') {
    tries.push(['NUA_DATA_DIR', path.dirname(path.dirname(path.dirname(appData)))]);
  }
  const home = process.env.HOME; // DATA/cache/APP/home during a build
  if (home && path.basename(path.dirname(path.dirname(home))) === 'cache') {
    tries.push(['HOME', path.dirname(path.dirname(path.dirname(home)))]);
  }
  const found = tries.find(([, dir]) => dir !== '');
  return found ? { dir: found[1], from: found[0] } : { dir: '', from: 'nowhere: ' + process.cwd() };
}

// tryRead reads file and says how much it got.
function tryRead(file) {
  try {
    const data = fs.readFileSync(file);
    return succeeded(`read ${data.length} bytes of ${file}`);
  } catch (err) {
    return denied(`read ${file}: ${why(err)}`);
  }
}

// tryWrite creates dir if need be and writes file name in it.
function tryWrite(dir, name, content) {
  const file = path.join(dir, name);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, content);
    return succeeded(`wrote ${file}`);
  } catch (err) {
    return denied(`write ${file}: ${why(err)}`);
  }
}

// ownerUid is the uid that owns DATA/nua.db (else DATA): nua's own.
function ownerUid(data) {
  for (const p of [path.join(data, 'nua.db'), data]) {
    try {
      return { uid: fs.statSync(p).uid, from: p };
    } catch (err) {
      // try the next
    }
  }
  return { uid: -1, from: '' };
}

// uidAttempt says which uid this process runs as: root or nua's own uid
// is an escape.
function uidAttempt(data) {
  const uid = process.getuid();
  const nua = ownerUid(data);
  const ids = `uid ${uid}, gid ${process.getgid()}, groups ${process.getgroups().join(',') || 'none'}`;
  if (uid === 0) return succeeded(`runs as root (${ids})`);
  if (uid === nua.uid) return succeeded(`runs as nua's uid, the owner of ${nua.from} (${ids})`);
  const of = nua.uid >= 0 ? `nua's uid is ${nua.uid} (owner of ${nua.from})` : "nua's uid unknown: DATA cannot be stat'ed";
  return denied(`runs as ${ids}; ${of}`);
}

// sleepSync blocks for ms milliseconds.
function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// cmdline returns the command line of pid with spaces for NULs, '' if
// there is no such process.
function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
  } catch (err) {
    return '';
  }
}

module.exports = { denied, succeeded, why, dataDir, tryRead, tryWrite, uidAttempt, sleepSync, cmdline };
