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
 *     in cb (or when raft_init failed): log_io_close(&io);
 */
#ifndef VANE_RAFT_LOG_IO_H
#define VANE_RAFT_LOG_IO_H

#include <stddef.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#define LOG_IO_FILE_SIZE (8u << 20) /* a log file rolls past this many bytes, by default */

/*
 * Makes io a raft_io storing under dir (which must exist) and talking
 * through transport.  Log files roll once they pass file_size bytes (0:
 * LOG_IO_FILE_SIZE).  Returns 0 or a raft error code, with io->errmsg
 * saying why.
 */
int log_io_init(struct raft_io *io, uv_loop_t *loop, const char *dir,
                struct raft_uv_transport *transport, size_t file_size);

/* Frees what log_io_init allocated: after raft_close's callback, or after
 * io->close's own when raft never took io (a failed raft_init). */
void log_io_close(struct raft_io *io);

#endif
