/*
 * A small stateful Flink job of airflow-flink-operator's own, for its real-Flink tests and demo.
 *
 * A checkpointed source emits records for a few keys at a steady pace; a keyed counter (ValueState) counts
 * them; a sink appends "key=<k> count=<n> job=<job id>" lines to a file. After a restore from a savepoint or
 * a retained checkpoint the counts go on from where they were (the source's position and every key's count
 * are in the state); a job started empty counts from 1 again.
 *
 * Arguments: --out FILE (required), --keys N (3), --interval-ms N (50), --limit N (emit N records, then
 * FINISH: a bounded job), --fail-after N (throw after N records: a job that fails while running),
 * --fail-in-main (throw before the job is built: a submission that fails), --count-parallelism N (more than
 * the cluster's slots: the job is RUNNING but its tasks never are, so it cannot take a savepoint).
 */
package airflowflink.jobs;

import java.io.FileWriter;
import java.io.IOException;
import java.io.Writer;
import java.util.HashMap;
import java.util.Map;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.RichSinkFunction;
import org.apache.flink.streaming.api.functions.source.RichSourceFunction;
import org.apache.flink.util.Collector;

public class CounterJob {

    static Map<String, String> parse(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + args[i]);
            }
            String key = args[i].substring(2);
            if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                options.put(key, args[++i]);
            } else {
                options.put(key, "true");
            }
        }
        return options;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = parse(args);
        String out = options.get("out");
        if (out == null) {
            throw new IllegalArgumentException("--out FILE is required");
        }
        int keys = Integer.parseInt(options.getOrDefault("keys", "3"));
        long interval = Long.parseLong(options.getOrDefault("interval-ms", "50"));
        long limit = Long.parseLong(options.getOrDefault("limit", "-1"));
        long failAfter = Long.parseLong(options.getOrDefault("fail-after", "-1"));
        int countParallelism = Integer.parseInt(options.getOrDefault("count-parallelism", "1"));
        if (options.containsKey("fail-in-main")) {
            throw new IllegalArgumentException("CounterJob was told to fail in main (--fail-in-main)");
        }

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.addSource(new Ticks(keys, interval, limit)).name("ticks").uid("ticks").setParallelism(1)
                .keyBy(t -> t.f0)
                .process(new Count(failAfter)).name("count").uid("count").setParallelism(countParallelism)
                .addSink(new AppendLines(out)).name("sink").uid("sink").setParallelism(1);
        env.execute(options.getOrDefault("name", "counter"));
    }

    /** Emits (key, sequence number), round-robin over the keys; its position is checkpointed. */
    public static class Ticks extends RichSourceFunction<Tuple2<String, Long>> implements CheckpointedFunction {
        private final int keys;
        private final long interval;
        private final long limit;
        private volatile boolean running = true;
        private long position;
        private transient ListState<Long> positionState;

        Ticks(int keys, long interval, long limit) {
            this.keys = keys;
            this.interval = interval;
            this.limit = limit;
        }

        @Override
        public void run(SourceContext<Tuple2<String, Long>> ctx) throws Exception {
            while (running && (limit < 0 || position < limit)) {
                synchronized (ctx.getCheckpointLock()) {
                    ctx.collect(Tuple2.of("k" + (position % keys), position));
                    position++;
                }
                if (interval > 0) {
                    Thread.sleep(interval);
                }
            }
        }

        @Override
        public void cancel() {
            running = false;
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) throws Exception {
            positionState.update(java.util.List.of(position));
        }

        @Override
        public void initializeState(FunctionInitializationContext context) throws Exception {
            positionState = context.getOperatorStateStore().getListState(
                    new ListStateDescriptor<>("position", Long.class));
            for (Long restored : positionState.get()) {
                position = restored;
            }
        }
    }

    /** The keyed counter: one ValueState per key. */
    public static class Count extends KeyedProcessFunction<String, Tuple2<String, Long>, String> {
        private final long failAfter;
        private transient ValueState<Long> count;

        Count(long failAfter) {
            this.failAfter = failAfter;
        }

        @Override
        public void open(OpenContext openContext) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Long.class));
        }

        @Override
        public void processElement(Tuple2<String, Long> tick, Context ctx, Collector<String> out) throws Exception {
            if (failAfter >= 0 && tick.f1 >= failAfter) {
                throw new IllegalStateException("CounterJob was told to fail after " + failAfter + " records");
            }
            long next = (count.value() == null ? 0L : count.value()) + 1;
            count.update(next);
            out.collect("key=" + tick.f0 + " count=" + next);
        }
    }

    /** Appends each line (and the Flink job id) to a file and flushes it. */
    public static class AppendLines extends RichSinkFunction<String> {
        private final String path;
        private transient Writer writer;
        private transient String jobId;

        AppendLines(String path) {
            this.path = path;
        }

        @Override
        public void open(OpenContext openContext) throws IOException {
            writer = new FileWriter(path, true);
            jobId = getRuntimeContext().getJobId().toString();
        }

        @Override
        public void invoke(String line, Context context) throws IOException {
            writer.write(line + " job=" + jobId + "\n");
            writer.flush();
        }

        @Override
        public void close() throws IOException {
            if (writer != null) {
                writer.close();
            }
        }
    }
}
