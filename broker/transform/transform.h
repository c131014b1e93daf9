/*
 * transform.h -- Vanus's transformer: a subscription's "transformer" JSON,
 * compiled once and applied to each event it delivers.
 *
 * The format is Vanus's (doc/transform.md has the user's guide):
 *
 *     {"define":   {"amount": "$.data.amount", "src": "$.source"},
 *      "pipeline": [{"command": ["create", "$.data.src", "<src>"]},
 *                   {"command": ["upper_case", "$.data.action"]}],
 *      "template": "source is <src>, amount is <amount>",
 *      "template_type": "text"}
 *
 * "define" names variables, each read from the event (an attribute "$.id",
 * "$.xvanusfoo"; data "$.data.a.b[0]") or a constant, once, before the
 * pipeline runs.  "pipeline" is a list of commands, run in order, each an
 * action name and its arguments (event paths, "<variable>" or constants).
 * "template", when present, renders the event's new data: a JSON template
 * (one whose first character is '{', '[' or '"', or "template_type":
 * "json") makes application/json data, any other a text/plain one.
 *
 * Compiling checks everything that can be checked before an event is seen:
 * action names, their number and kind of arguments, path syntax, constant
 * regular expressions, date formats and time zones, template syntax and the
 * variables templates name.  Applying can still fail on an event (a value
 * that is not a number, a key that create finds already there, data that is
 * not JSON); the caller then dead-letters the event.
 *
 * Threads: a compiled transformer is read-only; any number of threads may
 * apply it at once, each with its own output event, arena and error.
 */
#ifndef VANE_TRANSFORM_H
#define VANE_TRANSFORM_H

#include <jansson.h>

#include "core/arena.h"
#include "event/event.h"

struct transformer;

/* Where in the spec (or which command of the pipeline) a failure is, and why. */
struct transform_error {
    char path[128];    /* e.g. "pipeline[2].command[1]", "define.amount", "template" */
    char message[256]; /* what was wrong and what was expected */
};

/*
 * Compiles spec, a subscription's "transformer" object (borrowed: nothing of
 * it is kept).  Returns 0 with *out (free it with transformer_free()), or:
 *   -EINVAL   spec is invalid; err names the member at fault and why;
 *   -ENOTSUP  spec is {"lua": ...} or {"plugin": ..., "config": ...}: those
 *             transformers are trigger/external.h's, not compiled here.
 * *out is NULL on failure.
 */
int transformer_compile(json_t *spec, struct transformer **out, struct transform_error *err);

/*
 * Applies t to in and fills out (reset first) with the transformed event.
 * in is not changed and may be freed afterwards: every name, string value
 * and the data of out are copies in arena, which the caller owns and frees
 * after out; out's attribute array is out's own (event_free() releases it).
 * Data that no action touched (and no template replaced) is copied byte for
 * byte; data an action changed is JSON written anew, with datacontenttype
 * application/json.  Returns 0, or -EINVAL with err naming the command (or
 * "define.<name>", "template") that failed on this event; out is then left
 * as it was (an event reset or freed by the caller stays so).
 */
int transformer_apply(const struct transformer *t, const struct event *in, struct event *out,
                      struct vane_arena *arena, struct transform_error *err);

/* Frees t; NULL is allowed. */
void transformer_free(struct transformer *t);

#endif
