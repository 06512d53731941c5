// The layering of src/, checked by `npm run lint:deps` (the first step of `npm test`).
// Arrows point down only. From the top:
//   cli                                   wiring only
//   pipeline                              the loop and its compositions (binlog -> Hive)
//   sync                                  the batch copy (to become a composition of the loop)
//   sources, sinks                        peers: neither imports the other
//   checkpoint, routing                   peers; checkpoint knows no source or sink type
//   runtime                               process services: health server, metrics, state lock, embedded catalog/storage
//   catalog, filesystem                   Hive metastore and storage behind interfaces
//   config                                the YAML and its schema
//   core                                  vocabulary every room uses: errors, atomic files, retry, ...
// Inside sources/binlog/: stream -> schema -> position -> server, decode.
// A folder may import its own files and any folder of a lower layer, nothing else; and no cycle of
// files, nor of folders, is allowed anywhere in src/.

const LAYERS = [
  ['core', '^src/core/'],
  ['config', '^src/config/'],
  ['catalog', '^src/catalog/'],
  ['filesystem', '^src/filesystem/'],
  ['runtime', '^src/runtime/'],
  ['routing', '^src/routing/'],
  ['checkpoint', '^src/checkpoint/'],
  ['sources', '^src/sources/'],
  ['sinks', '^src/sinks/'],
  ['sync', '^src/sync/'],
  ['pipeline', '^src/pipeline/'],
  ['cli', '^src/cli/'],
];

// Which layers each may import, besides itself (peers are listed apart: not allowed either way).
const BELOW = {
  core: [],
  config: ['core'],
  catalog: ['config', 'core'],
  filesystem: ['config', 'core'],
  runtime: ['catalog', 'filesystem', 'config', 'core'],
  routing: ['runtime', 'catalog', 'filesystem', 'config', 'core'],
  checkpoint: ['runtime', 'catalog', 'filesystem', 'config', 'core'],
  sources: ['routing', 'checkpoint', 'runtime', 'catalog', 'filesystem', 'config', 'core'],
  sinks: ['routing', 'checkpoint', 'runtime', 'catalog', 'filesystem', 'config', 'core'],
  sync: ['sources', 'sinks', 'routing', 'checkpoint', 'runtime', 'catalog', 'filesystem', 'config', 'core'],
  pipeline: ['sync', 'sources', 'sinks', 'routing', 'checkpoint', 'runtime', 'catalog', 'filesystem', 'config', 'core'],
  cli: ['pipeline', 'sync', 'sources', 'sinks', 'routing', 'checkpoint', 'runtime', 'catalog', 'filesystem', 'config', 'core'],
};

// Inside sources/binlog/: which groups each may import, besides itself.
const BINLOG_BELOW = {
  decode: [],
  server: [],
  position: ['server', 'decode'],
  schema: ['position', 'server', 'decode'],
  stream: ['schema', 'position', 'server', 'decode'],
};

const layerPath = Object.fromEntries(LAYERS);
const anyOf = (paths) => paths.map((path) => `(${path})`).join('|');

const layerRules = LAYERS.map(([name, path]) => {
  const allowed = [path, ...BELOW[name].map((below) => layerPath[below])];
  const rule = {
    name: `layer-${name}`,
    comment: `${name} imports only ${BELOW[name].length ? BELOW[name].join(', ') : 'nothing of src/ outside itself'}: arrows point down`,
    severity: 'error',
    from: { path },
    to: { path: '^src/', pathNot: anyOf(allowed) },
  };
  return rule;
});

const binlogRules = Object.entries(BINLOG_BELOW).map(([group, below]) => ({
  name: `binlog-${group}`,
  comment: `sources/binlog/${group} imports only ${below.length ? below.join(', ') : 'nothing'} of sources/binlog/`,
  severity: 'error',
  from: { path: `^src/sources/binlog/${group}/` },
  to: { path: '^src/sources/binlog/', pathNot: anyOf([group, ...below].map((name) => `^src/sources/binlog/${name}/`)) },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-file-cycles',
      comment: 'files that import each other in a loop cannot be understood, tested or moved one at a time',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      comment: 'no two folders of src/ import each other, however far round',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src' },
      to: { circular: true },
    },
    ...layerRules,
    ...binlogRules,
    {
      name: 'no-unresolvable',
      comment: 'an import that resolves to nothing is a typo or a file that moved',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
