/*
 * replay.c -- a main() that runs a fuzz target over its corpus, so that
 * make check replays every input a fuzzer ever kept, under whatever
 * sanitizers the build has, without needing clang or libFuzzer.
 *
 * Linked with any one file defining LLVMFuzzerTestOneInput() (and, if it
 * wants one, LLVMFuzzerInitialize(), called first as libFuzzer does).  Each
 * argument is a file or a directory; a directory is read in name order,
 * recursively, skipping dot files.  With no argument the corpus is the
 * directory $FUZZ_CORPUS, else $VANE_SRCDIR/tests/fuzz/corpus/FUZZ_TARGET,
 * FUZZ_TARGET being the target's name given when this file is compiled
 * (make check exports VANE_SRCDIR).
 *
 * Output is TAP: "ok N - <file>" per input, then the plan.  An input is read
 * into a buffer of exactly its size so that the sanitizers see any read past
 * its end.  The name of each input goes to stderr before it runs, so that
 * when a target crashes the test log says on which file.  A file that
 * cannot be read is "not ok" and makes the exit status 1; a crash ends the
 * run, which the TAP driver reports as an error.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef FUZZ_TARGET
#error "compile with -DFUZZ_TARGET='\"name\"', the name of the target's corpus directory"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int count;  /* inputs run so far: the TAP test number */
static int failed; /* inputs that could not be read */

static void not_ok(const char *path, const char *what)
{
    printf("not ok %d - %s: %s: %s\n", ++count, path, what, strerror(errno));
    failed++;
}

/* Reads the file at path into a buffer of its exact size; *size is its length. */
static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    struct stat st;

    if (f == NULL || fstat(fileno(f), &st) != 0)
        goto out;
    *size = (size_t)st.st_size;
    buf = malloc(*size > 0 ? *size : 1);
    if (buf != NULL && fread(buf, 1, *size, f) != *size) {
        if (!ferror(f))
            errno = EIO; /* the file shrank while read */
        free(buf);
        buf = NULL;
    }
out:
    if (f != NULL)
        fclose(f);
    return buf;
}

static void run_file(const char *path)
{
    size_t size = 0;
    uint8_t *data = read_file(path, &size);

    if (data == NULL) {
        not_ok(path, "cannot read");
        return;
    }
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    printf("ok %d - %s\n", ++count, path);
    fflush(stdout);
}

static int skip_dots(const struct dirent *entry) { return entry->d_name[0] != '.'; }

static void run_path(const char *path);

static void run_dir(const char *path)
{
    struct dirent **entries;
    int n = scandir(path, &entries, skip_dots, alphasort);

    if (n < 0) {
        not_ok(path, "cannot list");
        return;
    }
    for (int i = 0; i < n; i++) {
        size_t len = strlen(path) + 1 + strlen(entries[i]->d_name) + 1;
        char *child = malloc(len);

        if (child != NULL) {
            snprintf(child, len, "%s/%s", path, entries[i]->d_name);
            run_path(child);
            free(child);
        } else {
            not_ok(entries[i]->d_name, "cannot run");
        }
        free(entries[i]);
    }
    free(entries);
}

static void run_path(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0)
        not_ok(path, "cannot stat");
    else if (S_ISDIR(st.st_mode))
        run_dir(path);
    else
        run_file(path);
}

/* The corpus to run when no path is given, or NULL with errno set. */
static char *default_corpus(void)
{
    const char *corpus = getenv("FUZZ_CORPUS"), *srcdir = getenv("VANE_SRCDIR");
    const char *sub = "/tests/fuzz/corpus/" FUZZ_TARGET;
    char *path;

    if (corpus != NULL && corpus[0] != '\0')
        return strdup(corpus);
    if (srcdir == NULL || srcdir[0] == '\0') {
        errno = ENOENT;
        return NULL;
    }
    path = malloc(strlen(srcdir) + strlen(sub) + 1);
    if (path != NULL)
        strcat(strcpy(path, srcdir), sub);
    return path;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            run_path(argv[i]);
    } else {
        char *corpus = default_corpus();

        if (corpus == NULL) {
            printf("Bail out! no corpus: give files or directories, or set FUZZ_CORPUS or "
                   "VANE_SRCDIR\n");
            return 1;
        }
        run_path(corpus);
        free(corpus);
    }
    if (count == 0)
        printf("1..0 # SKIP no inputs in the corpus\n");
    else
        printf("1..%d\n", count);
    return failed > 0 ? 1 : 0;
}
