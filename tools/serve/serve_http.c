/* serve_http.c — the HTTP side of `siglip serve` on libmicrohttpd: routing, bearer-token checks,
 * framing checks, bounded request bodies, deadlines for slow clients, answers, and draining on
 * shutdown. One thread per connection (bounded by --max-connections) so a request may block while
 * the device works for it; a watchdog thread closes connections that miss their deadline. */
#include <arpa/inet.h>
#include <ctype.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "../cli.h"
#include "serve.h"

/* One open connection as the watchdog sees it (its MHD socket context). */
typedef struct Conn {
    int fd;
    double deadline;           /* cli_now() seconds after which it is closed; 0 = none */
    int shut;                  /* the watchdog has shut its socket down */
    struct Conn *prev, *next;
} Conn;

struct Server {
    ServeConfig cfg;
    const Service *svc;
    Metrics *metrics;
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;
    pthread_cond_t idle;       /* in_flight dropped to 0 */
    int in_flight;             /* requests whose headers arrived and that are not yet closed */
    /* Request body bytes held (reserved) by all connections together, at most
     * cfg.max_body_total: each connection may hold --max-body for --timeout-ms, and a thousand
     * of them would otherwise hold tens of GiB. */
    size_t body_bytes;
    int draining;
    /* The watchdog: a trickling client keeps MHD's idle timer from ever firing, so deadlines
     * that do not move with each byte are enforced here, under `lock`. */
    Conn *conns;
    pthread_t watchdog;
    int watchdog_stop;
    pthread_cond_t watchdog_wake;
};

/* One request's state across the handler's calls. */
typedef struct Req {
    double t0;
    Endpoint ep;
    unsigned char *body;
    size_t len, cap;
    size_t dropped;            /* body bytes thrown away after the limit was passed */
    int too_large;
    int over_budget;           /* a chunked body outgrew --max-body-total: 503, body dropped */
    size_t reserved;           /* bytes of s->body_bytes this request holds */
    int shed;                  /* the queue was full when the headers came: 503, body dropped */
    int complete;              /* the whole body has arrived */
    int answered;
    int has_body;              /* Content-Length > 0 or chunked: bytes follow the head */
    /* An answer decided from the head of a request without a body, sent once MHD has read the
     * (empty) body: answered then, the connection can stay open for the next request. */
    int pending_status;
    char pending_msg[160];
    char *model_id;            /* GET /v1/models/{id}: the id (owned) */
} Req;

/* Sets the deadline of connection c (0 = none): the watchdog closes it once that passes. */
static void conn_set_deadline(Server *s, struct MHD_Connection *c, double deadline)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    Conn *conn = info ? info->socket_context : NULL;
    if (!conn)
        return;
    pthread_mutex_lock(&s->lock);
    conn->deadline = deadline;
    pthread_mutex_unlock(&s->lock);
}

/* MHD_OPTION_NOTIFY_CONNECTION: a new connection must deliver its first request head within
 * --header-timeout; a closed one leaves the list. MHD calls CLOSED before it closes the socket,
 * and the watchdog only shuts a listed socket down under the same lock, so it never touches a
 * descriptor that was closed (and maybe reused). */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    Server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        Conn *conn = info ? calloc(1, sizeof *conn) : NULL;
        if (!conn)
            return; /* unwatched: MHD's idle timeout still applies */
        conn->fd = info->connect_fd;
        conn->deadline = cli_now() + s->cfg.header_timeout_s;
        pthread_mutex_lock(&s->lock);
        conn->next = s->conns;
        if (s->conns)
            s->conns->prev = conn;
        s->conns = conn;
        pthread_mutex_unlock(&s->lock);
        *socket_context = conn;
        return;
    }
    Conn *conn = *socket_context;
    if (!conn)
        return;
    pthread_mutex_lock(&s->lock);
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        s->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    pthread_mutex_unlock(&s->lock);
    free(conn);
    *socket_context = NULL;
}

/* Shuts down the sockets of connections past their deadline, four times a second: the
 * connection's own thread then reads end-of-stream (or fails to send) and closes it. */
static void *watchdog_main(void *arg)
{
    Server *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->watchdog_stop) {
        struct timespec ts;
        double now = cli_now();
        for (Conn *conn = s->conns; conn; conn = conn->next) {
            if (conn->deadline > 0 && now > conn->deadline && !conn->shut) {
                shutdown(conn->fd, SHUT_RDWR);
                conn->shut = 1;
            }
        }
        serve_timespec(now + 0.25, &ts);
        pthread_cond_timedwait(&s->watchdog_wake, &s->lock, &ts);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static enum MHD_Result send_reply(Server *s, struct MHD_Connection *c, Req *r, Reply *rep)
{
    r->answered = 1;
    metrics_request(s->metrics, r->ep, rep->status, cli_now() - r->t0);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(rep->len, rep->body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(rep->body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->type);
    if (rep->status == 503)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (rep->status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (rep->status == 405)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
                                endpoint_is_work(r->ep) ? "POST" : "GET, HEAD");
    pthread_mutex_lock(&s->lock);
    int draining = s->draining;
    pthread_mutex_unlock(&s->lock);
    /* An answer with the rest of its body unread, or during shutdown, ends the connection (a
     * request without a body is answered complete: see head_error). */
    if (draining || !r->complete)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)rep->status, resp);
    MHD_destroy_response(resp);
    /* A client that does not take its answer is not waited for longer than a request lasts. */
    conn_set_deadline(s, c, cli_now() + s->cfg.timeout_ms / 1000.0);
    return ret;
}

static enum MHD_Result send_error(Server *s, struct MHD_Connection *c, Req *r, int status,
                                  const char *msg)
{
    Reply rep;
    reply_error(&rep, status, "%s", msg);
    return rep.body ? send_reply(s, c, r, &rep) : MHD_NO;
}

/* Compares the whole expected token whatever the input, so the time taken tells nothing about
 * how much of it matched. */
static int token_matches(const char *given, const char *expected)
{
    size_t gl = strlen(given), el = strlen(expected);
    volatile unsigned char diff = (unsigned char)(gl != el);
    for (size_t i = 0; i < el; i++)
        diff |= (unsigned char)(expected[i] ^ (i < gl ? given[i] : 0));
    return diff == 0;
}

static int authorized(const Server *s, struct MHD_Connection *c)
{
    if (!s->cfg.api_key)
        return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7))
        return 0;
    return token_matches(h + 7, s->cfg.api_key);
}

/* The header fields that frame a request's body, counted (repeated fields stay separate). */
typedef struct Framing {
    int n_length, n_coding, n_host;
    const char *coding;        /* the Transfer-Encoding value */
    const char *length;        /* the Content-Length value */
    const char *bad_name;      /* the first field name that is not a token, or NULL */
} Framing;

/* Whether name is an RFC 9110 §5.6.2 token (tchar+): what a field name must be. */
static int is_token(const char *name)
{
    if (!*name)
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (!(isalnum(*p) && *p < 128) && !strchr("!#$%&'*+-.^_`|~", *p))
            return 0;
    return 1;
}

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    Framing *f = cls;
    (void)kind;
    if (!f->bad_name && !is_token(key))
        f->bad_name = key;
    if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH))
        f->n_length++, f->length = value;
    else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING))
        f->n_coding++, f->coding = value;
    else if (!strcasecmp(key, MHD_HTTP_HEADER_HOST))
        f->n_host++;
    return MHD_YES;
}

/* Why the head's framing is refused (RFC 9112 §3.2, §6.1, §6.3), or NULL; *status is 400, or
 * 501 for a transfer coding other than chunked. libmicrohttpd would take the first of two
 * Content-Lengths, or let Transfer-Encoding win over Content-Length: a proxy in front that reads
 * the other one would see another request boundary (request smuggling). */
static const char *framing_error(struct MHD_Connection *c, const char *version, int *status,
                                 int *has_body)
{
    Framing f = {0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, &f);
    int http11 = !strcmp(version, MHD_HTTP_VERSION_1_1);
    *status = 400;
    *has_body = f.n_coding || (f.length && strtoull(f.length, NULL, 10) > 0);
    /* RFC 9112 §5.1: no whitespace between a field name and its colon. libmicrohttpd keeps such
     * a name, space and all ("Content-Length "), so the checks below would not see the field,
     * while a proxy that trims it would frame the body by it: the body would then be read here
     * as a second, smuggled request. */
    if (f.bad_name)
        return "a header field name holds a space or a character that a field name cannot hold "
               "(RFC 9112 section 5.1)";
    if (f.n_length > 1)
        return "more than one Content-Length header";
    if (f.n_coding && f.n_length)
        return "both Transfer-Encoding and Content-Length";
    if (f.n_coding && !http11)
        return "Transfer-Encoding in an HTTP/1.0 request";
    if (f.n_coding > 1)
        return "more than one Transfer-Encoding header";
    if (f.n_coding && strcasecmp(f.coding, "chunked")) {
        *status = 501;
        return "the only transfer coding accepted is chunked";
    }
    if (http11 && f.n_host != 1)
        return "an HTTP/1.1 request needs exactly one Host header";
    return NULL;
}

/* Answers an error decided from the head: at once when a body follows (the rest of it is then
 * not read, and the connection closes), else once MHD has read the empty body, which lets the
 * connection stay open for a pipelined or kept-alive next request. */
static enum MHD_Result head_error(Server *s, struct MHD_Connection *c, Req *r, int status,
                                  const char *msg)
{
    if (r->has_body)
        return send_error(s, c, r, status, msg);
    r->pending_status = status;
    snprintf(r->pending_msg, sizeof r->pending_msg, "%s", msg);
    return MHD_YES;
}

/* Reserves n more body bytes for r within --max-body-total; 0, or -1 when they do not fit. */
static int body_reserve(Server *s, Req *r, size_t n)
{
    pthread_mutex_lock(&s->lock);
    int fits = n <= s->cfg.max_body_total - s->body_bytes;
    if (fits) {
        s->body_bytes += n;
        r->reserved += n;
    }
    pthread_mutex_unlock(&s->lock);
    return fits ? 0 : -1;
}

static void body_release(Server *s, Req *r)
{
    pthread_mutex_lock(&s->lock);
    s->body_bytes -= r->reserved;
    pthread_mutex_unlock(&s->lock);
    r->reserved = 0;
}

/* Checks made once the headers are in: the request may be answered before its body arrives. */
static enum MHD_Result on_headers(Server *s, struct MHD_Connection *c, Req *r, const char *method,
                                  const char *version)
{
    pthread_mutex_lock(&s->lock);
    int draining = s->draining;
    pthread_mutex_unlock(&s->lock);
    int is_get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    int is_post = !strcmp(method, "POST");
    int framing_status;
    const char *framing = framing_error(c, version, &framing_status, &r->has_body);
    /* A badly framed request is answered at once whatever it declares: where its body ends is
     * exactly what is in doubt, so the connection must close (send_reply sees !complete). */
    if (framing)
        return send_error(s, c, r, framing_status, framing);
    if (draining)
        return head_error(s, c, r, 503, "the server is shutting down");
    if (r->ep == EP_OTHER)
        return head_error(s, c, r, 404, "no such endpoint (/v1/embeddings, /v1/classify, "
                                        "/v1/search, /v1/models, /v1/models/{id}, /health, "
                                        "/metrics)");
    if (r->ep == EP_SEARCH && !s->svc->index)
        return head_error(s, c, r, 404, "no index to search: start the server with --index");
    if (endpoint_is_work(r->ep) ? !is_post : !is_get)
        return head_error(s, c, r, 405, "method not allowed on this endpoint");
    if (r->ep != EP_HEALTH && r->ep != EP_PING && !authorized(s, c))
        return head_error(s, c, r, 401, "missing or wrong bearer token");
    /* A full queue sheds the request before its body costs parsing and decoding; the body is
     * still read (and dropped) so that the client sees the 503 rather than a reset. */
    if (endpoint_is_work(r->ep) && !batcher_has_room(s->svc->batcher))
        r->shed = 1;
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long length = cl ? strtoull(cl, NULL, 10) : 0;
    if (length > s->cfg.max_body) {
        r->too_large = 1;
        char msg[128];
        snprintf(msg, sizeof msg, "the body exceeds %zu bytes", s->cfg.max_body);
        return send_error(s, c, r, 413, msg);
    }
    /* A declared body is reserved whole before any of it is read: when it does not fit beside
     * the bodies held now, 503 at once (the body unread, so the connection closes). A chunked
     * body is reserved as it grows (on_body). A shed body is dropped, not held. */
    if (length && !r->shed && body_reserve(s, r, (size_t)length))
        return send_error(s, c, r, 503, "the server holds too many request bodies "
                                        "(--max-body-total); retry later");
    return MHD_YES;
}

/* Lets go of what r's body held (n bytes just came): the rest is counted, not kept. */
static enum MHD_Result drop_body(Server *s, Req *r, size_t n)
{
    free(r->body);
    r->body = NULL;
    r->len = r->cap = 0;
    body_release(s, r);
    r->dropped = n;
    return MHD_YES;
}

/* Appends body bytes, or drops them once the limit is passed (the answer is then 413). */
static enum MHD_Result on_body(Server *s, Req *r, const char *data, size_t n)
{
    if (r->answered || r->too_large || r->shed || r->over_budget) {
        r->dropped += n;
        /* A client that streams on and on after its answer is cut off. */
        return r->dropped > 4 * s->cfg.max_body + (1u << 20) ? MHD_NO : MHD_YES;
    }
    if (n > s->cfg.max_body - r->len) {
        r->too_large = 1;
        return drop_body(s, r, n);
    }
    if (r->len + n > r->cap) {
        /* Doubling from 16 KiB, but never past max_body: the limit is what a body may hold. */
        size_t need = r->len + n, cap = r->cap > need / 2 ? 2 * r->cap : need;
        cap = cap < 16384 ? 16384 : cap;
        cap = cap > s->cfg.max_body ? s->cfg.max_body : cap;
        /* A declared body was reserved whole: never allocate past it. */
        cap = r->reserved >= need && cap > r->reserved ? r->reserved : cap;
        if (cap > r->reserved && body_reserve(s, r, cap - r->reserved)) {
            r->over_budget = 1;
            return drop_body(s, r, n);
        }
        unsigned char *p = realloc(r->body, cap);
        if (!p)
            return MHD_NO;
        r->body = p;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    return MHD_YES;
}

static enum MHD_Result on_complete_request(Server *s, struct MHD_Connection *c, Req *r)
{
    Reply rep = {0};
    r->complete = 1;
    /* At work: the request's own deadline bounds the wait for a host kit and the device. */
    conn_set_deadline(s, c, 0);
    if (r->pending_status)
        return send_error(s, c, r, r->pending_status, r->pending_msg);
    if (r->too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "the body exceeds %zu bytes", s->cfg.max_body);
        return send_error(s, c, r, 413, msg);
    }
    if (r->shed)
        return send_error(s, c, r, 503, "the queue is full; retry later");
    if (r->over_budget)
        return send_error(s, c, r, 503, "the server holds too many request bodies "
                                        "(--max-body-total); retry later");
    const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_CONTENT_TYPE);
    if (r->ep == EP_EMBEDDINGS) {
        api_embeddings(s->svc, ctype, r->body, r->len, r->t0, &rep);
    } else if (r->ep == EP_MODELS) {
        api_models(s->svc, &rep);
    } else if (r->ep == EP_MODEL) {
        api_model(s->svc, r->model_id, &rep);
    } else if (r->ep == EP_CLASSIFY) {
        api_classify(s->svc, ctype, r->body, r->len, r->t0, &rep);
    } else if (r->ep == EP_SEARCH) {
        api_search(s->svc, ctype, r->body, r->len, r->t0, &rep);
    } else if (r->ep == EP_PREDICT || r->ep == EP_PING || r->ep == EP_ROOT) {
        immich_answer(s->svc->immich, r->ep, ctype, r->body, r->len, r->t0, &rep);
    } else {
        FILE *f = open_memstream(&rep.body, &rep.len);
        if (!f)
            return MHD_NO;
        rep.status = 200;
        if (r->ep == EP_HEALTH) {
            rep.type = "application/json";
            fputs("{\"status\": \"ok\"}\n", f);
        } else {
            BatcherStats bs;
            batcher_stats(s->svc->batcher, &bs);
            pthread_mutex_lock(&s->lock);
            int in_flight = s->in_flight;
            pthread_mutex_unlock(&s->lock);
            rep.type = "text/plain; version=0.0.4; charset=utf-8";
            metrics_write(s->metrics, f, &bs, in_flight);
        }
        fclose(f);
    }
    /* The body has been read into the reply: its bytes go back to --max-body-total now, before
     * the client can see the answer and send its next body (not when MHD completes the request,
     * after the answer is sent). */
    free(r->body);
    r->body = NULL;
    body_release(s, r);
    return rep.body ? send_reply(s, c, r, &rep) : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    Server *s = cls;
    Req *r = *con_cls;
    if (!r) {
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        r->t0 = cli_now();
        r->ep = endpoint_find(url, s->svc->immich != NULL);
        *con_cls = r;
        pthread_mutex_lock(&s->lock);
        s->in_flight++;
        pthread_mutex_unlock(&s->lock);
        /* The url lives in MHD's read buffer; the id is needed after the (empty) body. */
        if (r->ep == EP_MODEL && !(r->model_id = strdup(url + strlen("/v1/models/"))))
            return MHD_NO;
        /* The body must be in by the request's deadline: past it the answer could only be 504. */
        conn_set_deadline(s, c, r->t0 + s->cfg.timeout_ms / 1000.0);
        return on_headers(s, c, r, method, version);
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return on_body(s, r, upload_data, n);
    }
    if (r->answered)
        return MHD_YES;
    return on_complete_request(s, c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    Server *s = cls;
    Req *r = *con_cls;
    (void)toe;
    /* A kept-alive connection must deliver its next request head in time, as a new one. */
    conn_set_deadline(s, c, cli_now() + s->cfg.header_timeout_s);
    if (!r)
        return;
    /* A large body (or the long text in it) leaves freed memory in malloc's heap: give it back
     * to the system rather than hold it while idle. */
    int large = r->cap > (1u << 20);
    body_release(s, r);
    free(r->body);
    free(r->model_id);
    free(r);
    if (large)
        malloc_trim(0);
    *con_cls = NULL;
    pthread_mutex_lock(&s->lock);
    if (--s->in_flight == 0)
        pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->lock);
}

/* The listening address: an IPv4 or IPv6 literal, or "localhost". */
static int make_address(const char *host, int port, struct sockaddr_storage *ss, int *ipv6)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (!strcmp(host, "localhost"))
        host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *ipv6 = 0;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *ipv6 = 1;
        return 0;
    }
    return -1;
}

/* Stops the watchdog and frees a server whose daemon is stopped (every connection closed). */
static void free_server(Server *s)
{
    serve_thread_stop(&s->lock, &s->watchdog_wake, &s->watchdog_stop, s->watchdog);
    pthread_cond_destroy(&s->watchdog_wake);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int server_start(Server **out, const ServeConfig *cfg, const Service *svc, Metrics *metrics,
                 int *port, char *error, size_t esize)
{
    *out = NULL;
    struct sockaddr_storage addr;
    int ipv6 = 0;
    if (make_address(cfg->host, cfg->port, &addr, &ipv6)) {
        snprintf(error, esize, "--host %s is not an IPv4 or IPv6 address", cfg->host);
        return -1;
    }
    Server *s = calloc(1, sizeof *s);
    if (!s || pthread_mutex_init(&s->lock, NULL) || serve_cond_init(&s->idle) ||
        serve_cond_init(&s->watchdog_wake) ||
        pthread_create(&s->watchdog, NULL, watchdog_main, s)) {
        free(s);
        snprintf(error, esize, "out of memory");
        return -1;
    }
    s->cfg = *cfg;
    s->svc = svc;
    s->metrics = metrics;
    /* poll() rather than select(): with hundreds of connections, descriptors pass FD_SETSIZE. */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD |
                     MHD_USE_ITC | (ipv6 ? MHD_USE_IPv6 : 0);
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->idle_timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(error, esize, "cannot listen on %s port %d (in use, or not an address of this "
                 "machine?)", cfg->host, cfg->port);
        free_server(s);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : cfg->port;
    *out = s;
    return 0;
}

void server_drain_and_stop(Server **sp, double grace_s)
{
    Server *s = sp ? *sp : NULL;
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->draining = 1;
    pthread_mutex_unlock(&s->lock);
    /* No new connections; open ones get 503 for new requests while the admitted ones finish. */
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    struct timespec ts;
    serve_timespec(cli_now() + grace_s, &ts);
    pthread_mutex_lock(&s->lock);
    while (s->in_flight > 0 && pthread_cond_timedwait(&s->idle, &s->lock, &ts) == 0)
        ;
    pthread_mutex_unlock(&s->lock);
    MHD_stop_daemon(s->daemon);
    free_server(s);
    *sp = NULL;
}
