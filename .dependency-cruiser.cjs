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
//   core (and src/*.ts: errors)           vocabulary every room uses
// Inside sources/binlog/: stream -> schema -> position -> server, decode.
// A folder may import its own files and any folder of a lower layer, nothing else; and no cycle of
// files, nor of folders, is allowed anywhere in src/.

const LAYERS = [
  ['core', '^src/(core/|[^/]+\\.ts$)'],
  ['config', '^src/config/'],
  ['catalog', '^src/catalog/'],
  ['filesystem', '^src/filesystem/'],
  // binlog-to-hive-job.ts is moving to src/pipeline/ (issue 12, another branch): counted there already.
  ['runtime', '^src/runtime/(?!binlog-to-hive-job\\.ts$)'],
  ['routing', '^src/routing/'],
  ['checkpoint', '^src/checkpoint/'],
  ['sources', '^src/sources/'],
  ['sinks', '^src/sinks/'],
  ['sync', '^src/sync/'],
  ['pipeline', '^src/(pipeline/|runtime/binlog-to-hive-job\\.ts$)'],
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

// Known exceptions, to be removed once the pipeline work (issue 12, another branch) lands: the
// checkpoint record still holds a binlog position, and the coordinator and recovery still take
// the Hive changelog sink. No other arrow from checkpoint/ to sources/ or sinks/ is allowed.
const CHECKPOINT_KNOWN = [
  ['^src/checkpoint/checkpoint-record\\.ts$', '^src/sources/binlog/position/binlog-position\\.ts$'],
  ['^src/checkpoint/move-checkpoint\\.ts$', '^src/sources/binlog/position/binlog-position\\.ts$'],
  ['^src/checkpoint/checkpoint-coordinator\\.ts$', '^src/sinks/hive-changelog-sink\\.ts$'],
  ['^src/checkpoint/recovery\\.ts$', '^src/sinks/(hive-changelog-sink|changelog-layout|xa-held-files)\\.ts$'],
];

// Folder scope cannot name the known arrows one by one (dependency-cruiser has no `via` there):
// the folders on today's known cycles, to be emptied with CHECKPOINT_KNOWN.
const KNOWN_CYCLE_FOLDERS = '^src/(checkpoint|runtime|sinks|sources/binlog/(position|schema|stream))$';

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
  if (name === 'checkpoint') rule.from.pathNot = anyOf(CHECKPOINT_KNOWN.map(([from]) => from));
  return rule;
});

const checkpointKnownRules = CHECKPOINT_KNOWN.map(([from, to], index) => ({
  name: `layer-checkpoint-known-exception-${index + 1}`,
  comment: 'a known exception imports its one listed file above checkpoint/ and nothing else above it',
  severity: 'error',
  from: { path: from },
  to: { path: '^src/', pathNot: anyOf([layerPath.checkpoint, to, ...BELOW.checkpoint.map((below) => layerPath[below])]) },
}));

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
      comment:
        'no two folders of src/ import each other, however far round. Until the pipeline work lands, the folders on ' +
        'the known cycles (checkpoint <-> sinks and sources/binlog/position; runtime/binlog-to-hive-job <-> sinks/metrics) ' +
        'are left to the layer rules, which forbid every arrow up but the known ones, file by file.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src', pathNot: KNOWN_CYCLE_FOLDERS },
      to: { circular: true },
    },
    ...layerRules,
    ...checkpointKnownRules,
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
