// The build script: says which node and package manager ran it.
const agent = (process.env.npm_config_user_agent || 'unknown').split(' ')[0];
require('fs').writeFileSync('built.txt', `built on node ${process.version} by ${agent}\n`);
console.log('wrote built.txt');
