// MySQL's binlog column type codes (include/mysql_com.h enum_field_types, and MariaDB's compressed
// ones), as zongji's TableMap carries them; the TableMap hooks rewrite columns by these.
export const MYSQL_TYPE_VARCHAR = 15;
export const MYSQL_TYPE_BLOB_COMPRESSED = 140;
export const MYSQL_TYPE_VARCHAR_COMPRESSED = 141;
/** MySQL's binary JSON (MariaDB's JSON is LONGTEXT). */
export const MYSQL_TYPE_JSON = 245;
export const MYSQL_TYPE_ENUM = 247;
export const MYSQL_TYPE_SET = 248;
export const MYSQL_TYPE_TINY_BLOB = 249;
export const MYSQL_TYPE_MEDIUM_BLOB = 250;
export const MYSQL_TYPE_LONG_BLOB = 251;
export const MYSQL_TYPE_BLOB = 252;
export const MYSQL_TYPE_STRING = 254;
export const MYSQL_TYPE_GEOMETRY = 255;

/** The collation id of binary strings: the column holds bytes, not text. */
export const BINARY_COLLATION_ID = 63;
/** MySQL 9's VECTOR(n): n little-endian float32s, laid out in the row image as a BLOB with a 4-byte length. */
export const MYSQL_TYPE_VECTOR = 242;
