#include "bh_chain.h"

#include <stdlib.h>
#include <string.h>

struct bh_watcher {
    const bh_chain_ops *ops;
    void *impl;
    bh_block_ref cursor;
    int verified; /* endpoints checked against the configured chain */
};

static int is_zero(const bh_hash32 *h)
{
    for (size_t i = 0; i < sizeof h->data; i++)
        if (h->data[i]) return 0;
    return 1;
}

int bh_watcher_create(bh_watcher **out, const bh_chain_ops *ops, void *impl,
                      const bh_block_ref *cursor)
{
    if (out) *out = NULL;
    if (!out || !ops || !ops->finalized || !ops->block_hash || !ops->fetch) return BH_EINVAL;
    bh_watcher *w = calloc(1, sizeof *w);
    if (!w) return BH_ENOMEM;
    w->ops = ops;
    w->impl = impl;
    if (cursor) w->cursor = *cursor;
    *out = w;
    return BH_OK;
}

void bh_watcher_destroy(bh_watcher *w)
{
    free(w);
}

void bh_watcher_cursor(const bh_watcher *w, bh_block_ref *out)
{
    *out = w->cursor;
}

int bh_watcher_poll(bh_watcher *w, bh_chain_event **events, size_t *n, bh_block_ref *cursor)
{
    if (events) *events = NULL;
    if (n) *n = 0;
    if (cursor) memset(cursor, 0, sizeof *cursor);
    if (!w || !events || !n) return BH_EINVAL;

    int rc;
    if (!w->verified && w->ops->verify) {
        rc = w->ops->verify(w->impl);
        if (rc != BH_OK) return rc;
        w->verified = 1;
    }
    bh_block_ref fin;
    rc = w->ops->finalized(w->impl, &fin);
    if (rc != BH_OK) return rc;
    if (fin.number < w->cursor.number) {
        /* The agreed head can trail us when the fastest endpoints drop out:
         * wait for it rather than read anything. */
        if (cursor) *cursor = w->cursor;
        return BH_OK;
    }

    /* The cursor block was final when we passed it: its hash may never change. */
    if (!is_zero(&w->cursor.hash)) {
        bh_hash32 h;
        rc = w->ops->block_hash(w->impl, w->cursor.number, &h);
        if (rc != BH_OK) return rc;
        if (memcmp(&h, &w->cursor.hash, sizeof h) != 0) return BH_EEQUIVOCATION;
    }
    uint64_t from = is_zero(&w->cursor.hash) && w->cursor.number == 0 ? 0 : w->cursor.number + 1;
    if (fin.number < from) {
        if (cursor) *cursor = w->cursor;
        return BH_OK;
    }
    uint64_t done_to = 0;
    bh_chain_event *ev = NULL;
    size_t count = 0;
    rc = w->ops->fetch(w->impl, from, fin.number, &ev, &count, &done_to);
    if (rc != BH_OK) return rc;
    bh_block_ref next = {.number = done_to};
    if (done_to == fin.number) {
        next.hash = fin.hash;
    } else {
        rc = w->ops->block_hash(w->impl, done_to, &next.hash);
        if (rc != BH_OK) {
            free(ev);
            return rc;
        }
    }
    w->cursor = next;
    *events = ev;
    *n = count;
    if (cursor) *cursor = next;
    return BH_OK;
}
