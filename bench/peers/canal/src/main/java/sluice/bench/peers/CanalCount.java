package sluice.bench.peers;

import com.alibaba.otter.canal.common.alarm.LogAlarmHandler;
import com.alibaba.otter.canal.filter.aviater.AviaterRegexFilter;
import com.alibaba.otter.canal.parse.inbound.mysql.MysqlEventParser;
import com.alibaba.otter.canal.parse.index.MemoryLogPositionManager;
import com.alibaba.otter.canal.parse.support.AuthenticationInfo;
import com.alibaba.otter.canal.protocol.CanalEntry;
import com.alibaba.otter.canal.protocol.position.EntryPosition;
import com.alibaba.otter.canal.sink.AbstractCanalEventSink;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * canal's parser over the benchmark's binlog: a MysqlEventParser (canal's own replica connection, binlog
 * decoding and conversion into protobuf entries, with its defaults: parallel parsing on) from the start
 * of the first binlog file, its sink counting the row changes of each ROWDATA entry by kind.
 *
 * Arguments (key=value): host, port, user, password, serverId, binlogFile, database, table, expected,
 * idleSeconds.
 */
public final class CanalCount {
  public static void main(String[] argv) throws Exception {
    PeerCount count = new PeerCount(argv);
    MysqlEventParser parser = new MysqlEventParser();
    parser.setDestination("sluice-bench");
    parser.setSlaveId(Long.parseLong(count.arg("serverId")));
    parser.setConnectionCharset("UTF-8");
    parser.setDetectingEnable(false);
    // Table metadata from the live server (SHOW CREATE TABLE) instead of canal's H2 history store.
    parser.setEnableTsdb(false);
    parser.setMasterInfo(new AuthenticationInfo(
        new InetSocketAddress(count.arg("host"), Integer.parseInt(count.arg("port"))), count.arg("user"), count.arg("password")));
    parser.setMasterPosition(new EntryPosition(count.arg("binlogFile"), 4L));
    parser.setEventFilter(new AviaterRegexFilter(count.arg("database") + "\\." + count.arg("table")));
    MemoryLogPositionManager positions = new MemoryLogPositionManager();
    positions.start();
    parser.setLogPositionManager(positions);
    LogAlarmHandler alarms = new LogAlarmHandler();
    alarms.start();
    parser.setAlarmHandler(alarms);
    AbstractCanalEventSink<List<CanalEntry.Entry>> sink = new AbstractCanalEventSink<>() {
      @Override
      public boolean sink(List<CanalEntry.Entry> entries, InetSocketAddress address, String destination) {
        for (CanalEntry.Entry entry : entries) {
          if (entry.getEntryType() == CanalEntry.EntryType.ROWDATA) count.add(kind(entry.getHeader().getEventType()), rows(entry));
        }
        return true;
      }
    };
    sink.start();
    parser.setEventSink(sink);
    count.started();
    parser.start();
    Thread.currentThread().join();
  }

  private static String kind(CanalEntry.EventType type) {
    return switch (type) {
      case INSERT -> "insert";
      case UPDATE -> "update";
      case DELETE -> "delete";
      default -> type.name().toLowerCase();
    };
  }

  /** The entry's row count: canal puts it in the header as rowsCount; without it, the entry's RowChange is parsed. */
  private static long rows(CanalEntry.Entry entry) {
    for (CanalEntry.Pair pair : entry.getHeader().getPropsList()) {
      if (pair.getKey().equals("rowsCount")) return Long.parseLong(pair.getValue());
    }
    try {
      return CanalEntry.RowChange.parseFrom(entry.getStoreValue()).getRowDatasCount();
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }
}
