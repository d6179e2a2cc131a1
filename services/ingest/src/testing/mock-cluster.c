/*
 * A librdkafka mock Kafka cluster for the ingest tests, driven over stdin.
 *
 * kcat can start the same mock cluster (`-X test.mock.num.brokers=3`), but it auto-creates
 * topics with 4 partitions and cannot inject errors; the rd_kafka_mock_* API can do both.
 * Compiled at test time by src/testing/mockKafka.ts with the system's cc and librdkafka-dev.
 *
 * Protocol: the first stdout line is `bootstrap <host:port,...>`. Each stdin line is a
 * command answered by one line, `ok` or `error <reason>`:
 *   topic <name> <partitions>          create a topic (replication factor = broker count)
 *   error <api-key> <count> <code>     fail the next <count> requests of that API with <code>
 *   clear <api-key>                    drop the errors still queued for that API
 * End of input (the parent exited or closed the pipe) destroys the cluster and exits.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  int brokers = argc > 1 ? atoi(argv[1]) : 3;
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fprintf(stderr, "mock-cluster: %s\n", errstr);
    return 1;
  }

  rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (!cluster) {
    fprintf(stderr, "mock-cluster: cannot create the cluster\n");
    return 1;
  }
  printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  fflush(stdout);

  char line[1024];
  while (fgets(line, sizeof(line), stdin)) {
    char name[512];
    int a, b, c;
    if (sscanf(line, "topic %511s %d", name, &a) == 2) {
      rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, name, a, brokers);
      if (err) printf("error %s\n", rd_kafka_err2str(err));
      else printf("ok\n");
    } else if (sscanf(line, "error %d %d %d", &a, &b, &c) == 3) {
      rd_kafka_resp_err_t *errors = calloc((size_t)b, sizeof(*errors));
      for (int i = 0; i < b; i++) errors[i] = (rd_kafka_resp_err_t)c;
      rd_kafka_mock_push_request_errors_array(cluster, (int16_t)a, (size_t)b, errors);
      free(errors);
      printf("ok\n");
    } else if (sscanf(line, "clear %d", &a) == 1) {
      rd_kafka_mock_clear_request_errors(cluster, (int16_t)a);
      printf("ok\n");
    } else {
      printf("error unknown command\n");
    }
    fflush(stdout);
  }

  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
