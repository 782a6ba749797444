/*
 * airflow-flink-operator's own SQL runner, behaving like the Flink Kubernetes Operator's
 * flink-sql-runner-example (examples/flink-sql-runner-example, SqlRunner): one argument, the script file;
 * comments removed; statements end with ';' at the end of a line, and an EXECUTE STATEMENT SET block runs
 * until "END;"; SET 'key' = 'value'; sets table configuration; every other statement goes to executeSql.
 */
package airflowflink.jobs;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.table.api.TableEnvironment;

public class SqlRunner {
    private static final Pattern SET = Pattern.compile("SET\\s+'(\\S+)'\\s+=\\s+'(.*)';", Pattern.CASE_INSENSITIVE);
    private static final Pattern LINE_COMMENT = Pattern.compile("--[^\\n]*");
    private static final Pattern BLOCK_COMMENT = Pattern.compile("/\\*.*?\\*/", Pattern.DOTALL);

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            throw new IllegalArgumentException("Exactly one argument is expected: the SQL script file.");
        }
        String script = new String(Files.readAllBytes(Paths.get(args[0])), StandardCharsets.UTF_8);
        TableEnvironment tableEnv = TableEnvironment.create(new Configuration());
        for (String statement : statements(script)) {
            Matcher set = SET.matcher(statement.trim());
            if (set.matches()) {
                tableEnv.getConfig().getConfiguration().setString(set.group(1), set.group(2));
            } else {
                tableEnv.executeSql(statement);
            }
        }
    }

    static List<String> statements(String script) {
        String text = BLOCK_COMMENT.matcher(LINE_COMMENT.matcher(script.trim()).replaceAll("")).replaceAll("").trim();
        if (!text.endsWith(";")) {
            text = text + ";";
        }
        List<String> statements = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        boolean inSet = false;
        for (String line : text.split("\n")) {
            String trimmed = line.trim();
            if (trimmed.isEmpty()) {
                continue;
            }
            if (trimmed.toUpperCase().startsWith("EXECUTE STATEMENT SET")) {
                inSet = true;
            }
            current.append(trimmed).append("\n");
            if (trimmed.endsWith(";") && (!inSet || trimmed.equalsIgnoreCase("END;"))) {
                statements.add(current.toString());
                current = new StringBuilder();
                inSet = false;
            }
        }
        return statements;
    }
}
