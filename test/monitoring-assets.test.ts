// The Grafana dashboard and the Prometheus alert rules shipped in docs/ name only metrics the running
// daemon exports: a renamed or dropped metric would otherwise leave an empty panel or an alert that
// can never fire, and nobody would notice until the day it mattered.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { gtidBinlogPos, makeWorkspace, metricsPort, withDaemon } from './helpers/daemon.ts';
import { testMariaDb } from './helpers/servers.ts';

const dashboardFile = new URL('../docs/grafana/sluice-dashboard.json', import.meta.url);
const alertsFile = new URL('../docs/prometheus/sluice-alerts.yml', import.meta.url);

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'inf', 'nan']);

/**
 * The metric names a PromQL expression reads: what is left once strings, label matchers, ranges,
 * grouping label lists, Grafana variables, numbers, function calls and keywords are taken out.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
    .replace(/\b\d[\w.]*/g, ' ');
  const names = new Set<string>();
  for (const found of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = bare.slice(found.index + found[0].length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(found[0].toLowerCase())) continue;
    names.add(found[0]);
  }
  return [...names];
}

/** Every series name a scrape holds: sample names, and for histograms and summaries their suffixed series. */
function exportedNames(body: string): Set<string> {
  const names = new Set<string>();
  for (const line of body.split('\n')) {
    const [, name, type] = /^# TYPE (\S+) (\w+)/.exec(line) ?? [];
    if (name) {
      names.add(name);
      const suffixes = type === 'histogram' ? ['_bucket', '_sum', '_count'] : type === 'summary' ? ['_sum', '_count'] : [];
      for (const suffix of suffixes) names.add(name + suffix);
    } else if (line && !line.startsWith('#')) names.add(line.split(/[{ ]/)[0] ?? line);
  }
  return names;
}

interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  targets: { refId: string; expr: string }[];
}

interface AlertRule {
  alert: string;
  expr: string;
  labels: { severity: string };
  annotations: { summary: string };
}

test('the PromQL parser finds metric names and nothing else', () => {
  assert.deepEqual(
    metricNames('histogram_quantile(0.99, sum by (instance, le) (rate(a_bucket{instance=~"$instance"}[$__rate_interval]))) / b offset 5m'),
    ['a_bucket', 'b'],
  );
  assert.deepEqual(metricNames('changes(c[30m]) > 2 and on (instance, job) d'), ['c', 'd']);
  assert.deepEqual(metricNames('time() - e{x="y(z)"} > 1e3'), ['e']);
});

test('the dashboard and the alert rules name only metrics the daemon exports', { timeout: 120_000 }, async () => {
  const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as { uid: string; title: string; schemaVersion: number; panels: GrafanaPanel[]; templating: { list: { query?: unknown }[] } };
  assert.ok(dashboard.uid && dashboard.title && dashboard.schemaVersion >= 30, 'a Grafana dashboard: uid, title, schemaVersion');
  assert.ok(dashboard.panels.length > 0);
  assert.equal(new Set(dashboard.panels.map((panel) => panel.id)).size, dashboard.panels.length, 'panel ids are unique');
  const dashboardExprs: string[] = [];
  for (const panel of dashboard.panels) {
    assert.ok(panel.type && panel.title && panel.gridPos, `panel ${panel.id} has a type, a title and a place`);
    assert.ok(panel.targets.length > 0, `panel ${panel.title} has targets`);
    for (const target of panel.targets) {
      assert.ok(target.refId && target.expr, `panel ${panel.title}: every target has a refId and an expr`);
      assert.ok(metricNames(target.expr).length > 0, `panel ${panel.title}: ${target.expr} reads a metric`);
      dashboardExprs.push(target.expr);
    }
  }
  for (const variable of dashboard.templating.list) {
    const query = typeof variable.query === 'object' && variable.query ? (variable.query as { query: string }).query : undefined;
    if (query?.startsWith('label_values(')) dashboardExprs.push(query.replace(/^label_values\(([^,)]+).*$/, '$1'));
  }

  const alerts = parse(readFileSync(alertsFile, 'utf8')) as { groups: { name: string; rules: AlertRule[] }[] };
  const rules = alerts.groups.flatMap((group) => group.rules);
  for (const rule of rules) {
    assert.ok(rule.alert && rule.expr && rule.labels.severity && rule.annotations.summary, `rule ${rule.alert}: alert, expr, severity, summary`);
    assert.ok(metricNames(rule.expr).length > 0, `rule ${rule.alert} reads a metric`);
  }
  // What the issue asks these files to watch, so that a panel or rule is not dropped in silence.
  const dashboardNames = new Set(dashboardExprs.flatMap(metricNames));
  for (const name of [
    'sluice_replication_lag_seconds',
    'sluice_rows_written_total',
    'sluice_last_checkpoint_timestamp_seconds',
    'sluice_checkpoint_duration_seconds_bucket',
    'sluice_stopped_tables',
    'sluice_errors_total',
    'process_resident_memory_bytes',
    'sluice_queued_items',
    'sluice_snapshot_rows_total',
  ]) {
    assert.ok(dashboardNames.has(name), `the dashboard shows ${name}`);
  }
  assert.deepEqual(
    ['SluiceReplicationLag', 'SluiceCheckpointStale', 'SluiceTableStopped', 'SluiceRestartLoop'].filter((name) => !rules.some((rule) => rule.alert === name)),
    [],
    'the alert rules cover lag, checkpoint age, stopped tables and restart loops',
  );

  const server = await testMariaDb();
  const workspace = makeWorkspace(server, { start: `{ gtid: '${await gtidBinlogPos(server)}' }`, routing: "  include: ['nothing.*']", intervalSeconds: 0.3 });
  let body = '';
  const { daemon, exit } = await withDaemon(workspace, server, async (daemon) => {
    body = await (await fetch(`http://127.0.0.1:${await metricsPort(daemon)}/metrics`)).text();
  });
  assert.equal(exit.code, 0, daemon.output().slice(-2000));
  const exported = exportedNames(body);
  // prom-client's default metrics, which the RSS panel and the restart-loop rule read.
  assert.ok(exported.has('process_start_time_seconds') && exported.has('process_resident_memory_bytes'), `default process metrics:\n${body}`);
  const missing = [...dashboardExprs.map((expr) => ['dashboard', expr] as const), ...rules.map((rule) => [`alert ${rule.alert}`, rule.expr] as const)].flatMap(([where, expr]) =>
    metricNames(expr)
      .filter((name) => !exported.has(name))
      .map((name) => `${where}: ${name} in ${expr}`),
  );
  assert.deepEqual(missing, [], `metrics the daemon does not export:\n${[...exported].sort().join('\n')}`);
});
