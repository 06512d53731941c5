package sluice.testservers;

import java.io.File;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.metastore.conf.MetastoreConf;
import org.apache.hive.service.server.HiveServer2;

/**
 * HiveServer2 with an embedded metastore on Derby, bound to 127.0.0.1, for sluice's integration tests.
 *
 * <p>Usage: {@code HiveServer DIR PORT AUTH [FS_DEFAULT_FS]}. AUTH is hive.server2.authentication
 * (NOSASL or NONE). With FS_DEFAULT_FS (hdfs://127.0.0.1:PORT) the warehouse and scratch dirs are on
 * that HDFS; without it they are under DIR on the local file system. The metastore's Derby database
 * lives in DIR/metastore_db and is kept across restarts. When the Thrift port accepts connections,
 * DIR/endpoints.json is written (atomically) and one line starting with "SLUICE-READY " is printed.
 * SIGTERM stops the server.
 */
public final class HiveServer {
  private HiveServer() {}

  public static void main(String[] args) {
    try {
      run(args);
    } catch (Throwable t) {
      System.err.println("HiveServer failed to start:");
      t.printStackTrace();
      System.exit(1);
    }
  }

  private static void run(String[] args) throws Exception {
    if (args.length < 3) {
      System.err.println("usage: HiveServer DIR PORT AUTH [FS_DEFAULT_FS]");
      System.exit(2);
    }
    File dir = new File(args[0]).getAbsoluteFile();
    int port = Integer.parseInt(args[1]);
    String auth = args[2];
    String defaultFs = args.length > 3 && !args[3].isEmpty() ? args[3] : null;
    Files.deleteIfExists(new File(dir, "endpoints.json").toPath());
    File localScratch = mkdirs(new File(dir, "local-scratch"));

    // The settings go to DIR/conf/hive-site.xml, registered as the hive-site location before any
    // HiveConf exists: HiveServer2's background threads (and the embedded metastore) build their own
    // HiveConf/MetastoreConf from the defaults plus hive-site.xml, not from this object.
    Configuration conf = new Configuration(false);
    // Thrift on loopback only; no web UI. The binary transport by default; -Dsluice.hive.transport=http
    // serves Thrift over HTTP on PORT instead (path /cliservice), as clusters behind a proxy or Knox do.
    String transport = System.getProperty("sluice.hive.transport", "binary");
    conf.set("hive.server2.transport.mode", transport);
    conf.set("hive.server2.thrift.bind.host", "127.0.0.1");
    conf.setInt("hive.server2.thrift.port", port);
    conf.setInt("hive.server2.thrift.http.port", port);
    conf.set("hive.server2.authentication", auth);
    conf.setBoolean("hive.server2.enable.doAs", false);
    conf.setInt("hive.server2.webui.port", 0);
    conf.setInt("hive.server2.thrift.min.worker.threads", 2);
    conf.setBoolean("hive.server2.support.dynamic.service.discovery", false);
    conf.setBoolean("hive.server2.tez.initialize.default.sessions", false);
    conf.set("hive.server2.materializedviews.registry.impl", "DUMMY");
    conf.set("hive.server2.logging.operation.log.location", mkdirs(new File(dir, "operation-logs")).getPath());

    // Embedded metastore (no hive.metastore.uris) on Derby, schema created on first start.
    conf.set("hive.metastore.uris", "");
    conf.set(
        "javax.jdo.option.ConnectionURL",
        "jdbc:derby:;databaseName=" + new File(dir, "metastore_db").getPath() + ";create=true");
    conf.set("javax.jdo.option.ConnectionDriverName", "org.apache.derby.jdbc.EmbeddedDriver");
    conf.setBoolean("datanucleus.schema.autoCreateAll", true);
    conf.setBoolean("hive.metastore.schema.verification", false);
    conf.setBoolean("metastore.schema.verification", false);
    conf.setBoolean("hive.metastore.event.db.notification.api.auth", false);
    conf.setBoolean("hive.compactor.initiator.on", false);
    conf.setInt("hive.compactor.worker.threads", 0);
    conf.setBoolean("hive.metastore.housekeeping.threads.on", false);

    // File systems: the warehouse on the given HDFS, or local.
    if (defaultFs != null) {
      conf.set("fs.defaultFS", defaultFs);
      conf.set("hive.metastore.warehouse.dir", defaultFs + "/user/hive/warehouse");
      conf.set("hive.metastore.warehouse.external.dir", defaultFs + "/user/hive/external");
      conf.set("hive.exec.scratchdir", defaultFs + "/tmp/hive");
    } else {
      conf.set("fs.defaultFS", "file:///");
      conf.set("hive.metastore.warehouse.dir", mkdirs(new File(dir, "warehouse")).toURI().toString());
      conf.set("hive.metastore.warehouse.external.dir", mkdirs(new File(dir, "external")).toURI().toString());
      conf.set("hive.exec.scratchdir", mkdirs(new File(dir, "scratch")).getPath());
    }
    conf.set("hive.exec.local.scratchdir", localScratch.getPath());
    conf.set("hive.downloaded.resources.dir", mkdirs(new File(dir, "resources")).getPath());
    conf.set("hive.querylog.location", mkdirs(new File(dir, "querylog")).getPath());
    conf.set("hadoop.tmp.dir", mkdirs(new File(dir, "hadoop-tmp")).getPath());
    // The test HDFS has one DataNode.
    conf.setInt("dfs.replication", 1);

    // Queries run in this JVM: MapReduce's LocalJobRunner, no YARN, no Tez.
    conf.set("hive.execution.engine", "mr");
    conf.set("mapreduce.framework.name", "local");
    conf.setBoolean("hive.exec.submitviachild", false);
    conf.setBoolean("hive.exec.submit.local.task.via.child", false);
    conf.setBoolean("hive.stats.autogather", false);
    conf.setBoolean("hive.stats.column.autogather", false);
    conf.setBoolean("hive.query.results.cache.enabled", false);
    conf.setBoolean("hive.support.concurrency", false);
    conf.setBoolean("hive.security.authorization.enabled", false);
    conf.set("hive.txn.manager", "org.apache.hadoop.hive.ql.lockmgr.DummyTxnManager");

    File hiveSite = new File(mkdirs(new File(dir, "conf")), "hive-site.xml");
    try (OutputStream out = new FileOutputStream(hiveSite)) {
      conf.writeXml(out);
    }
    HiveConf.setHiveSiteLocation(hiveSite.toURI().toURL());
    MetastoreConf.setHiveSiteLocation(hiveSite.toURI().toURL());
    HiveConf hiveConf = new HiveConf();

    HiveServer2 server = new HiveServer2();
    server.init(hiveConf);
    server.start();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    server.stop();
                  } catch (Throwable t) {
                    t.printStackTrace();
                  }
                },
                "sluice-hs2-stop"));

    long deadline = System.currentTimeMillis() + 300_000;
    while (!accepts(port)) {
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException("HiveServer2 did not open port " + port);
      }
      Thread.sleep(100);
    }
    String json =
        "{\"host\":\"127.0.0.1\",\"port\":"
            + port
            + ",\"authentication\":\""
            + auth
            + "\",\"transport\":\""
            + transport
            + "\",\"warehouse\":\""
            + conf.get("hive.metastore.warehouse.dir")
            + "\",\"pid\":"
            + ProcessHandle.current().pid()
            + "}";
    Path tmp = new File(dir, "endpoints.json.tmp").toPath();
    Files.writeString(tmp, json + "\n", StandardCharsets.UTF_8);
    Files.move(tmp, new File(dir, "endpoints.json").toPath(), StandardCopyOption.ATOMIC_MOVE);
    System.out.println("SLUICE-READY " + json);
    System.out.flush();
  }

  private static boolean accepts(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static File mkdirs(File f) throws IOException {
    if (!f.isDirectory() && !f.mkdirs()) throw new IOException("cannot create " + f);
    return f;
  }
}
