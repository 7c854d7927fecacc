/* Rows to JSON, typed by column and the same on both drivers, and SQLite's time text.
 *
 * The drivers say what each value is (ch__db_driver.cell_type); this file only decides how each
 * type is spelled in JSON, so the two drivers cannot drift apart in formatting. */
#include <string.h>

#include "chopin/error.h"
#include "chopin/json.h"
#include "db/internal.h"

int64_t ch__db_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's days_from_civil: eras of 400 years, March-based years. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Reads exactly `n` digits at *p; -1 when they are not all there. */
static int digits(const char **p, const char *end, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (*p >= end || **p < '0' || **p > '9') return -1;
        v = v * 10 + (**p - '0');
    }
    return v;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

int ch__db_parse_time(struct ch_str s, int64_t *unix_ms)
{
    if (!s.ptr) return CH_EINVAL;
    const char *p = s.ptr, *end = s.ptr + s.len;
    int y = digits(&p, end, 4);
    if (y < 0 || p >= end || *p++ != '-') return CH_EINVAL;
    int mo = digits(&p, end, 2);
    if (mo < 1 || mo > 12 || p >= end || *p++ != '-') return CH_EINVAL;
    int d = digits(&p, end, 2);
    if (d < 1 || d > days_in_month(y, mo)) return CH_EINVAL;
    int h = 0, mi = 0, sec = 0, ms = 0;
    if (p < end && (*p == ' ' || *p == 'T')) {
        p++;
        h = digits(&p, end, 2);
        if (h < 0 || h > 23 || p >= end || *p++ != ':') return CH_EINVAL;
        mi = digits(&p, end, 2);
        if (mi < 0 || mi > 59) return CH_EINVAL;
        if (p < end && *p == ':') {
            p++;
            sec = digits(&p, end, 2);
            if (sec < 0 || sec > 59) return CH_EINVAL;
            if (p < end && *p == '.') {
                p++;
                int n = 0, scale = 100;
                for (; p < end && *p >= '0' && *p <= '9'; p++, n++) {
                    ms += (*p - '0') * scale; /* truncated to milliseconds, as PostgreSQL's */
                    scale /= 10;
                }
                if (!n) return CH_EINVAL;
            }
        }
    }
    int offset_min = 0;
    if (p < end && *p == 'Z') {
        p++;
    } else if (p < end && (*p == '+' || *p == '-')) {
        int sign = *p++ == '-' ? -1 : 1;
        int oh = digits(&p, end, 2);
        if (oh < 0 || oh > 23) return CH_EINVAL;
        if (p < end && *p == ':') p++;
        int om = digits(&p, end, 2);
        if (om < 0 || om > 59) return CH_EINVAL;
        offset_min = sign * (oh * 60 + om);
    }
    if (p != end) return CH_EINVAL;
    int64_t days = ch__db_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - (int64_t)offset_min * 60;
    *unix_ms = secs * 1000 + ms;
    return 0;
}

static int write_base64(struct ch_json_writer *w, struct ch_arena *a, struct ch_str b)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = (b.len + 2) / 3 * 4;
    char *out = ch_arena_alloc(a, n + 1);
    if (!out) return ch__json_fail(w, CH_ENOMEM), CH_ENOMEM;
    const unsigned char *s = (const unsigned char *)b.ptr;
    char *d = out;
    for (size_t i = 0; i < b.len; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        if (i + 1 < b.len) v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < b.len) v |= s[i + 2];
        *d++ = tab[v >> 18 & 63];
        *d++ = tab[v >> 12 & 63];
        *d++ = i + 1 < b.len ? tab[v >> 6 & 63] : '=';
        *d++ = i + 2 < b.len ? tab[v & 63] : '=';
    }
    return ch_json_str(w, ch_str_make(out, n));
}

/* PostgreSQL's numeric text as a JSON number without trailing fraction zeros ("12.50" is
 * 12.5, "3.00" is 3): a SQLite NUMERIC column stores 12.5 as a REAL and 3 as an INTEGER,
 * which print that way. NaN and the infinities have no JSON spelling: null, as for doubles. */
static int write_numeric(struct ch_json_writer *w, struct ch_str t)
{
    if (!t.len || (t.ptr[0] != '-' && (t.ptr[0] < '0' || t.ptr[0] > '9'))) return ch_json_null(w);
    if (memchr(t.ptr, '.', t.len)) {
        while (t.len && t.ptr[t.len - 1] == '0') t.len--;
        if (t.len && t.ptr[t.len - 1] == '.') t.len--;
    }
    if (t.len == 2 && t.ptr[0] == '-' && t.ptr[1] == '0') t = CH_STR("0");
    return ch_json_raw(w, t.ptr, t.len);
}

/* A JSON column, re-written compactly: PostgreSQL's jsonb text has spaces after ':' and ','
 * that SQLite's stored text may not. SQLite's text is only declared JSON: when it is not JSON
 * after all, it is written as a string. */
static int write_json(struct ch_json_writer *w, const struct ch_db_result *res, struct ch_str t)
{
    const struct ch_json_value *v;
    if (ch_json_parse(t.ptr ? t.ptr : "", t.len, res->arena, &v, NULL) != 0)
        return ch_json_str(w, t);
    return ch_json_write_value(w, v);
}

static int write_value(struct ch_json_writer *w, const struct ch_db_result *res, int row, int col)
{
    if (res->drv->is_null(res, row, col)) return ch_json_null(w);
    switch (res->drv->cell_type(res, row, col)) {
    case CH_DB_TYPE_NULL: return ch_json_null(w);
    case CH_DB_TYPE_INT: return ch_json_int(w, res->drv->get_int(res, row, col));
    case CH_DB_TYPE_FLOAT: return ch_json_double(w, res->drv->get_float(res, row, col));
    case CH_DB_TYPE_NUMERIC: return write_numeric(w, res->drv->get_text(res, row, col));
    case CH_DB_TYPE_BOOL: return ch_json_bool(w, res->drv->get_bool(res, row, col));
    case CH_DB_TYPE_TEXT:
    case CH_DB_TYPE_TIMESTAMP:
    case CH_DB_TYPE_DATE: return ch_json_str(w, res->drv->get_text(res, row, col));
    case CH_DB_TYPE_BYTES: return write_base64(w, res->arena, res->drv->get_text(res, row, col));
    case CH_DB_TYPE_JSON: return write_json(w, res, res->drv->get_text(res, row, col));
    case CH_DB_TYPE_OTHER: break;
    }
    return ch__json_fail(w, CH_EINVAL), CH_EINVAL;
}

int ch_db_write_row(struct ch_json_writer *w, const struct ch_db_result *res, int row)
{
    if (res->err || row < 0 || row >= res->nrows) return ch__json_fail(w, CH_EINVAL), CH_EINVAL;
    int rc = ch_json_object_begin(w);
    for (int c = 0; rc == 0 && c < res->ncols; c++) {
        rc = ch_json_key(w, res->drv->col_name(res, c));
        if (rc == 0) rc = write_value(w, res, row, c);
    }
    return rc ? rc : ch_json_object_end(w);
}

int ch_db_write_rows(struct ch_json_writer *w, const struct ch_db_result *res)
{
    int rc = ch_json_array_begin(w);
    for (int r = 0; rc == 0 && r < ch_db_rows(res); r++) rc = ch_db_write_row(w, res, r);
    return rc ? rc : ch_json_array_end(w);
}
