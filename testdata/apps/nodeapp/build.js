// The build step of the Node.js sample app (`npm run build`): it writes
// build/info.txt, which the server answers on GET /built, so tests can see
// that the build ran.
const fs = require('fs');
const ms = require('ms');

fs.mkdirSync('build', { recursive: true });
fs.writeFileSync('build/info.txt', `built by npm run build; a day is ${ms('1 day')} ms\n`);
console.log('wrote build/info.txt');
