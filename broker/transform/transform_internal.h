/*
 * transform_internal.h -- what the files of the transformer share.
 *
 * The transformer is split by concern, each file with its own prefix:
 *
 *   transform.c                the public API: reads the spec, runs define,
 *                              pipeline and template over one event;
 *   transform_path.c           path syntax ("$.data.a[0]['b c']") and
 *                              reading, writing, deleting through a path;
 *   transform_work.c           the working form of an event: attributes as
 *                              JSON values, data parsed on first use, and
 *                              the output event built from it;
 *   transform_value.c          Vanus's casts (string, number, integer,
 *                              arrays) and JSON text with Go's numbers;
 *   transform_arg.c            a command's argument: constant, event path or
 *                              <variable>, and its value on an event;
 *   transform_action.c         the table of actions, compiling a command,
 *                              and the helpers every action runs with;
 *   transform_action_*.c       the actions, by family;
 *   transform_template.c       text and JSON templates;
 *   transform_regex.c          replace_with_regex on POSIX regex.h;
 *   transform_tz.c             IANA time zones read from tzdata files.
 *
 * Types here are tf_*; functions carry their file's name.  Errors go into a
 * struct transform_error: the lower layers fill its message, and the layer
 * that knows where in the spec the failure is fills its path.
 */
#ifndef VANE_TRANSFORM_INTERNAL_H
#define VANE_TRANSFORM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"
#include "event/event.h"
#include "transform/transform.h"

/* Fills err->message (printf-style) and leaves err->path alone; returns -EINVAL. */
int transform_why(struct transform_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Fills err->path (printf-style) unless a lower layer already did; returns -EINVAL. */
int transform_where(struct transform_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The largest array index a path may write: a bound on what one command can allocate. */
#define TF_MAX_INDEX 65535
/*
 * The longest string an action may make: commands that grow a string (a regex replacing
 * each character with many) stop here rather than grow without bound.  The libFuzzer build
 * sets it lower: ASan's regexec() interceptor runs strlen() over the whole string on every
 * call, which makes long rewrites look like hangs there.
 */
#ifndef TF_MAX_TEXT
#define TF_MAX_TEXT (4u << 20)
#endif
#define TF_MAX_TEXT_MIB (TF_MAX_TEXT / 1048576.0)

/* ---- paths (transform_path.c) ------------------------------------------ */

enum tf_seg_kind {
    TF_SEG_NAME,     /* .name or ['name'] */
    TF_SEG_INDEX,    /* [3], or [-1] from the end (read only) */
    TF_SEG_WILDCARD, /* .* or [*]: every member or element (read only) */
    TF_SEG_SLICE,    /* [start:end:step], each part optional (read only) */
};

struct tf_seg {
    enum tf_seg_kind kind;
    char *name;      /* TF_SEG_NAME, NUL-terminated (a NUL inside is refused) */
    long long index; /* TF_SEG_INDEX; TF_SEG_SLICE: start */
    long long end, step;
    bool has_start, has_end; /* TF_SEG_SLICE */
};

/* "$.<attribute>", or "$.data" followed by segments. */
struct tf_path {
    char *attr;          /* the attribute's name (lower case), or NULL for data */
    struct tf_seg *segs; /* below $.data */
    size_t nsegs;
    bool wildcard;       /* a segment is a wildcard or slice: the path can only be read */
};

/*
 * Parses the path at text[0..len).  In a template (in_template) the path
 * ends at the first '>' outside brackets, which is left unread; elsewhere it
 * is the whole text.  "@." stands for "$.data." (relative_ok, in pipeline
 * arguments, as Vanus allows).  Returns 0 with *used (characters read), or
 * -EINVAL with err's message saying what is wrong.
 */
int transform_path_parse(const char *text, size_t len, bool in_template, bool relative_ok,
                         size_t *used, struct tf_path *path, struct transform_error *err);
void transform_path_free(struct tf_path *path);
/* Appends the path as text ("$.data.a[0]"). */
void transform_path_text(const struct tf_path *path, struct vane_buf *out);

struct tf_work;

/*
 * The value at path: *value is a new reference, or NULL when nothing is
 * there (a wildcard path gives an array of what it found, or the one value
 * when it found one, as Vanus does).  Fails only when data is needed and is
 * not JSON.
 */
int transform_path_get(struct tf_work *work, const struct tf_path *path, json_t **value,
                       struct transform_error *err);
/* The value the data segments of path lead to from root, as transform_path_get() gives it. */
json_t *transform_path_find(json_t *root, const struct tf_path *path);
/* Writes value (stolen) at path, making the objects and arrays it passes through. */
int transform_path_set(struct tf_work *work, const struct tf_path *path, json_t *value,
                       struct transform_error *err);
/* Removes what is at path; nothing there is not an error. */
int transform_path_delete(struct tf_work *work, const struct tf_path *path,
                          struct transform_error *err);

/* ---- the working form of an event (transform_work.c) ------------------- */

struct tf_attr {
    char *name;
    struct event_value orig; /* the input's value, while value is NULL */
    json_t *value;           /* the value an action gave it, else NULL */
    enum event_type type;    /* the CloudEvents type of value */
};

enum tf_data_state {
    TF_DATA_ABSENT, /* no data (data is NULL until something is written) */
    TF_DATA_RAW,    /* JSON bytes not parsed yet */
    TF_DATA_JSON,   /* parsed into data */
    TF_DATA_OPAQUE, /* bytes of another content type: not for paths */
};

struct tf_work {
    const struct event *in;  /* NULL inside array_foreach: no attributes */
    struct tf_attr *attrs;
    size_t nattrs, attr_cap;
    enum tf_data_state data_state;
    json_t *data;            /* the data root when TF_DATA_JSON (or written) */
    bool data_changed;       /* data must be written anew */
    json_t **vars;           /* values of the define variables, by index */
    size_t nvars;
};

/* in is borrowed and must outlive work. */
void transform_work_init(struct tf_work *work, const struct event *in);
void transform_work_free(struct tf_work *work);
/* A work whose data root is root (borrowed, then owned) and that has no attributes. */
void transform_work_init_data(struct tf_work *work, json_t *root, json_t **vars, size_t nvars);

/* The data root, parsed on first use; *root may be NULL (no data). */
int transform_work_data(struct tf_work *work, json_t ***root, struct transform_error *err);

/* The attribute named name, or NULL. */
struct tf_attr *transform_work_attr(struct tf_work *work, const char *name);
/* An attribute's value as JSON (string, integer or boolean): a new reference. */
json_t *transform_work_attr_json(const struct tf_attr *attr);
/* Sets (or adds) an attribute from a JSON value (borrowed), with Vanus's rules per attribute. */
int transform_work_attr_set(struct tf_work *work, const char *name, json_t *value,
                            struct transform_error *err);
int transform_work_attr_delete(struct tf_work *work, const char *name,
                               struct transform_error *err);

/*
 * Builds out from work: attributes in order (names and values copied into
 * arena), then the data: rendered (when rendered is not NULL, with
 * content_type), else written anew when changed, else the input's bytes.
 */
void transform_work_output(struct tf_work *work, const struct vane_buf *rendered,
                           const char *content_type, struct event *out,
                           struct vane_arena *arena);

/* ---- values (transform_value.c) ---------------------------------------- */

/* "a string", "an object", ... for messages. */
const char *transform_value_kind(const json_t *value);
/* Vanus's cast to string: numbers as Go prints them, objects as JSON. */
int transform_value_string(const json_t *value, struct vane_buf *out,
                           struct transform_error *err);
/* Vanus's cast to float: numbers, and strings that are numbers. */
int transform_value_number(const json_t *value, double *out, struct transform_error *err);
/* Vanus's cast to int: integers, reals truncated, strings of decimal digits. */
int transform_value_int(const json_t *value, long long *out, struct transform_error *err);
/* A number as JSON: an integer when it is one and fits, else a real. */
json_t *transform_value_from_double(double d);
/* A JSON string of len bytes, or NULL when they are not valid UTF-8. */
json_t *transform_value_stringn(const char *s, size_t len);
/* Appends value as compact JSON, reals in their shortest exact form. */
void transform_value_json(struct vane_buf *out, const json_t *value);
/* Appends s as the inside of a JSON string literal (escaped, no quotes). */
void transform_value_escape(struct vane_buf *out, const char *s, size_t len);
/* Appends a value as text: strings as they are, anything else as JSON. */
void transform_value_text(struct vane_buf *out, const json_t *value);

/* ---- arguments (transform_arg.c) --------------------------------------- */

enum tf_arg_kind {
    TF_ARG_CONST = 1,  /* a JSON value as written */
    TF_ARG_ATTR = 2,   /* $.<attribute> */
    TF_ARG_DATA = 4,   /* $.data..., or @. inside it */
    TF_ARG_DEFINE = 8, /* <variable> */
};
#define TF_ARG_EVENT (TF_ARG_ATTR | TF_ARG_DATA)
#define TF_ARG_ANY (TF_ARG_CONST | TF_ARG_EVENT | TF_ARG_DEFINE)

struct tf_arg {
    enum tf_arg_kind kind;
    json_t *constant;    /* TF_ARG_CONST */
    struct tf_path path; /* TF_ARG_ATTR, TF_ARG_DATA */
    size_t var;          /* TF_ARG_DEFINE: index of the define variable */
    char *text;          /* the argument as written, for messages */
};

struct tf_define {
    char *name;
    struct tf_arg arg;
};

/* Classifies value (borrowed) as Vanus does: "$." paths, "@." paths, "<name>", else a constant. */
int transform_arg_compile(json_t *value, const struct tf_define *defs, size_t ndefs,
                          struct tf_arg *arg, struct transform_error *err);
void transform_arg_free(struct tf_arg *arg);
/* The argument's value on work: a new reference, or NULL when missing (JSON null too). */
int transform_arg_eval(const struct tf_arg *arg, struct tf_work *work, json_t **value,
                       struct transform_error *err);
/* The index of the define variable name[0..len), or -1. */
long transform_arg_find_var(const struct tf_define *defs, size_t ndefs, const char *name,
                            size_t len);

/* ---- actions (transform_action.c and transform_action_*.c) ------------- */

struct tf_action;
struct tf_ctx;

struct tf_action_def {
    const char *name;          /* lower case; names match without regard to case */
    const char *alias;         /* another name Vanus knows it by, or NULL */
    size_t min_args, max_args; /* arguments after the name; SIZE_MAX: any number */
    unsigned char kinds[6];    /* tf_arg_kind bits allowed for argument i; the last set repeats */
    unsigned writes;           /* bit i: argument i is a path the action writes */
    /* Compile-time work beyond the arguments (a regex, a template); may be NULL. */
    int (*prepare)(struct tf_action *action, json_t *command, const struct tf_define *defs,
                   size_t ndefs, struct transform_error *err);
    int (*run)(struct tf_ctx *ctx);
    void (*release)(struct tf_action *action); /* frees priv; may be NULL */
};

struct tf_action {
    const struct tf_action_def *def;
    struct tf_arg *args;
    size_t nargs;
    void *priv;           /* what prepare made */
    char where[80];       /* "pipeline[2].command": argument i is where[i + 1] */
};

struct tf_ctx {
    struct tf_work *work;
    const struct tf_action *action;
    struct transform_error *err;
};

/* The action families' tables, each ended by an entry whose name is NULL. */
extern const struct tf_action_def transform_action_struct_defs[];
extern const struct tf_action_def transform_action_string_defs[];
extern const struct tf_action_def transform_action_math_defs[];
extern const struct tf_action_def transform_action_time_defs[];
extern const struct tf_action_def transform_action_array_defs[];

/* Compiles command (an array: name, arguments...) found at where (e.g. "pipeline[2].command"). */
int transform_action_compile(json_t *command, const char *where, const struct tf_define *defs,
                             size_t ndefs, struct tf_action *action, struct transform_error *err);
void transform_action_free(struct tf_action *action);
/* For prepare(): fails compiling naming argument i (TF_NO_ARG: the command). */
int transform_action_reject(const struct tf_action *action, size_t i,
                            struct transform_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int transform_action_run(const struct tf_action *action, struct tf_work *work,
                         struct transform_error *err);

/*
 * Helpers for actions.  i is the argument's index (0 is the first after
 * the name).  On failure each fills err with the argument's place.
 */
#define TF_NO_ARG ((size_t)-1)
int transform_action_fail(struct tf_ctx *ctx, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Names argument i as the place of the failure whose message a lower layer wrote. */
int transform_action_failed(struct tf_ctx *ctx, size_t i);
/* The value of argument i (new reference), or NULL when missing (no failure). */
int transform_action_peek(struct tf_ctx *ctx, size_t i, json_t **value);
/* The value of argument i (new reference); missing is a failure. */
int transform_action_get(struct tf_ctx *ctx, size_t i, json_t **value);
/* Argument i cast to string, appended to out (which the caller frees). */
int transform_action_string(struct tf_ctx *ctx, size_t i, struct vane_buf *out);
int transform_action_number(struct tf_ctx *ctx, size_t i, double *out);
int transform_action_int(struct tf_ctx *ctx, size_t i, long long *out);
/* Writes value (stolen) at argument i's path. */
int transform_action_set(struct tf_ctx *ctx, size_t i, json_t *value);
/* Writes a string (which must be valid UTF-8) at argument i's path. */
int transform_action_set_string(struct tf_ctx *ctx, size_t i, const char *s, size_t len);
int transform_action_delete(struct tf_ctx *ctx, size_t i);
/* Fails when argument i's path already holds a value (create, move, rename, duplicate). */
int transform_action_absent(struct tf_ctx *ctx, size_t i);

/* ---- templates (transform_template.c) ---------------------------------- */

struct tf_template;

/* type: "text", "json", or NULL to decide from the first character as Vanus does. */
int transform_template_compile(const char *text, size_t len, const char *type,
                               const struct tf_define *defs, size_t ndefs,
                               struct tf_template **out, struct transform_error *err);
int transform_template_render(const struct tf_template *tpl, struct tf_work *work,
                              struct vane_buf *out, struct transform_error *err);
const char *transform_template_content_type(const struct tf_template *tpl);
void transform_template_free(struct tf_template *tpl);

/* ---- regular expressions (transform_regex.c) --------------------------- */

struct tf_regex;

int transform_regex_compile(const char *pattern, size_t len, struct tf_regex **out,
                            struct transform_error *err);
/* Go's ReplaceAllString: every match of re in s replaced by repl, where $1 and ${1} expand. */
int transform_regex_replace(const struct tf_regex *re, const char *s, size_t len,
                            const char *repl, size_t repl_len, struct vane_buf *out,
                            struct transform_error *err);
void transform_regex_free(struct tf_regex *re);

/* ---- time zones (transform_tz.c) --------------------------------------- */

struct tf_zone;

/* An IANA zone ("America/New_York", "EST"); "" and "UTC" need no file. */
int transform_tz_load(const char *name, struct tf_zone **out, struct transform_error *err);
/* Seconds east of UTC in zone at the instant t (seconds since the epoch). */
long transform_tz_offset(const struct tf_zone *zone, int64_t t);
void transform_tz_free(struct tf_zone *zone);
/* The date (proleptic Gregorian) of day, counted from 1970-01-01. */
void transform_tz_civil(int64_t day, int64_t *year, int *month, int *mday);
/* a / b rounded towards minus infinity. */
int64_t transform_tz_floor_div(int64_t a, int64_t b);

#endif
