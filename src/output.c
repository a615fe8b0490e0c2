/* output.c -- one stream's output (see output.h). */
#include "autoconf.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "fcgi_record.h"
#include "output.h"

void output_init(struct conn *c)
{
    buf_init(&c->io.out, OUTPUT_CAP);
}

int output_stdout(struct conn *c, const char *data, size_t len)
{
    return fcgi_record_stdout(&c->io.out, (uint16_t)c->io.request_id, data, len);
}

int output_proto(struct conn *c, const char *text, long len)
{
    return len > 0 ? output_stdout(c, text, (size_t)len) : -1;
}

int output_end(struct conn *c)
{
    return fcgi_record_end(&c->io.out, (uint16_t)c->io.request_id, 0, FCGI_REQUEST_COMPLETE);
}

uint64_t output_unsent_events(const struct conn *c)
{
    uint64_t n = 0;
    for (unsigned k = 0; k < c->io.nmarks; k++)
        n += c->io.marks[k].events;
    return n;
}

bool output_waiting(const struct conn *c)
{
    return buf_unread(&c->io.out) != 0;
}

size_t output_pending(const struct conn *c)
{
    return buf_unread(&c->io.out);
}

/* Remembers that n events end where the output now ends (bytes written
 * and waiting), to count them as sent once written. */
static void mark(struct conn *c, uint32_t n)
{
    struct conn_io *io = &c->io;
    uint64_t end = io->written + buf_unread(&io->out);
    unsigned cap = sizeof io->marks / sizeof io->marks[0];
    if (io->nmarks == cap) {
        io->marks[cap - 1].pos = end;       /* merge into the last */
        io->marks[cap - 1].events += n;
        return;
    }
    io->marks[io->nmarks].pos = end;
    io->marks[io->nmarks].events = n;
    io->nmarks++;
}

int output_events(struct conn *c, struct event **evs, size_t n)
{
    int rc = 0;
    size_t published = event_count_published(evs, n);   /* what counts as sent */
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            rc = output_stdout(c, event_text(evs[i]), event_len(evs[i]));
        event_unref(evs[i]);
    }
    if (rc == 0)
        mark(c, (uint32_t)published);
    return rc;
}

int output_flush(struct conn *c, int64_t now_mono_ms, struct output_flushed *f)
{
    struct conn_io *io = &c->io;
    uint64_t before = io->written;
    bool was_stalled = io->stalled_since != 0;
    *f = (struct output_flushed){ 0 };
    while (buf_unread(&io->out)) {
        ssize_t n = send(io->fd, buf_unread_data(&io->out), buf_unread(&io->out), MSG_NOSIGNAL);
        if (n > 0) {
            buf_consume(&io->out, (size_t)n);   /* idle streams keep no buffer */
            io->written += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        return -1;
    }
    if (io->written != before) {
        atomic_fetch_add(&c->bytes_sent, io->written - before);
        unsigned k = 0;
        while (k < io->nmarks && io->marks[k].pos <= io->written)
            f->events += io->marks[k++].events;
        if (k) {
            memmove(io->marks, io->marks + k, (io->nmarks - k) * sizeof io->marks[0]);
            io->nmarks -= k;
            atomic_fetch_add(&c->events_sent, f->events);
        }
    }
    atomic_store_explicit(&c->unsent, buf_unread(&io->out), memory_order_relaxed);
    if (!buf_unread(&io->out)) {
        io->stalled_since = 0;
        f->stopped_waiting = was_stalled;
    } else if (io->written != before || !was_stalled) {
        io->stalled_since = now_mono_ms;
        f->started_waiting = !was_stalled;
    }
    return 0;
}
