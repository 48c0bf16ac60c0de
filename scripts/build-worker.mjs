// npm run build:worker: bundles `cube worker` (cli/workerMain.ts and all it imports, npm
// packages included) into one ESM file, dist/cube-worker.mjs, that plain node runs without
// tsx. bin/cube.js uses it for `cube worker` while it is newer than every source it was built
// from (dist/cube-worker.meta.json lists them), so a stale bundle never runs edited code.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// What dockerode loads at start but a worker on the local socket never calls: the ssh
// transport (DOCKER_HOST=ssh://...), gRPC for BuildKit sessions and protobufjs for BuildKit's
// build progress (image builds). ~1.6 MB of JavaScript, ~15 MB resident. Stubbed: a call says
// to run the worker from its sources.
const STUBBED = /^(ssh2|@grpc\/grpc-js|@grpc\/proto-loader|protobufjs)$/;
const unused = {
  name: 'unused-dockerode-transports',
  setup(b) {
    b.onResolve({ filter: STUBBED }, (args) => ({ path: args.path, namespace: 'cube-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'cube-stub' }, (args) => ({
      contents: `const fail = () => { throw new Error('${args.path} is not in the bundled worker; set CUBE_WORKER_FROM_SOURCE=1'); };
module.exports = new Proxy({}, { get: (_, key) => key === '__esModule' ? false : fail });`,
      loader: 'js',
    }));
  },
};
const result = await build({
  absWorkingDir: root,
  entryPoints: ['cli/workerMain.ts'],
  outfile: 'dist/cube-worker.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  metafile: true,
  logLevel: 'warning',
  // Resident memory follows the JavaScript loaded: V8 keeps the whole source text, preparses
  // all of it at start and holds bytecode for what ran. ESM builds first (the AWS SDK ships
  // dist-es beside dist-cjs; esbuild then drops what the worker does not import, which it
  // cannot do in CommonJS), and minified: 3.2 -> 1.3 MiB, about -6 MB resident (BENCHMARKS.md).
  // Names stay readable where they matter: errors carry explicit `name` fields, and
  // dist/cube-worker.mjs.map maps stack traces back (node --enable-source-maps).
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: true,
  // CommonJS packages (dockerode, ssh2) call require() for Node's own modules and use
  // __dirname (ssh2's wasm poly1305), which ESM does not define.
  banner: {
    js: [
      "import { createRequire as __cubeRequire } from 'node:module';",
      "import { fileURLToPath as __cubePath } from 'node:url';",
      'const require = __cubeRequire(import.meta.url);',
      'const __filename = __cubePath(import.meta.url);',
      "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
    ].join(' '),
  },
  // Optional native add-ons of ssh2 (dockerode's ssh transport); they are loaded in a try.
  external: ['*.node', 'cpu-features'],
  plugins: [unused],
});
const sources = Object.keys(result.metafile.inputs).filter(
  (p) => !p.includes('node_modules') && !p.startsWith('cube-stub:'),
);
writeFileSync(join(root, 'dist', 'cube-worker.meta.json'), `${JSON.stringify({ sources })}\n`);
const bytes = result.metafile.outputs['dist/cube-worker.mjs'].bytes;
console.log(
  `dist/cube-worker.mjs: ${(bytes / 1024 / 1024).toFixed(1)} MiB from ${sources.length} sources`,
);
