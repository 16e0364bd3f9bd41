/* search_results.h — what `siglip search` found, as its printers (text, JSON, HTML) read it. */
#ifndef SIGLIP_SEARCH_RESULTS_H
#define SIGLIP_SEARCH_RESULTS_H

#include <math.h>

#include "topk.h"

typedef struct SearchQuery {
    const char *text;       /* the query text, or the query image's path */
    int is_image;
} SearchQuery;

typedef struct SearchResults {
    const char *index_path;
    const char *model_name;
    size_t n_indexed;       /* rows searched */
    const SearchQuery *queries;
    int n_queries;
    int k;                  /* hits per query */
    const TopkHit *hits;    /* [n_queries, k], best first */
    char *const *paths;     /* path of each row of the index matrix */
    double logit_scale;     /* exp() applied */
    double logit_bias;
} SearchResults;

/* The model's probability that image and query match: sigmoid(logit_scale · cos + logit_bias), as
 * SigLIP was trained (and as `siglip classify` scores a label). logit_scale has exp() applied. */
static inline double search_probability(double logit_scale, double logit_bias, double cosine)
{
    return 1.0 / (1.0 + exp(-(logit_scale * cosine + logit_bias)));
}

static inline double search_score(const SearchResults *r, double cosine)
{
    return search_probability(r->logit_scale, r->logit_bias, cosine);
}

/* Writes a self-contained HTML page of the results: each hit as a JPEG thumbnail (at most 256
 * pixels a side; a JPEG's Exif orientation kept) embedded as a data: URI, with rank, score, cosine
 * and path linked to the file.
 * A file the page can't show gets a "no preview" box instead. Prints the error and returns
 * CLI_ERROR when the page can't be written. */
int html_write_results(const char *path, const SearchResults *r);

#endif /* SIGLIP_SEARCH_RESULTS_H */
