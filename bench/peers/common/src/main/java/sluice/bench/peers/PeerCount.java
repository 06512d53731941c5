package sluice.bench.peers;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What each peer harness of `npm run bench:peers` shares: its key=value arguments, the row changes it has
 * been handed counted by kind, and the end of the run. The harness calls {@link #started()} just before
 * it starts the peer, and {@link #add} for the rows of each change it is handed; once the expected number
 * has come, one line of JSON goes to stdout and the JVM halts at once (a peer's orderly shutdown is not
 * part of what is measured). If no row comes for idleSeconds, the line is printed with what came, marked
 * incomplete, so that the benchmark fails with both counts instead of waiting for ever.
 */
public final class PeerCount {
  private final Map<String, String> args = new HashMap<>();
  private final long expected;
  private final long idleNanos;
  private final AtomicLong inserts = new AtomicLong();
  private final AtomicLong updates = new AtomicLong();
  private final AtomicLong deletes = new AtomicLong();
  /** Changes of a kind the workload never makes (a snapshot's reads, say): they make the count wrong. */
  private final AtomicLong others = new AtomicLong();
  private final AtomicLong total = new AtomicLong();
  private volatile long startedNanos;
  private volatile long firstNanos;
  private volatile long lastNanos;
  private boolean finished;

  public PeerCount(String[] argv) {
    for (String arg : argv) {
      int eq = arg.indexOf('=');
      if (eq < 1) throw new IllegalArgumentException("expected key=value, not " + arg);
      args.put(arg.substring(0, eq), arg.substring(eq + 1));
    }
    expected = Long.parseLong(arg("expected"));
    idleNanos = Long.parseLong(args.getOrDefault("idleSeconds", "60")) * 1_000_000_000L;
  }

  public String arg(String name) {
    String value = args.get(name);
    if (value == null) throw new IllegalArgumentException("missing argument " + name + "=...");
    return value;
  }

  /** Marks the start of the timed part and starts the idle watchdog. */
  public void started() {
    startedNanos = System.nanoTime();
    lastNanos = startedNanos;
    Thread watchdog = new Thread(() -> {
      for (;;) {
        try {
          Thread.sleep(500);
        } catch (InterruptedException e) {
          return;
        }
        if (System.nanoTime() - lastNanos > idleNanos) finish(false);
      }
    }, "peer-count-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
  }

  /** `rows` row changes of one kind: 'insert', 'update', 'delete' (anything else counts as wrong). Thread-safe. */
  public void add(String kind, long rows) {
    long now = System.nanoTime();
    if (firstNanos == 0) firstNanos = now;
    lastNanos = now;
    switch (kind) {
      case "insert" -> inserts.addAndGet(rows);
      case "update" -> updates.addAndGet(rows);
      case "delete" -> deletes.addAndGet(rows);
      default -> others.addAndGet(rows);
    }
    if (total.addAndGet(rows) >= expected) finish(true);
  }

  /** The peer gave up (its engine stopped, say): the line goes out with what came, marked incomplete. */
  public void stopped(String why) {
    System.err.println("peer stopped: " + why);
    finish(false);
  }

  private synchronized void finish(boolean complete) {
    if (finished) return;
    finished = true;
    long end = complete ? System.nanoTime() : lastNanos;
    String json = String.format(Locale.ROOT,
        "{\"complete\":%b,\"changes\":%d,\"insert\":%d,\"update\":%d,\"delete\":%d,\"other\":%d,\"seconds\":%.3f,\"firstChangeSeconds\":%.3f}",
        complete, total.get(), inserts.get(), updates.get(), deletes.get(), others.get(),
        (end - startedNanos) / 1e9, firstNanos == 0 ? -1.0 : (firstNanos - startedNanos) / 1e9);
    System.out.println(json);
    System.out.flush();
    Runtime.getRuntime().halt(complete ? 0 : 3);
  }
}
