// Preloaded with `node --require` by test/package.test.ts: appends every module the process
// loads (CommonJS through Module._load, ES modules through a loader hook) to $TINYFORGE_LOAD_LOG,
// so a test can see which packages a command pulled in.
const { appendFileSync } = require('node:fs');
const Module = require('node:module');

const log = process.env.TINYFORGE_LOAD_LOG;
if (log) {
  const originalResolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    const resolved = originalResolve.call(this, request, ...rest);
    appendFileSync(log, `${resolved}\n`);
    return resolved;
  };
  const hooks = `
    import { appendFileSync } from 'node:fs';
    export async function load(url, context, next) {
      appendFileSync(${JSON.stringify(log)}, url + '\\n');
      return next(url, context);
    }`;
  Module.register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}
