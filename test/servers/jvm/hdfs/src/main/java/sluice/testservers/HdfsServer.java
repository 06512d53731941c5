package sluice.testservers;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.server.datanode.DataNode;
import org.apache.hadoop.hdfs.server.namenode.NameNode;
import org.apache.hadoop.metrics2.lib.DefaultMetricsSystem;

/**
 * A NameNode and one DataNode in a single JVM, bound to 127.0.0.1, for sluice's integration tests.
 *
 * <p>Usage: {@code HdfsServer DIR [nnRpcPort nnHttpPort dnPort dnHttpPort]}; a port of 0 (the default)
 * lets the kernel pick. Metadata and blocks live under DIR (kept across restarts: the NameNode is
 * formatted only once). When both nodes are up and the NameNode has left safe mode, the bound ports are
 * written to DIR/endpoints.json (atomically) and printed on stdout as one line starting with
 * "SLUICE-READY ". SIGTERM stops both nodes.
 */
public final class HdfsServer {
  private HdfsServer() {}

  public static void main(String[] args) {
    try {
      run(args);
    } catch (Throwable t) {
      // Hadoop leaves non-daemon threads behind; exit so a failed start never lingers.
      System.err.println("HdfsServer failed to start:");
      t.printStackTrace();
      System.exit(1);
    }
  }

  private static void run(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: HdfsServer DIR [nnRpcPort nnHttpPort dnPort dnHttpPort]");
      System.exit(2);
    }
    File dir = new File(args[0]).getAbsoluteFile();
    int nnRpcPort = port(args, 1);
    int nnHttpPort = port(args, 2);
    int dnPort = port(args, 3);
    int dnHttpPort = port(args, 4);
    File nameDir = new File(dir, "name");
    File dataDir = new File(dir, "data");
    File tmpDir = new File(dir, "tmp");
    for (File f : new File[] {nameDir, dataDir, tmpDir}) {
      if (!f.isDirectory() && !f.mkdirs()) throw new IOException("cannot create " + f);
    }
    Files.deleteIfExists(new File(dir, "endpoints.json").toPath());

    Configuration conf = new HdfsConfiguration();
    conf.set("hadoop.tmp.dir", tmpDir.getPath());
    conf.set("dfs.namenode.name.dir", nameDir.toURI().toString());
    conf.set("dfs.datanode.data.dir", dataDir.toURI().toString());
    conf.set("dfs.namenode.rpc-address", "127.0.0.1:" + nnRpcPort);
    conf.set("dfs.namenode.http-address", "127.0.0.1:" + nnHttpPort);
    conf.set("dfs.namenode.https-address", "127.0.0.1:0");
    conf.set("dfs.datanode.address", "127.0.0.1:" + dnPort);
    conf.set("dfs.datanode.http.address", "127.0.0.1:" + dnHttpPort);
    conf.set("dfs.datanode.https.address", "127.0.0.1:0");
    conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
    // The DataNode registers as 127.0.0.1, so WebHDFS's 307 redirects point there.
    conf.set("dfs.datanode.hostname", "127.0.0.1");
    conf.setBoolean("dfs.namenode.datanode.registration.ip-hostname-check", false);
    conf.setBoolean("dfs.webhdfs.enabled", true);
    conf.setBoolean("dfs.permissions.enabled", false);
    conf.setInt("dfs.replication", 1);
    conf.setInt("dfs.namenode.replication.min", 1);
    conf.setInt("dfs.namenode.safemode.extension", 0);
    conf.setFloat("dfs.namenode.safemode.threshold-pct", 0f);
    conf.setInt("dfs.namenode.handler.count", 4);
    conf.setInt("dfs.namenode.service.handler.count", 2);
    conf.setInt("dfs.datanode.handler.count", 3);
    conf.setLong("dfs.heartbeat.interval", 1);
    conf.setInt("dfs.namenode.heartbeat.recheck-interval", 5000);
    conf.setBoolean("dfs.datanode.sync.behind.writes", false);
    // Lets tests ask for tiny block sizes (e.g. WebHDFS blocksize=) to cross block boundaries cheaply.
    conf.setLong("dfs.namenode.fs-limits.min-block-size", 1024);
    // Any user may act as any other (HiveServer2, sluice and tests all run as the local user).
    String user = System.getProperty("user.name");
    conf.set("hadoop.proxyuser." + user + ".hosts", "*");
    conf.set("hadoop.proxyuser." + user + ".groups", "*");

    // Formatting and both nodes register metrics sources in this one JVM; allow the duplicate names
    // (as MiniDFSCluster does).
    DefaultMetricsSystem.setMiniClusterMode(true);
    if (!new File(nameDir, "current/VERSION").exists()) {
      NameNode.format(conf);
    }
    NameNode nameNode = NameNode.createNameNode(new String[0], conf);
    InetSocketAddress rpc = nameNode.getNameNodeAddress();
    InetSocketAddress http = nameNode.getHttpAddress();
    String defaultFs = "hdfs://127.0.0.1:" + rpc.getPort();
    conf.set("fs.defaultFS", defaultFs);
    conf.set("dfs.namenode.rpc-address", "127.0.0.1:" + rpc.getPort());
    conf.set("dfs.namenode.http-address", "127.0.0.1:" + http.getPort());

    DataNode dataNode = DataNode.createDataNode(new String[0], conf);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    dataNode.shutdown();
                  } catch (Throwable t) {
                    t.printStackTrace();
                  }
                  try {
                    nameNode.stop();
                  } catch (Throwable t) {
                    t.printStackTrace();
                  }
                },
                "sluice-hdfs-stop"));

    long deadline = System.currentTimeMillis() + 120_000;
    while (!dataNode.isDatanodeFullyStarted()
        || nameNode.getNamesystem().getNumLiveDataNodes() < 1
        || nameNode.isInSafeMode()) {
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException(
            "HDFS did not come up: datanodeFullyStarted="
                + dataNode.isDatanodeFullyStarted()
                + " liveDataNodes="
                + nameNode.getNamesystem().getNumLiveDataNodes()
                + " safeMode="
                + nameNode.isInSafeMode());
      }
      Thread.sleep(100);
    }

    Map<String, Object> endpoints = new LinkedHashMap<>();
    endpoints.put("fsDefaultFS", defaultFs);
    endpoints.put("namenodeRpcPort", rpc.getPort());
    endpoints.put("namenodeHttpPort", http.getPort());
    endpoints.put("datanodePort", dataNode.getXferPort());
    endpoints.put("datanodeHttpPort", dataNode.getInfoPort());
    endpoints.put("datanodeIpcPort", dataNode.getIpcPort());
    endpoints.put("pid", ProcessHandle.current().pid());
    String json = toJson(endpoints);
    Path tmp = new File(dir, "endpoints.json.tmp").toPath();
    Files.writeString(tmp, json + "\n", StandardCharsets.UTF_8);
    Files.move(tmp, new File(dir, "endpoints.json").toPath(), StandardCopyOption.ATOMIC_MOVE);
    System.out.println("SLUICE-READY " + json);
    System.out.flush();
    nameNode.join();
  }

  private static int port(String[] args, int index) {
    return args.length > index ? Integer.parseInt(args[index]) : 0;
  }

  static String toJson(Map<String, Object> map) {
    StringBuilder sb = new StringBuilder("{");
    for (Map.Entry<String, Object> e : map.entrySet()) {
      if (sb.length() > 1) sb.append(',');
      sb.append('"').append(e.getKey()).append("\":");
      Object v = e.getValue();
      if (v instanceof Number) sb.append(v);
      else sb.append('"').append(String.valueOf(v).replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
    }
    return sb.append('}').toString();
  }
}
