// The formats a topic may be in, by the name its `format` key gives.
import { canalJson } from './canal-json.ts';
import { debeziumJson } from './debezium-json.ts';
import { goldenGateJson } from './goldengate-json.ts';
import type { FormatDecoder } from './kafka-row.ts';
import { maxwellJson } from './maxwell-json.ts';

export const KAFKA_FORMATS = ['debezium-json', 'canal-json', 'maxwell-json', 'goldengate-json'] as const;
export type KafkaFormat = (typeof KAFKA_FORMATS)[number];

export const FORMAT_DECODERS: { readonly [Format in KafkaFormat]: FormatDecoder } = {
  'debezium-json': debeziumJson,
  'canal-json': canalJson,
  'maxwell-json': maxwellJson,
  'goldengate-json': goldenGateJson,
};
