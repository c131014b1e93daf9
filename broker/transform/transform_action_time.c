/*
 * transform_action_time.c -- date_format and unix_time_format (Vanus's
 * pkg/transform/action/datetime).
 *
 *   ["date_format", path, format, timeZone?]       path holds an RFC 3339 time
 *   ["unix_time_format", path, format, timeZone?]  path holds Unix seconds
 *
 * The value at path is replaced by the time written in format, in the time
 * zone (an IANA name; UTC when left out or ""), as Vanus's
 * util.ConvertFormat2Go has it: d day, m month, Y four-digit year, y two-
 * digit year, H hour 00-23, h hour 01-12, i minutes, s seconds, each with
 * leading zeros; a backslash writes the next character as it is.  Every
 * other character is written as it is.  (Vanus passes those on to Go's
 * layout, where a stray "1", "Jan" or "PM" would be read as a field of its
 * own; here they stay text.)
 *
 * A constant time zone is loaded, and a constant format checked, when the
 * transformer is compiled; a time zone read from the event is loaded for
 * each event.
 */
#include <stdio.h>
#include <string.h>

#include "event/timestamp.h"
#include "transform/transform_internal.h"

/* Seconds from 0000-01-01 to 9999-12-31 end: what four-digit years can show. */
#define MIN_SECONDS (-62167219200LL)
#define MAX_SECONDS (253402300799LL)

static int check_format(const char *format, size_t len, struct transform_error *err)
{
    for (size_t i = 0; i < len; i++)
        if (format[i] == '\\' && ++i == len)
            return transform_why(err, "the format ends in a lone backslash");
    return 0;
}

static void write_time(struct vane_buf *out, const char *format, size_t len, int64_t local)
{
    int64_t days = transform_tz_floor_div(local, 86400), secs = local - days * 86400, year;
    int month, mday, hour = (int)(secs / 3600);

    transform_tz_civil(days, &year, &month, &mday);
    for (size_t i = 0; i < len; i++) {
        switch (format[i]) {
        case 'd': vane_buf_appendf(out, "%02d", mday); break;
        case 'm': vane_buf_appendf(out, "%02d", month); break;
        case 'Y': vane_buf_appendf(out, "%04d", (int)year); break;
        case 'y': vane_buf_appendf(out, "%02d", (int)(year % 100)); break;
        case 'H': vane_buf_appendf(out, "%02d", hour); break;
        case 'h': vane_buf_appendf(out, "%02d", hour % 12 == 0 ? 12 : hour % 12); break;
        case 'i': vane_buf_appendf(out, "%02d", (int)(secs % 3600 / 60)); break;
        case 's': vane_buf_appendf(out, "%02d", (int)(secs % 60)); break;
        case '\\':
            if (i + 1 < len)
                vane_buf_append(out, &format[++i], 1);
            break;
        default: vane_buf_append(out, &format[i], 1);
        }
    }
}

/* Writes the instant t (Unix seconds) at argument 0 in the format and zone the arguments give. */
static int format_at(struct tf_ctx *ctx, int64_t t)
{
    struct vane_buf format = VANE_BUF_INIT, zone_name = VANE_BUF_INIT, out = VANE_BUF_INIT;
    struct tf_zone *zone = ctx->action->priv, *loaded = NULL;
    int rc;

    if (t < MIN_SECONDS || t > MAX_SECONDS)
        return transform_action_fail(ctx, 0, "%s: the time is outside years 0 to 9999",
                                     ctx->action->args[0].text);
    if ((rc = transform_action_string(ctx, 1, &format)) != 0)
        goto out;
    if ((rc = check_format(format.data, format.len, ctx->err)) != 0) {
        rc = transform_action_failed(ctx, 1);
        goto out;
    }
    if (zone == NULL && ctx->action->nargs > 2 && ctx->action->args[2].kind != TF_ARG_CONST) {
        if ((rc = transform_action_string(ctx, 2, &zone_name)) != 0)
            goto out;
        if ((rc = transform_tz_load(zone_name.data ? zone_name.data : "", &loaded,
                                    ctx->err)) != 0) {
            rc = transform_action_failed(ctx, 2);
            goto out;
        }
        zone = loaded;
    }
    write_time(&out, format.data, format.len, t + transform_tz_offset(zone, t));
    rc = transform_action_set_string(ctx, 0, out.data, out.len);
out:
    transform_tz_free(loaded);
    vane_buf_free(&format);
    vane_buf_free(&zone_name);
    vane_buf_free(&out);
    return rc;
}

static int run_date_format(struct tf_ctx *ctx)
{
    struct vane_buf text = VANE_BUF_INIT;
    const char *why;
    int64_t ns;
    int rc = transform_action_string(ctx, 0, &text);

    if (rc == 0 && timestamp_parse(text.data ? text.data : "", text.len, &ns, &why) != 0)
        rc = transform_action_fail(ctx, 0, "%s: expected an RFC 3339 time: %s",
                                   ctx->action->args[0].text, why);
    vane_buf_free(&text);
    return rc != 0 ? rc : format_at(ctx, transform_tz_floor_div(ns, 1000000000));
}

static int run_unix_time_format(struct tf_ctx *ctx)
{
    long long seconds;
    int rc = transform_action_int(ctx, 0, &seconds);

    return rc != 0 ? rc : format_at(ctx, seconds);
}

/* Loads a constant zone and checks a constant format once, for every event. */
static int prepare_time(struct tf_action *action, json_t *command, const struct tf_define *defs,
                        size_t ndefs, struct transform_error *err)
{
    const struct tf_arg *format = &action->args[1];
    struct vane_buf text = VANE_BUF_INIT;
    int rc = 0;

    (void)command, (void)defs, (void)ndefs;
    if (format->kind == TF_ARG_CONST &&
        (transform_value_string(format->constant, &text, err) != 0 ||
         check_format(text.data, text.len, err) != 0))
        rc = 1;
    if (rc == 0 && action->nargs > 2 && action->args[2].kind == TF_ARG_CONST) {
        vane_buf_reset(&text);
        if (transform_value_string(action->args[2].constant, &text, err) != 0 ||
            transform_tz_load(text.data ? text.data : "", (struct tf_zone **)&action->priv,
                              err) != 0)
            rc = 2;
    }
    vane_buf_free(&text);
    if (rc != 0) {
        char why[sizeof(err->message)];

        snprintf(why, sizeof(why), "%s", err->message);
        return transform_action_reject(action, (size_t)rc, err, "%s", why);
    }
    return 0;
}

static void release_time(struct tf_action *action)
{
    transform_tz_free(action->priv);
    action->priv = NULL;
}

#define E TF_ARG_EVENT
#define A TF_ARG_ANY

const struct tf_action_def transform_action_time_defs[] = {
    {"date_format", NULL, 2, 3, {E, A, A}, 1u << 0, prepare_time, run_date_format, release_time},
    {"unix_time_format", NULL, 2, 3, {E, A, A}, 1u << 0, prepare_time, run_unix_time_format,
     release_time},
    {NULL, NULL, 0, 0, {0}, 0, NULL, NULL, NULL},
};
