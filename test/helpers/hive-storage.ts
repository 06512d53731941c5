// The `sink` YAML of a daemon that writes to the shared test HDFS (WebHDFS) and makes its tables
// through the shared test HiveServer2.
import type { HdfsEndpoints, HiveEndpoints } from './servers.ts';

export function hiveStorageYaml(hdfs: HdfsEndpoints, hive: HiveEndpoints, warehouse: string): string[] {
  return [
    '  filesystem:',
    '    kind: webhdfs',
    `    namenodes: ['${new URL(hdfs.webhdfsUrl).origin}']`,
    `    warehouse: ${warehouse}`,
    '    spoolDir: ./spool',
    '  catalog:',
    '    kind: hiveserver2',
    `    host: ${hive.host}`,
    `    port: ${hive.port}`,
    `    authentication: ${hive.authentication}`,
    `    fsDefaultFS: ${hdfs.fsDefaultFS}`,
  ];
}
