/*
 * cesql_tree.h -- the compiled form of a CESQL expression, shared by the
 * parser (cesql_parse.c), the evaluator (cesql.c) and the built-in
 * functions (cesql_func.c).  Not for other callers: they use cesql.h.
 *
 * An expression is a tree of struct cesql_node.  Every node, every string
 * literal and every name of the tree lives in the expression's arena, so
 * freeing the expression is freeing the arena.  The parser has already
 * done what needs no event: attribute names are lower-cased, string
 * literals unescaped, LIKE patterns split into pieces, function calls
 * resolved to their built-in (or marked missing).
 *
 * Evaluation state is struct cesql_run: the event, the first error, and a
 * scratch allocator for the strings that operators and functions make.
 * Scratch memory is a buffer inside the run (on the evaluator's stack)
 * that spills into an arena; it lives until the evaluation ends.
 */
#ifndef VANE_FILTER_CESQL_TREE_H
#define VANE_FILTER_CESQL_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "filter/cesql.h"
#include "filter/cesql_text.h"

enum cesql_op {
    CESQL_OP_LITERAL,
    CESQL_OP_ATTRIBUTE,
    CESQL_OP_EXISTS,
    CESQL_OP_NOT,
    CESQL_OP_NEGATE,
    CESQL_OP_AND,
    CESQL_OP_OR,
    CESQL_OP_XOR,
    CESQL_OP_EQUAL,
    CESQL_OP_NOT_EQUAL,
    CESQL_OP_LESS,
    CESQL_OP_LESS_EQUAL,
    CESQL_OP_GREATER,
    CESQL_OP_GREATER_EQUAL,
    CESQL_OP_ADD,
    CESQL_OP_SUBTRACT,
    CESQL_OP_MULTIPLY,
    CESQL_OP_DIVIDE,
    CESQL_OP_MODULO,
    CESQL_OP_LIKE,
    CESQL_OP_IN,
    CESQL_OP_CALL,
};

/* The types a function declares for its parameters and result;
 * CESQL_ANY takes the argument as it is. */
enum cesql_param { CESQL_ANY = -1 };

struct cesql_run;
struct cesql_node;

struct cesql_function {
    const char *name;          /* upper case */
    size_t min_args, max_args; /* max_args SIZE_MAX: variadic */
    int param_types[3];        /* enum cesql_type or CESQL_ANY; the last repeats */
    enum cesql_type result_type;
    /* Computes *out from args, already cast to param_types; may raise
     * errors with cesql_raise() (node is the call, for the position). */
    void (*call)(struct cesql_run *run, const struct cesql_node *node,
                 const struct cesql_value *args, size_t count, struct cesql_value *out);
};

struct cesql_node {
    enum cesql_op op;
    bool negated;    /* NOT LIKE, NOT IN */
    size_t offset;   /* byte offset of the node's text, for error positions */
    size_t column;   /* 1-based character column of the same place */
    unsigned height; /* 1 for a leaf; at most CESQL_MAX_DEPTH */
    union {
        struct cesql_value literal;
        struct {
            const char *name; /* lower case, NUL-terminated */
            size_t len;
        } attribute;          /* CESQL_OP_ATTRIBUTE, CESQL_OP_EXISTS */
        struct cesql_node *operand; /* CESQL_OP_NOT, CESQL_OP_NEGATE */
        struct {
            struct cesql_node *left, *right;
        } binary;
        struct {
            struct cesql_node *subject;
            struct cesql_like_piece *pieces;
            size_t count;
        } like;
        struct {
            struct cesql_node *subject;
            struct cesql_node **items;
            size_t count;
        } in;
        struct {
            const struct cesql_function *function; /* NULL: no such function */
            const char *name;                      /* upper case, as written */
            struct cesql_node **args;
            size_t count;
        } call;
    } u;
};

struct cesql_expr {
    struct vane_arena arena; /* every node and string of the tree */
    struct cesql_node *root;
};

/* ---- evaluation state (cesql.c) ----------------------------------------- */

#define CESQL_SCRATCH_INLINE 512

struct cesql_run {
    const struct event *event;
    unsigned errors;           /* raised so far */
    int first_kind;            /* 0 until an error is raised */
    struct cesql_error *first; /* described here when not NULL */
    size_t scratch_used;
    struct vane_arena spill;
    _Alignas(16) char scratch[CESQL_SCRATCH_INLINE];
};

/* Records an error of kind at node's place (only the first is kept). */
void cesql_raise(struct cesql_run *run, const struct cesql_node *node, int kind,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* size bytes of scratch memory, valid until the evaluation ends. */
char *cesql_scratch(struct cesql_run *run, size_t size);

/* Casts explicitly (the casting functions) or implicitly (operators and
 * function parameters) to type; a failed cast raises CastError at node and
 * gives the zero value of type.  Returns false when it failed. */
bool cesql_cast(struct cesql_run *run, const struct cesql_node *node, struct cesql_value *value,
                enum cesql_type type, bool explicit_cast);

/* Sets *value to a string / integer / boolean. */
void cesql_set_string(struct cesql_value *value, const char *ptr, size_t len);
void cesql_set_integer(struct cesql_value *value, int32_t integer);
void cesql_set_boolean(struct cesql_value *value, bool boolean);
/* The zero value of type: "", 0 or FALSE. */
void cesql_set_zero(struct cesql_value *value, enum cesql_type type);

/* ---- functions (cesql_func.c) ------------------------------------------- */

/* The built-in function of that name (upper case, len bytes) taking count
 * arguments, or NULL. */
const struct cesql_function *cesql_function_find(const char *name, size_t len, size_t count);

/* Writes why no function matches the call NAME(count arguments) into buf:
 * "there is no function FOO" or "SUBSTRING takes 2 or 3 arguments, not 1". */
void cesql_function_missing(const char *name, size_t count, char *buf, size_t size);

#endif
