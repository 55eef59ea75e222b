/* flinkrest.h — a client of Apache Flink's REST API (the jobmanager's, port 8081 by
 * default): the jobs with their state and uptime, each job's graph of vertices (a vertex
 * is a chain of operators run as one task) with records in/out, rates, the current
 * watermark and the backpressure level, and cancelling a job.
 *
 * Which endpoints (Flink 2.2; the replies are recorded in tests/fixtures/flinkrest/):
 *   GET   /jobs/overview                                 jobs, state, start time
 *   GET   /jobs/:jid                                     vertices, parallelism, plan edges
 *   GET   /jobs/:jid/vertices/:vid/subtasks/metrics      names of the metrics (summed over
 *   GET   .../subtasks/metrics?get=A,B&agg=min,sum        the subtasks) and their values
 *   GET   /jobs/:jid/vertices/:vid/backpressure          ok / low / high and the ratio
 *   PATCH /jobs/:jid?mode=cancel                         cancel
 *
 * Records in of a source vertex come from its source operator's numRecordsOut (a task
 * that reads no network input counts 0 in numRecordsIn); the watermark of a vertex is
 * its task's currentInputWatermark (the slowest subtask), or for a source vertex the
 * watermark its chain emits (the highest currentOutputWatermark of its operators, the
 * slowest subtask).
 *
 * Blocking (libcurl): call from a CLI command or a background thread (flinkmon.h),
 * never the TUI thread.  A flinkrest_t is used by one thread at a time. */
#ifndef STREAMLAB_FLINKREST_H
#define STREAMLAB_FLINKREST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define FLINKREST_MAX_JOBS 16
#define FLINKREST_MAX_VERTICES 16
#define FLINKREST_MAX_INPUTS 4
/* No watermark yet (Flink reports Long.MIN_VALUE), or not known. */
#define FLINKREST_NO_WATERMARK INT64_MIN
/* What the calls below return when no HTTP answer came (refused, timeout, bad URL);
 * -1 is an answer with an error (Flink's text in err). */
#define FLINKREST_UNREACHABLE (-2)

typedef struct flinkrest flinkrest_t;

typedef struct flink_vertex {
    char id[40];
    char name[640];    /* "Source: src[1] -> Calc[2] -> ..." (cut if longer) */
    char status[16];   /* RUNNING, FINISHED, ... */
    int parallelism;
    int depth;         /* longest path from a source vertex (0 for sources) */
    int ninputs;
    int inputs[FLINKREST_MAX_INPUTS]; /* indexes of the vertices it reads from */
    int has_metrics;   /* 0: the job is not running, the numbers below are 0 */
    uint64_t in, out;  /* records, summed over the subtasks */
    double in_rate, out_rate; /* records/s (Flink's own one-minute meters) */
    int64_t watermark_ms;     /* FLINKREST_NO_WATERMARK when none */
    char backpressure[8];     /* "ok", "low", "high" or "" (not sampled) */
    double backpressure_ratio; /* the highest subtask's share of time backpressured */
} flink_vertex_t;

typedef struct flink_job {
    char id[40];
    char name[128];
    char state[16];      /* RUNNING, CANCELED, FINISHED, FAILED, ... */
    int64_t start_ms;    /* epoch ms */
    int64_t duration_ms; /* running time (up to now, or to its end) */
    int nvertices;
    flink_vertex_t v[FLINKREST_MAX_VERTICES]; /* in topological order */
} flink_job_t;

typedef struct flink_jobs {
    int njobs;  /* RUNNING ones first, then the newest */
    int more;   /* jobs left out beyond FLINKREST_MAX_JOBS */
    flink_job_t jobs[FLINKREST_MAX_JOBS];
} flink_jobs_t;

/* A client of the REST API at base ("http://127.0.0.1:8081", "localhost:8081"); each
 * request gives up after timeout_ms.  Copies base. */
flinkrest_t *flinkrest_new(const char *base, long timeout_ms);
void flinkrest_free(flinkrest_t *fr);

/* Saves every reply as DIR/<flinkrest_fixture_name>.json, an error reply as
 * DIR/<name>.<status>.json (the format of tests/fixtures/flinkrest/); NULL stops.
 * Copies dir. */
void flinkrest_record(flinkrest_t *fr, const char *dir);
/* The file name (no ".json") a request is recorded under: the method unless GET, then
 * the path and query with each byte that is not a letter or digit as '_'; a long one is
 * cut and gets a hash of the whole.  size >= 160. */
void flinkrest_fixture_name(const char *method, const char *path, char *buf, size_t size);

/* Reads the jobs (with vertices and, for RUNNING jobs, their metrics) into *out.
 * 0, FLINKREST_UNREACHABLE ("... Connection refused" in err) or -1 with Flink's
 * error text in err.  A job whose detail fails is kept with its overview only. */
int flinkrest_jobs(flinkrest_t *fr, flink_jobs_t *out, char *err, size_t errlen);

/* One job (with vertices and metrics) into *out: 0, FLINKREST_UNREACHABLE, or -1 with
 * Flink's message ("Job ... not found") in err. */
int flinkrest_job(flinkrest_t *fr, const char *jid, flink_job_t *out, char *err, size_t errlen);

/* Asks Flink to cancel jid (PATCH /jobs/:jid?mode=cancel): 0 when accepted,
 * FLINKREST_UNREACHABLE, or -1 with Flink's message in err (e.g. "Could not find Flink
 * job (...)"). */
int flinkrest_cancel(flinkrest_t *fr, const char *jid, char *err, size_t errlen);

/* True for the states a job does not leave (FINISHED, CANCELED, FAILED, SUSPENDED). */
int flinkrest_state_is_final(const char *state);

/* The jobs as JSON for scripts (`streamlab flink jobs --json`): a new reference.
 * Watermarks as epoch ms and ISO-8601 UTC text, null when none. */
json_t *flinkrest_jobs_json(const flink_jobs_t *jobs, const char *base);

#endif
