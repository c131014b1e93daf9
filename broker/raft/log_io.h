/*
 * log_io.h -- the raft_io every replica runs on: raft's log, term, vote and
 * snapshots kept in Vane's own files, and raft's messages carried by raft's
 * libuv backend.
 *
 * Why not raft's libuv backend for the storage too: it keeps one write in
 * flight per group, checksums every byte on the loop thread one byte at a
 * time, writes with O_DIRECT through a thread-pool hop, stalls on each new
 * log file, and holds appends back while a snapshot is written.  Here every
 * append that arrives while a write is under way joins the next one: one
 * writev(2) and one fdatasync(2) in libuv's thread pool cover them all, and
 * the checksum is the hardware CRC-32C.  The format is in doc/storage.md
 * ("The raft log").
 *
 * The network half -- start (the tick and the receiving), send, time,
 * random -- is delegated to a raft_uv backend that log_io makes over the
 * same directory and the caller's transport, and never stores anything
 * through.  A directory that raft's libuv backend wrote (Vane before
 * log_io) is converted when the io is initialised: read through that
 * backend, written in this format, and its files removed.
 *
 * Use, on the loop thread:
 *
 *     log_io_init(&io, loop, dir, transport, file_size);
 *     raft_init(&raft, &io, ...) ... raft_close(&raft, cb)
 *     in cb: log_io_close(&io);
 *     when raft_init failed: io.close(&io, cb2), and in cb2 log_io_close(&io)
 *     (raft's backend may have started on the loop before io's init failed)
 */
#ifndef VANE_RAFT_LOG_IO_H
#define VANE_RAFT_LOG_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "raft/log_format.h"

#define LOG_IO_FILE_SIZE (8u << 20) /* a log file rolls past this many bytes, by default */

/*
 * Makes io a raft_io storing under dir (which must exist) and talking
 * through transport.  Log files roll once they pass file_size bytes (0:
 * LOG_IO_FILE_SIZE).  Returns 0 or a raft error code, with io->errmsg
 * saying why.
 */
int log_io_init(struct raft_io *io, uv_loop_t *loop, const char *dir,
                struct raft_uv_transport *transport, size_t file_size);

/* What one append job stored, for the sync that makes it durable
 * (log_extern.detach): descriptors to fdatasync, the caller's to close and
 * to free (fds, with vane_free). */
struct log_sync_target {
    int *fds;
    size_t nfds;
    uint64_t mark;
};

/*
 * A group may keep the bulk of its entries' payloads itself, so that they
 * reach the disk once: an eventlog's records go straight into its segments
 * (store/eventlog_writer.c).  The log then holds such an entry's head and
 * a reference to the rest (LOG_FORMAT_EXTERNAL, log_format.h).
 *
 * The job-thread calls run one at a time, in order, inside log_io's jobs;
 * the loop-thread ones between jobs (never while one runs), but synced and
 * written (below).
 *
 * Such a group's appends are pipelined.  A job writes the keeper's
 * records, then the log's entries, and waits for the log's write; the
 * sync that makes them durable -- one fdatasync per file the keeper
 * detached, each of which also flushes the disk's cache over the log's
 * write -- runs beside the next job, which meanwhile only stores the next
 * entries' records: their log entries are written once that sync is done,
 * so that at most the log's last write is ever unsynced (what recovery
 * assumes, doc/storage.md).  The disk is thus kept writing while it
 * syncs.  Appends complete in order, after the sync that covers them.  A
 * group without a keeper syncs inside each job.
 */
struct log_extern {
    void *data;
    /* Job thread, for each entry appended, in order: stores the payload of
     * entry (stored as index) from byte *keep on, filling ref from byte 8
     * on, and sets *keep; or leaves *keep at the payload's length to store
     * none of it.  0 or -errno. */
    int (*store)(void *data, const struct raft_entry *entry, raft_index index, size_t *keep,
                 uint8_t ref[LOG_EXTERN_REF]);
    /* Job thread, once the log's write of the entries stored since the
     * last detach is under way: everything stored is written (its
     * writeback started), and becomes the caller's to make durable:
     * t->fds, descriptors of their own of the files to fdatasync for it
     * (none when nothing was stored); t->mark, handed back to synced.  The
     * caller takes t->fds also on failure.  0 or -errno. */
    int (*detach)(void *data, struct log_sync_target *t);
    /* Loop thread, possibly while the next append job runs (it touches
     * nothing that job does): a sync covering the jobs up to the one whose
     * detach gave mark succeeded. */
    void (*synced)(void *data, uint64_t mark);
    /* Job thread: a truncation removed the entries from index on; ref is
     * the reference of the first of them the log holds one for, or NULL
     * (entries adopted at load have none: the keeper knows them). */
    int (*cut)(void *data, raft_index index, const uint8_t ref[LOG_EXTERN_REF]);
    /* A snapshot the leader sent replaces the whole log.  Loop thread,
     * before the job: replacing.  Job thread, once the snapshot is durable
     * and before the log's files go: replaced, which drops what it kept
     * for entries not applied (a crash between leaves entries the snapshot
     * covers, which load drops unread).  0 or -errno. */
    void (*replacing)(void *data);
    int (*replaced)(void *data);
    /* Loop thread, at load: begin(snapshot or NULL); then for each entry, in
     * order, fetch (a stored one's len bytes into dst; -ENOENT when they
     * are gone, -ENODATA when cut short, VANE_ECORRUPT when damaged, any
     * other error, which fails the load, when they could not be read;
     * what could not be read zeroed) or adopt (an entry
     * after the snapshot that the log holds whole, written before the
     * group kept payloads: store it now); then end.  Non-zero from begin,
     * adopt or end fails the load. */
    int (*load_begin)(void *data, const struct raft_snapshot *snapshot);
    int (*fetch)(void *data, raft_index index, const uint8_t ref[LOG_EXTERN_REF], uint8_t *dst,
                 size_t len);
    int (*adopt)(void *data, raft_index index, const struct raft_entry *entry);
    int (*load_end)(void *data);
    /* Loop thread, at load: the stored part of entry index is damaged (fetch
     * failed) in a write that was synced; raft gets what fetch read. */
    void (*damaged)(void *data, raft_index index, const uint8_t ref[LOG_EXTERN_REF]);
    /* Loop thread: a snapshot raft took is durable (the log may drop the
     * entries it covers). */
    void (*snapshotted)(void *data, const struct raft_snapshot *snapshot);
    /* Loop thread: whether the queued requests must wait (log_io_resume). */
    bool (*held)(void *data);
    /* Loop thread: after each sync of appended jobs (after synced, and
     * like it possibly beside the next append job), and after each
     * truncation (what was written may have shrunk). */
    void (*written)(void *data);
};

/* Has io keep payloads with ext (which must outlive it): before raft_init. */
void log_io_set_extern(struct raft_io *io, const struct log_extern *ext);

/* Runs the requests that waited while ext->held said so. */
void log_io_resume(struct raft_io *io);

/* Frees what log_io_init allocated: after raft_close's callback, or after
 * io->close's own when raft never took io (a failed raft_init). */
void log_io_close(struct raft_io *io);

#endif
