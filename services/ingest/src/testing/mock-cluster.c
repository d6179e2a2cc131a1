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
 *   produce <topic> <batch> <file>     produce every record of <file> (see produce_file) and
 *                                      answer once all of them are acknowledged
 * End of input (the parent exited or closed the pipe) destroys the cluster and exits.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void count_failure(rd_kafka_t *rk, const rd_kafka_message_t *message, void *opaque) {
  (void)rk;
  if (message->err) (*(long *)opaque)++;
}

/* Reads a whole file into memory; NULL if it cannot. */
static unsigned char *read_file(const char *path, long *size) {
  FILE *file = fopen(path, "rb");
  if (!file) return NULL;
  fseek(file, 0, SEEK_END);
  *size = ftell(file);
  fseek(file, 0, SEEK_SET);
  unsigned char *data = malloc((size_t)*size + 1);
  if (data && fread(data, 1, (size_t)*size, file) != (size_t)*size) {
    free(data);
    data = NULL;
  }
  fclose(file);
  return data;
}

/*
 * The next (uint32 key length, key, uint32 value length, value) record at *at, little
 * endian; 0 at the end of the data, -1 if the record runs past it.
 */
static int next_record(const unsigned char *data, long size, long *at, const void **key,
                       uint32_t *key_length, const void **value, uint32_t *value_length) {
  if (*at == size) return 0;
  if (*at + 4 > size) return -1;
  memcpy(key_length, data + *at, 4);
  if (*at + 8 + (long)*key_length > size) return -1;
  memcpy(value_length, data + *at + 4 + *key_length, 4);
  long end = *at + 8 + (long)*key_length + (long)*value_length;
  if (end > size) return -1;
  *key = data + *at + 4;
  *value = data + *at + 8 + *key_length;
  *at = end;
  return 1;
}

/*
 * A producer that waits for every replica (acks=all) and puts at most <batch> messages of a
 * partition in one request; linger.ms lets each batch fill up, because the mock broker
 * returns one producer batch per partition per fetch.
 */
static rd_kafka_t *new_producer(const char *bootstraps, int batch, long *failures,
                                char *reason, size_t reason_size) {
  char batch_text[32];
  snprintf(batch_text, sizeof(batch_text), "%d", batch);
  const char *settings[][2] = {
      {"bootstrap.servers", bootstraps},         {"acks", "all"},
      {"batch.num.messages", batch_text},        {"batch.size", "1000000000"},
      {"message.max.bytes", "1000000000"},       {"linger.ms", "100"},
      {"queue.buffering.max.kbytes", "2097151"}, {"log_level", "3"},
  };
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
    if (rd_kafka_conf_set(conf, settings[i][0], settings[i][1], reason, reason_size)) {
      rd_kafka_conf_destroy(conf);
      return NULL;
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, count_failure);
  rd_kafka_conf_set_opaque(conf, failures);
  return rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, reason_size);
}

/*
 * The benchmark's load generator: librdkafka produces in C what kafkajs would produce in
 * JavaScript at several times the CPU cost, which the service under test would then lose on
 * a small machine. Produces every record of <path> to <topic> and returns once all are
 * acknowledged: NULL on success, else what went wrong.
 */
static const char *produce_file(const char *bootstraps, const char *topic, int batch,
                                const char *path) {
  static char reason[600];
  long size;
  unsigned char *data = read_file(path, &size);
  if (!data) return "cannot read the file";
  long failures = 0;
  rd_kafka_t *producer = new_producer(bootstraps, batch, &failures, reason, sizeof(reason));
  if (!producer) {
    free(data);
    return reason;
  }

  // Learn the topic's partitions and leaders before the first message, so that no message
  // waits for the producer to discover them.
  const char *error = NULL;
  rd_kafka_topic_t *handle = rd_kafka_topic_new(producer, topic, NULL);
  const struct rd_kafka_metadata *metadata;
  if (rd_kafka_metadata(producer, 0, handle, &metadata, 10000)) error = "no metadata in 10 s";
  else rd_kafka_metadata_destroy(metadata);
  rd_kafka_topic_destroy(handle);

  long at = 0;
  const void *key, *value;
  uint32_t key_length, value_length;
  int found;
  while (!error && (found = next_record(data, size, &at, &key, &key_length, &value,
                                        &value_length)) != 0) {
    if (found < 0) {
      error = "truncated record";
      break;
    }
    // Flags 0, no copy: `data` outlives every message and is freed after the flush.
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(0),
                                    RD_KAFKA_V_KEY(key, key_length),
                                    RD_KAFKA_V_VALUE((void *)value, value_length),
                                    RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer, 10);
    }
    if (err) error = rd_kafka_err2str(err);
  }
  if (rd_kafka_flush(producer, 120000) && !error) error = "not acknowledged within 120 s";
  if (!error && failures) {
    snprintf(reason, sizeof(reason), "%ld messages not delivered", failures);
    error = reason;
  }
  rd_kafka_destroy(producer);
  free(data);
  return error;
}

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
    char name[512], path[512];
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
    } else if (sscanf(line, "produce %511s %d %511s", name, &a, path) == 3) {
      const char *error = produce_file(rd_kafka_mock_cluster_bootstraps(cluster), name, a, path);
      if (error) printf("error %s\n", error);
      else printf("ok\n");
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
