// Table and partition locations cross the border between two namings of the same files: sluice's
// FileSystem speaks absolute paths ('/user/hive/warehouse/ods.db/orders'), the metastore stores URIs
// ('hdfs://namenode:8020/user/hive/warehouse/ods.db/orders'). fs.defaultFS, as the cluster's
// core-site.xml names it, joins the two.
import { SluiceError } from '../core/errors.ts';

export interface FileSystemName {
  scheme: string;
  /** 'host:port' or an HA nameservice ('mycluster'); '' for 'file:///'. */
  authority: string;
}

export function parseDefaultFs(fsDefaultFS: string): FileSystemName {
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)\/?$/i.exec(fsDefaultFS.trim());
  if (!match) {
    throw new SluiceError('SLUICE_CONFIG_INVALID', `fs.defaultFS '${fsDefaultFS}' is not a file system URI such as hdfs://namenode:8020`, {
      context: { fsDefaultFS },
    });
  }
  return { scheme: match[1]!.toLowerCase(), authority: match[2]!.toLowerCase() };
}

export function formatDefaultFs(name: FileSystemName): string {
  return `${name.scheme}://${name.authority}`;
}

/** The URI Hive stores for an absolute FileSystem path. */
export function toHiveUri(fs: FileSystemName, path: string): string {
  if (!path.startsWith('/')) {
    throw new SluiceError('SLUICE_CATALOG', `location '${path}' is not an absolute path on ${formatDefaultFs(fs)}`, { context: { path } });
  }
  // Percent-encoding is left to Hive: it stores the text it is given (Path's own rules), and sluice's
  // paths are made of database, table and partition names.
  return `${formatDefaultFs(fs)}${path.replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1')}`;
}

/**
 * The FileSystem path of a location Hive reports; a location on another file system (another
 * cluster, s3a://, file://) is an error that names both, since sluice could not write there.
 */
export function fromHiveUri(fs: FileSystemName, uri: string, what: string): string {
  // Hadoop's Path prints a URI without an authority as 'file:/path' (a warehouse on local disk).
  const full = uri.trim().replace(/^([a-z][a-z0-9+.-]*):\/(?!\/)/i, '$1:///');
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(\/[^?#]*)?$/i.exec(full);
  if (!match) {
    if (uri.startsWith('/')) return normalizePath(uri);
    throw new SluiceError('SLUICE_CATALOG', `${what} is at '${uri}', which is not a URI sluice understands`, { context: { location: uri } });
  }
  const scheme = match[1]!.toLowerCase();
  const authority = match[2]!.toLowerCase();
  if (scheme !== fs.scheme || (authority !== '' && authority !== fs.authority)) {
    throw new SluiceError(
      'SLUICE_CATALOG',
      `${what} is at ${uri}, which is not on ${formatDefaultFs(fs)}, the file system sluice writes to. ` +
        `If it is the same cluster under another name, set the catalog's fsDefaultFS to ${scheme}://${authority} (as Hive's core-site.xml has fs.defaultFS).`,
      { context: { location: uri, fsDefaultFS: formatDefaultFs(fs) } },
    );
  }
  return normalizePath(match[3] ?? '/');
}

function normalizePath(path: string): string {
  return path.replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1');
}
