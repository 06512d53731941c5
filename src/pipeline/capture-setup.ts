// What is captured of each table (capture.tables and the routing rules' settings), wired the same way
// into every pairing of a source with the Hive sink: the transform the loop applies to each routed
// change, the schema-change policy the sink asks for a table's changes, and the metadata column names
// a new table gets (the rule's `metadataColumns`, else `sink.metadataColumns`).
import type { Logger } from 'pino';
import { resolveMetadataNames, type MetadataNames } from '../config/metadata-columns.ts';
import type { ConfiguredMetadataNames, HiveChangelogSinkOptions } from '../sinks/hive-changelog-sink.ts';
import { CaptureTransform, type CaptureConfig, type CaptureSettings } from '../routing/capture/capture-transform.ts';
import type { Router, RoutingRule } from '../routing/router.ts';

export interface CaptureSetup {
  /** Undefined when no table has settings: the loop then hands every change on as it is. */
  transform: CaptureTransform | undefined;
  schemaPolicy: NonNullable<HiveChangelogSinkOptions['schemaPolicy']>;
  metadataNames: NonNullable<HiveChangelogSinkOptions['metadataNames']>;
}

export function setUpCapture(
  capture: CaptureConfig | undefined,
  rules: readonly (RoutingRule & CaptureSettings & { metadataColumns?: Partial<MetadataNames> })[],
  router: Router,
  logger: Logger,
  sinkMetadataColumns?: Partial<MetadataNames>,
): CaptureSetup {
  const transform = new CaptureTransform(capture ?? { tables: [] }, rules, (message, context) => logger.warn(context, message));
  const sinkNames: ConfiguredMetadataNames = { names: resolveMetadataNames(sinkMetadataColumns), key: 'sink.metadataColumns' };
  const ruleNames = rules.map((rule, index): ConfiguredMetadataNames =>
    rule.metadataColumns === undefined ? sinkNames : { names: resolveMetadataNames(sinkMetadataColumns, rule.metadataColumns), key: `routing.rules[${index}].metadataColumns` },
  );
  return {
    transform: transform.active ? transform : undefined,
    metadataNames: (_target, event) => {
      const decision = router.decide(event.schema, event.table);
      return (decision.kind === 'routed' && decision.rule !== undefined ? ruleNames[decision.rule] : undefined) ?? sinkNames;
    },
    schemaPolicy: (event) => {
      const decision = router.decide(event.schema, event.table);
      return transform.schemaPolicy(event.schema, event.table, decision.kind === 'routed' ? decision.rule : undefined);
    },
  };
}
