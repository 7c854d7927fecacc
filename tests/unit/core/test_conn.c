/* Connection buffers: storage is held only while it holds bytes. */
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../test.h"
#include "chopin/error.h"
#include "core/conn.h"
#include "core/worker.h"

struct fixture {
    struct ch_worker w;
    struct ch__conn c;
    int peer;
};

static void setup(struct fixture *f)
{
    int sv[2];
    memset(f, 0, sizeof(*f));
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    f->w.capblocks = 4;
    f->w.blocks = calloc(f->w.capblocks, sizeof(void *));
    f->c.worker = &f->w;
    f->c.io.fd = sv[0];
    f->c.flags = CH__CONN_READABLE;
    f->peer = sv[1];
}

static void teardown(struct fixture *f)
{
    close(f->c.io.fd);
    if (f->peer >= 0) close(f->peer);
    free(f->c.rbuf.ptr);
    /* Cached blocks are poisoned under ASan: take them out the normal way. */
    while (f->w.nblocks) free(ch__worker_block_get(&f->w));
    free(f->w.blocks);
}

TEST(conn_read_nothing_holds_no_buffer)
{
    struct fixture f;
    setup(&f);
    /* A connection accepted before its first byte: the read finds nothing. */
    ASSERT_EQ(ch__conn_read(&f.c, CH__BLOCK_SIZE), CH_INCOMPLETE);
    ASSERT(f.c.rbuf.ptr == NULL);
    ASSERT_EQ(f.c.rbuf.cap, 0);
    ASSERT_EQ(f.c.flags & CH__CONN_READABLE, 0);
    ASSERT_EQ(f.w.nblocks, 1); /* the block went back to the worker's cache */
    teardown(&f);
}

TEST(conn_read_keeps_buffer_with_bytes_and_frees_it_when_consumed)
{
    struct fixture f;
    setup(&f);
    ASSERT_EQ(write(f.peer, "GET", 3), 3);
    ASSERT_EQ(ch__conn_read(&f.c, CH__BLOCK_SIZE), 3);
    ASSERT(f.c.rbuf.ptr != NULL);
    /* More reads that find nothing keep the unconsumed bytes. */
    f.c.flags |= CH__CONN_READABLE;
    ASSERT_EQ(ch__conn_read(&f.c, CH__BLOCK_SIZE), CH_INCOMPLETE);
    ASSERT_MEM_EQ(f.c.rbuf.ptr, f.c.rbuf.len, "GET");
    ch__conn_consume(&f.c, 3);
    ASSERT(f.c.rbuf.ptr == NULL);
    /* The peer closing with nothing buffered holds nothing either. */
    close(f.peer);
    f.peer = -1;
    f.c.flags |= CH__CONN_READABLE;
    ASSERT_EQ(ch__conn_read(&f.c, CH__BLOCK_SIZE), 0);
    ASSERT(f.c.rbuf.ptr == NULL);
    ASSERT(f.c.flags & CH__CONN_PEER_SHUT);
    teardown(&f);
}
