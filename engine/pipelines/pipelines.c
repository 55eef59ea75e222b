/* pipelines.c — the table of pipelines. */
#include "engine/pipelines/pipelines.h"

#include "engine/evtime.h"

#include <string.h>
#include <unistd.h>

void pipeline_params_init(pipeline_params_t *p)
{
    atomic_init(&p->filter_amount, 100.0);
    atomic_init(&p->high_value_amount, 500.0);
    p->window_ms = 30000;
    p->window_slide_ms = 0;
    p->session_gap_ms = 0;
    p->processing_time = false;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    p->workers = cores < 1 ? 1 : cores > 64 ? 64 : (int)cores;
    p->allowed_lateness_ms = 0;
    p->state_ttl_ms = 0;
    p->out_of_orderness_ms = 5000;
    p->idle_timeout_ms = 10000;
    atomic_init(&p->fraud_small, 20.0);
    atomic_init(&p->fraud_large, 800.0);
    atomic_init(&p->fraud_within_ms, 60000);
    atomic_init(&p->video_min_width, 640);
    atomic_init(&p->video_min_height, 480);
    atomic_init(&p->file_min_bytes, 1024.0 * 1024.0);
    p->file_chunk_timeout_ms = 120000;
    p->tap = NULL;
    p->tap_ctx = NULL;
}

const pipeline_def_t pipelines_all[] = {
    {"transactions", "transactions -> processed_transactions, user_aggregations, "
                     "high_value_transactions, category_windows, late_transactions, fraud_alerts",
     pipeline_transactions},
    {"video", "video_frames -> processed_video_frames, video_source_aggregations, "
              "video_resolution_windows",
     pipeline_video},
    {"files", "uploaded_documents, uploaded_videos, uploaded_images -> processed_files, "
              "file_type_aggregations, uploaded_files.dlq (chunks reassembled)",
     pipeline_files},
    {0},
};

json_t *pipeline_now_string(void)
{
    char ts[EVTIME_BUFSIZE];
    return json_string(evtime_format_us(evtime_now_us(), ts));
}

const pipeline_def_t *pipelines_find(const char *name)
{
    for (const pipeline_def_t *p = pipelines_all; p->name; p++)
        if (!strcmp(p->name, name))
            return p;
    return NULL;
}

typedef struct job_arg {
    const pipeline_def_t *def;
    pipeline_params_t *params;
} job_arg_t;

static df_graph_t *build_one(const df_host_t *host, void *arg)
{
    const job_arg_t *a = arg;
    return a->def->build(host, a->params);
}

df_job_t *pipeline_job(const pipeline_def_t *def, pipeline_params_t *params, const df_host_t *host,
                       bool event_clock)
{
    job_arg_t a = {def, params};
    return df_job_new(build_one, &a, params->workers, host, event_clock);
}
