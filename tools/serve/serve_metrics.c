/* serve_metrics.c — counters of `siglip serve` in the Prometheus text exposition format: requests
 * by endpoint and status, request latency, device batch sizes, queue depth. */
#include <stdlib.h>
#include <string.h>

#include "serve.h"

/* Upper bounds of the latency histogram's buckets, in seconds (+Inf is implied). */
static const double latency_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
#define N_LATENCY (sizeof latency_bounds / sizeof latency_bounds[0])

/* Status codes counted one by one; others go to "other". */
static const int statuses[] = {200, 400, 401, 404, 405, 413, 422, 500, 503, 504};
#define N_STATUS (sizeof statuses / sizeof statuses[0])

/* Each endpoint's path: its metrics label, and what endpoint_find matches a URL with. */
static const char *const endpoint_names[EP_COUNT] = {"/v1/embeddings", "/v1/classify",
                                                     "/v1/models", "/health", "/metrics",
                                                     "/v1/search", "/predict", "/ping", "/",
                                                     "/v1/models/{id}", "other"};

Endpoint endpoint_find(const char *url, int immich)
{
    for (int e = 0; e < EP_MODEL; e++)
        if (!strcmp(url, endpoint_names[e]) && (immich || !endpoint_is_immich((Endpoint)e)))
            return (Endpoint)e;
    /* Any id: an unknown one is answered 404 with OpenAI's "model_not_found". */
    if (!strncmp(url, "/v1/models/", 11))
        return EP_MODEL;
    return EP_OTHER;
}

struct Metrics {
    pthread_mutex_t lock;
    uint64_t requests[EP_COUNT][N_STATUS + 1];
    uint64_t latency[EP_COUNT][N_LATENCY + 1]; /* per bucket, not cumulative */
    double latency_sum[EP_COUNT];
};

Metrics *metrics_create(void)
{
    Metrics *m = calloc(1, sizeof *m);
    if (m && pthread_mutex_init(&m->lock, NULL)) {
        free(m);
        return NULL;
    }
    return m;
}

void metrics_free(Metrics **m)
{
    if (!m || !*m)
        return;
    pthread_mutex_destroy(&(*m)->lock);
    free(*m);
    *m = NULL;
}

void metrics_request(Metrics *m, Endpoint ep, int status, double seconds)
{
    size_t s = 0, b = 0;
    while (s < N_STATUS && statuses[s] != status)
        s++;
    while (b < N_LATENCY && seconds > latency_bounds[b])
        b++;
    pthread_mutex_lock(&m->lock);
    m->requests[ep][s]++;
    m->latency[ep][b]++;
    m->latency_sum[ep] += seconds;
    pthread_mutex_unlock(&m->lock);
}

void metrics_write(Metrics *m, FILE *f, const BatcherStats *b, int in_flight)
{
    Metrics c;
    pthread_mutex_lock(&m->lock);
    memcpy(c.requests, m->requests, sizeof c.requests);
    memcpy(c.latency, m->latency, sizeof c.latency);
    memcpy(c.latency_sum, m->latency_sum, sizeof c.latency_sum);
    pthread_mutex_unlock(&m->lock);

    fprintf(f, "# HELP siglip_requests_total HTTP requests answered, by endpoint and status.\n"
               "# TYPE siglip_requests_total counter\n");
    for (int e = 0; e < EP_COUNT; e++)
        for (size_t s = 0; s <= N_STATUS; s++) {
            if (!c.requests[e][s])
                continue;
            char code[8];
            if (s < N_STATUS)
                snprintf(code, sizeof code, "%d", statuses[s]);
            else
                snprintf(code, sizeof code, "other");
            fprintf(f, "siglip_requests_total{endpoint=\"%s\",status=\"%s\"} %llu\n",
                    endpoint_names[e], code, (unsigned long long)c.requests[e][s]);
        }
    fprintf(f, "# HELP siglip_request_duration_seconds Time from a request's headers to its "
               "answer.\n# TYPE siglip_request_duration_seconds histogram\n");
    for (int e = 0; e < EP_COUNT; e++) {
        uint64_t cum = 0;
        for (size_t k = 0; k <= N_LATENCY; k++) {
            cum += c.latency[e][k];
            if (k < N_LATENCY)
                fprintf(f, "siglip_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} "
                        "%llu\n", endpoint_names[e], latency_bounds[k], (unsigned long long)cum);
        }
        fprintf(f, "siglip_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %llu\n"
                   "siglip_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n"
                   "siglip_request_duration_seconds_count{endpoint=\"%s\"} %llu\n",
                endpoint_names[e], (unsigned long long)cum, endpoint_names[e], c.latency_sum[e],
                endpoint_names[e], (unsigned long long)cum);
    }
    fprintf(f, "# HELP siglip_batch_size Items per device call.\n"
               "# TYPE siglip_batch_size histogram\n");
    uint64_t cum = 0;
    for (int k = 0; k < 8; k++) {
        cum += b->batch_hist[k];
        fprintf(f, "siglip_batch_size_bucket{le=\"%d\"} %llu\n", 1 << k, (unsigned long long)cum);
    }
    cum += b->batch_hist[8];
    fprintf(f, "siglip_batch_size_bucket{le=\"+Inf\"} %llu\nsiglip_batch_size_sum %llu\n"
               "siglip_batch_size_count %llu\n",
            (unsigned long long)cum, (unsigned long long)b->items, (unsigned long long)b->batches);
    fprintf(f, "# HELP siglip_queue_items Items waiting for the device.\n"
               "# TYPE siglip_queue_items gauge\nsiglip_queue_items %d\n"
               "# HELP siglip_admitted_items Items admitted and not yet answered.\n"
               "# TYPE siglip_admitted_items gauge\nsiglip_admitted_items %d\n"
               "# HELP siglip_queue_capacity_items The most items admitted at once (--queue).\n"
               "# TYPE siglip_queue_capacity_items gauge\nsiglip_queue_capacity_items %d\n"
               "# HELP siglip_requests_in_flight Requests received and not yet answered.\n"
               "# TYPE siglip_requests_in_flight gauge\nsiglip_requests_in_flight %d\n",
            b->queued_items, b->reserved_items, b->capacity, in_flight);
}
