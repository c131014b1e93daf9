/*
 * transform_arg.c -- one argument of a command, or the value of a define
 * variable (see transform_internal.h).
 *
 * Classified as Vanus's arg.NewArg does: a JSON string, spaces trimmed, is
 * an event path when it starts "$." (data when "$.data" follows, else an
 * attribute), a data path when it starts "@.", a variable when it is
 * "<name>" (but not "<@...>", which render_array keeps for itself);
 * anything else, strings untrimmed and numbers, booleans, objects alike, is
 * a constant.  Unlike Vanus, a variable that define does not name is an
 * error when the transformer is compiled, not a null at run time.
 *
 * Evaluated, a missing path and a JSON null are both "no value": Vanus's
 * Evaluate reports the two alike.
 */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "transform/transform_internal.h"

long transform_arg_find_var(const struct tf_define *defs, size_t ndefs, const char *name,
                            size_t len)
{
    for (size_t i = 0; i < ndefs; i++)
        if (strlen(defs[i].name) == len && memcmp(defs[i].name, name, len) == 0)
            return (long)i;
    return -1;
}

static bool starts(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);

    return len >= n && memcmp(s, prefix, n) == 0;
}

static int compile_path(const char *s, size_t len, struct tf_arg *arg,
                        struct transform_error *err)
{
    size_t used;
    int rc = transform_path_parse(s, len, false, true, &used, &arg->path, err);

    if (rc != 0)
        return rc;
    arg->kind = arg->path.attr != NULL ? TF_ARG_ATTR : TF_ARG_DATA;
    return 0;
}

static int compile_var(const char *s, size_t len, const struct tf_define *defs, size_t ndefs,
                       struct tf_arg *arg, struct transform_error *err)
{
    long var = transform_arg_find_var(defs, ndefs, s + 1, len - 2);

    if (var < 0)
        return transform_why(err, "variable <%.*s> is not defined: name it in \"define\"",
                             (int)(len - 2), s + 1);
    arg->kind = TF_ARG_DEFINE;
    arg->var = (size_t)var;
    return 0;
}

int transform_arg_compile(json_t *value, const struct tf_define *defs, size_t ndefs,
                          struct tf_arg *arg, struct transform_error *err)
{
    const char *s = json_string_value(value);
    size_t len = json_string_length(value);
    int rc = 0;

    memset(arg, 0, sizeof(*arg));
    if (s != NULL) {
        while (len > 0 && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
            s++, len--;
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' ||
                           s[len - 1] == '\r'))
            len--;
        arg->text = vane_strndup(s, len);
    } else {
        char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);

        arg->text = vane_strdup(text != NULL ? text : "?");
        free(text);
    }
    if (s != NULL && (starts(s, len, "$.") || starts(s, len, "@.")))
        rc = compile_path(s, len, arg, err);
    else if (s != NULL && len >= 3 && s[0] == '<' && s[len - 1] == '>' && s[1] != '@')
        rc = compile_var(s, len, defs, ndefs, arg, err);
    else {
        arg->kind = TF_ARG_CONST;
        arg->constant = json_incref(value);
    }
    if (rc != 0)
        transform_arg_free(arg);
    return rc;
}

void transform_arg_free(struct tf_arg *arg)
{
    json_decref(arg->constant);
    transform_path_free(&arg->path);
    vane_free(arg->text);
    memset(arg, 0, sizeof(*arg));
}

int transform_arg_eval(const struct tf_arg *arg, struct tf_work *work, json_t **value,
                       struct transform_error *err)
{
    int rc = 0;

    *value = NULL;
    switch (arg->kind) {
    case TF_ARG_CONST:
        *value = json_incref(arg->constant);
        break;
    case TF_ARG_DEFINE:
        if (arg->var < work->nvars)
            *value = json_incref(work->vars[arg->var]);
        break;
    case TF_ARG_ATTR:
    case TF_ARG_DATA:
        rc = transform_path_get(work, &arg->path, value, err);
        break;
    }
    if (*value != NULL && json_is_null(*value)) {
        json_decref(*value);
        *value = NULL;
    }
    return rc;
}
