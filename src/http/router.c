/* Radix-tree router: pattern parsing, insertion, the backtracking matcher and the route list.
 *
 * The tree is a byte-level radix tree of static text. A node whose text ends a segment (its
 * prefix ends with '/') may also have one parameter child and one wildcard child. A parameter
 * node consumes exactly one whole segment and continues with static children that start with
 * '/'; a wildcard node consumes the rest of the path and has no children. Because a parameter
 * always takes the whole segment, every node can only ever be reached at one position of a given
 * path: the matcher's depth-first search enters each node at most once, which bounds the work
 * by the size of the tree instead of letting backtracking grow exponentially. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chopin/error.h"
#include "chopin/router.h"

enum kind { K_STATIC, K_PARAM, K_WILD };

struct leaf {
    unsigned mask;    /* methods registered on this pattern */
    unsigned allowed; /* mask, plus HEAD wherever GET is */
    const char *pattern;
    void *data[CH_METHOD_COUNT];
};

struct node {
    /* Static: the bytes this node matches. Parameter and wildcard: the name. Points into one of
     * the router's pattern copies, which live as long as the router. */
    const char *label;
    uint32_t len;
    uint8_t kind;
    uint16_t nchildren, cap; /* at most 256 static children: one per first byte */
    unsigned char *first;    /* first byte of each static child's label, for a quick scan */
    struct node **children;
    struct node *param, *wild;
    struct leaf *leaf;
    struct node *parent;   /* lets the matcher backtrack without a stack */
    struct node *all_next; /* every node the router allocated, for ch_router_free() */
};

struct ch_router {
    struct node *root;
    struct node *all;
    struct ch_route_info *routes;
    size_t nroutes, routes_cap;
    char **copies; /* pattern copies; kept until the end since node labels point into them */
    size_t ncopies, copies_cap;
};

struct token {
    enum kind kind;
    const char *ptr;
    size_t len;
};

/* Static text and parameters alternate, so a pattern has at most one more static token than
 * parameters. */
enum { MAX_TOKENS = 2 * (CH_ROUTER_MAX_PARAMS + 1) };

/* ---- Pattern parsing ------------------------------------------------------------------------ */

/* Bytes that can appear in a request path as it arrives. Controls and space never do, '?' starts
 * the query and '#' the fragment: a pattern containing them is a mistake, not a route. */
static int static_byte(unsigned char c)
{
    return c > 0x20 && c != 0x7f && c != '?' && c != '#';
}

static int name_byte(unsigned char c)
{
    return (unsigned char)((c | 0x20) - 'a') < 26 || (unsigned char)(c - '0') < 10 || c == '_';
}

/* Splits a pattern into static, parameter and wildcard tokens, enforcing the syntax documented
 * in router.h. Returns the token count, CH_EINVAL or CH_ERANGE. */
static int tokenize(const char *p, size_t n, struct token *t)
{
    if (n == 0 || p[0] != '/') return CH_EINVAL;
    size_t i = 0, k = 0, nparams = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && !((p[i] == ':' || p[i] == '*') && p[i - 1] == '/')) {
            if (!static_byte((unsigned char)p[i])) return CH_EINVAL;
            i++;
        }
        if (i > start) t[k++] = (struct token){K_STATIC, p + start, i - start};
        if (i == n) break;

        enum kind kind = p[i++] == ':' ? K_PARAM : K_WILD;
        size_t name = i;
        while (i < n && p[i] != '/') {
            if (!name_byte((unsigned char)p[i])) return CH_EINVAL;
            i++;
        }
        if (i == name) return CH_EINVAL;               /* ":" or "*" without a name */
        if (kind == K_WILD && i < n) return CH_EINVAL; /* the wildcard must end the pattern */
        if (nparams == CH_ROUTER_MAX_PARAMS) return CH_ERANGE;
        for (size_t j = 0; j < k; j++)
            if (t[j].kind != K_STATIC && t[j].len == i - name &&
                memcmp(t[j].ptr, p + name, i - name) == 0)
                return CH_EINVAL; /* the same name twice in one pattern */
        t[k++] = (struct token){kind, p + name, i - name};
        nparams++;
    }
    return (int)k;
}

/* ---- Tree construction ---------------------------------------------------------------------- */

static struct node *static_child(const struct node *n, unsigned char c, size_t *index)
{
    for (size_t i = 0; i < n->nchildren; i++) {
        if (n->first[i] == c) {
            if (index) *index = i;
            return n->children[i];
        }
    }
    return NULL;
}

static size_t common_prefix(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i = 0, n = alen < blen ? alen : blen;
    while (i < n && a[i] == b[i]) i++;
    return i;
}

/* Checks, without changing anything, that adding the tokens for `mask` would not conflict with
 * an existing route: a differently named parameter or wildcard at the same place (CH_EINVAL) or
 * a method already routed on the same pattern (CH_EBUSY). */
static int check_conflicts(const struct ch_router *r, const struct token *t, size_t ntok,
                           unsigned mask)
{
    const struct node *n = r->root;
    for (size_t k = 0; k < ntok; k++) {
        if (t[k].kind == K_STATIC) {
            const char *s = t[k].ptr;
            size_t len = t[k].len;
            while (len) {
                const struct node *c = static_child(n, (unsigned char)s[0], NULL);
                /* Where the text leaves the tree, everything after it will be new nodes. */
                if (!c || c->len > len || memcmp(c->label, s, c->len) != 0) return 0;
                n = c;
                s += c->len;
                len -= c->len;
            }
        } else {
            const struct node *c = t[k].kind == K_PARAM ? n->param : n->wild;
            if (!c) return 0;
            if (c->len != t[k].len || memcmp(c->label, t[k].ptr, t[k].len) != 0) return CH_EINVAL;
            n = c;
        }
    }
    return n->leaf && (n->leaf->mask & mask) ? CH_EBUSY : 0;
}

static struct node *new_node(struct ch_router *r, enum kind kind, const char *label, size_t len)
{
    struct node *n = calloc(1, sizeof(*n));
    if (!n) return NULL;
    n->kind = (uint8_t)kind;
    n->label = label;
    n->len = (uint32_t)len;
    /* Listed at once, so a node is freed with the router even if linking it fails later. */
    n->all_next = r->all;
    r->all = n;
    return n;
}

/* Makes room for one more static child; the node is unchanged when this fails. */
static int reserve_child(struct node *n)
{
    if (n->nchildren < n->cap) return 0;
    size_t cap = n->cap ? (size_t)n->cap * 2 : 2;
    unsigned char *first = realloc(n->first, cap);
    if (!first) return CH_ENOMEM;
    n->first = first;
    struct node **children = realloc(n->children, cap * sizeof(*children));
    if (!children) return CH_ENOMEM;
    n->children = children;
    n->cap = (uint16_t)cap;
    return 0;
}

static void link_child(struct node *n, struct node *c)
{
    n->first[n->nchildren] = (unsigned char)c->label[0];
    n->children[n->nchildren++] = c;
    c->parent = n;
}

/* Descends from *np along static text `s`, splitting and creating nodes as needed, and leaves in
 * *np the node whose prefix ends with `s`. Every step allocates before it relinks, so a failure
 * leaves a consistent tree. */
static int insert_static(struct ch_router *r, struct node **np, const char *s, size_t len)
{
    struct node *n = *np;
    while (len) {
        size_t i;
        struct node *c = static_child(n, (unsigned char)s[0], &i);
        if (!c) {
            if (reserve_child(n) != 0) return CH_ENOMEM;
            struct node *leaf = new_node(r, K_STATIC, s, len);
            if (!leaf) return CH_ENOMEM;
            link_child(n, leaf);
            *np = leaf;
            return 0;
        }
        size_t common = common_prefix(c->label, c->len, s, len);
        if (common < c->len) {
            /* Split c: a new node takes the shared prefix and c keeps the rest together with its
             * children and routes, so every existing route still matches through the new node. */
            struct node *mid = new_node(r, K_STATIC, c->label, common);
            if (!mid || reserve_child(mid) != 0) return CH_ENOMEM;
            n->children[i] = mid;
            mid->parent = n;
            c->label += common;
            c->len -= (uint32_t)common;
            link_child(mid, c);
            c = mid;
        }
        n = c;
        s += common;
        len -= common;
    }
    *np = n;
    return 0;
}

static int insert(struct ch_router *r, const struct token *t, size_t ntok, struct node **out)
{
    struct node *n = r->root;
    for (size_t k = 0; k < ntok; k++) {
        if (t[k].kind == K_STATIC) {
            if (insert_static(r, &n, t[k].ptr, t[k].len) != 0) return CH_ENOMEM;
            continue;
        }
        struct node **slot = t[k].kind == K_PARAM ? &n->param : &n->wild;
        if (!*slot) {
            struct node *c = new_node(r, t[k].kind, t[k].ptr, t[k].len);
            if (!c) return CH_ENOMEM;
            c->parent = n;
            *slot = c;
        }
        n = *slot;
    }
    if (!n->leaf && !(n->leaf = calloc(1, sizeof(*n->leaf)))) return CH_ENOMEM;
    *out = n;
    return 0;
}

/* Grows an array of `size`-byte elements so that one more fits. */
static int reserve_one(void **array, size_t *cap, size_t used, size_t size)
{
    if (used < *cap) return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = realloc(*array, ncap * size);
    if (!p) return CH_ENOMEM;
    *array = p;
    *cap = ncap;
    return 0;
}

/* ---- Public API ----------------------------------------------------------------------------- */

struct ch_router *ch_router_new(void)
{
    struct ch_router *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->root = new_node(r, K_STATIC, "", 0);
    if (!r->root) {
        free(r);
        return NULL;
    }
    return r;
}

void ch_router_free(struct ch_router *r)
{
    if (!r) return;
    for (struct node *n = r->all, *next; n; n = next) {
        next = n->all_next;
        free(n->first);
        free(n->children);
        free(n->leaf);
        free(n);
    }
    for (size_t i = 0; i < r->ncopies; i++) free(r->copies[i]);
    free(r->copies);
    free(r->routes);
    free(r);
}

int ch_router_add(struct ch_router *r, unsigned method_mask, const char *pattern, void *data)
{
    if (!pattern || method_mask == 0 || (method_mask & ~(unsigned)CH_ANY)) return CH_EINVAL;
    size_t len = strnlen(pattern, CH_ROUTER_MAX_PATTERN + 1);
    if (len > CH_ROUTER_MAX_PATTERN) return CH_ERANGE;

    struct token t[MAX_TOKENS];
    int ntok = tokenize(pattern, len, t);
    if (ntok < 0) return ntok;
    int rc = check_conflicts(r, t, (size_t)ntok, method_mask);
    if (rc != 0) return rc;

    /* Reserve every array slot first so that nothing can fail after the tree has the route. */
    if (reserve_one((void **)&r->copies, &r->copies_cap, r->ncopies, sizeof(char *)) != 0 ||
        reserve_one((void **)&r->routes, &r->routes_cap, r->nroutes, sizeof(*r->routes)) != 0)
        return CH_ENOMEM;
    char *copy = malloc(len + 1);
    if (!copy) return CH_ENOMEM;
    memcpy(copy, pattern, len + 1);
    r->copies[r->ncopies++] = copy;

    struct ch_route_info *info = &r->routes[r->nroutes];
    memset(info, 0, sizeof(*info));
    for (int k = 0; k < ntok; k++) {
        t[k].ptr = copy + (t[k].ptr - pattern);
        if (t[k].kind == K_STATIC) continue;
        info->param_names[info->nparams++] = ch_str_make(t[k].ptr, t[k].len);
        info->wildcard = t[k].kind == K_WILD;
    }

    struct node *n;
    if (insert(r, t, (size_t)ntok, &n) != 0) return CH_ENOMEM;
    struct leaf *l = n->leaf;
    if (!l->pattern) l->pattern = copy;
    for (unsigned m = 0; m < CH_METHOD_COUNT; m++)
        if (method_mask & CH_METHOD_BIT(m)) l->data[m] = data;
    l->mask |= method_mask;
    l->allowed = l->mask;
    if (l->mask & CH_METHOD_BIT(CH_GET)) l->allowed |= CH_METHOD_BIT(CH_HEAD);

    info->pattern = copy;
    info->methods = method_mask;
    info->data = data;
    r->nroutes++;
    return 0;
}

/* The data a leaf has for `method`, HEAD falling back to GET. Returns 0 when it has none. */
static int leaf_lookup(const struct leaf *l, unsigned method, void **data)
{
    if (method < CH_METHOD_COUNT && (l->mask & CH_METHOD_BIT(method))) {
        *data = l->data[method];
        return 1;
    }
    if (method == CH_HEAD && (l->mask & CH_METHOD_BIT(CH_GET))) {
        *data = l->data[CH_GET];
        return 1;
    }
    return 0;
}

/* An iterative depth-first search in precedence order. `phase` says what to try next at node n:
 * 0 a route ending here, 1 the static child, 2 the parameter, 3 the wildcard, 4 going back up.
 * Coming back up from a child resumes the parent at the phase after that child's kind, which
 * the parent pointers make possible without a stack. The first route that accepts the method
 * wins; routes that match the path but not the method only contribute to `allowed`. */
enum ch_route_status ch_router_match(const struct ch_router *r, enum ch_method method,
                                     struct ch_str path, struct ch_route_match *m)
{
    const char *p = path.ptr;
    const size_t len = path.len;
    const struct node *const root = r->root;
    const struct node *n = root;
    size_t pos = 0, np = 0;
    unsigned allowed = 0;
    int phase = 0;

    m->data = NULL;
    m->pattern = NULL;
    m->nparams = 0;
    for (;;) {
        switch (phase) {
        case 0:
            if (pos == len && n->leaf) {
                if (leaf_lookup(n->leaf, (unsigned)method, &m->data)) {
                    m->pattern = n->leaf->pattern;
                    m->allowed = n->leaf->allowed;
                    m->nparams = np;
                    return CH_ROUTE_FOUND;
                }
                allowed |= n->leaf->allowed;
            }
            /* fall through */
        case 1:
            if (pos < len) {
                const struct node *c = static_child(n, (unsigned char)p[pos], NULL);
                if (c && c->len <= len - pos && memcmp(c->label, p + pos, c->len) == 0) {
                    n = c;
                    pos += c->len;
                    phase = 0;
                    continue;
                }
            }
            /* fall through */
        case 2:
            if (n->param && pos < len && p[pos] != '/' && np < CH_ROUTER_MAX_PARAMS) {
                const char *end = memchr(p + pos, '/', len - pos);
                size_t vlen = end ? (size_t)(end - (p + pos)) : len - pos;
                m->params[np].name = ch_str_make(n->param->label, n->param->len);
                m->params[np++].value = ch_str_make(p + pos, vlen);
                n = n->param;
                pos += vlen;
                phase = 0;
                continue;
            }
            /* fall through */
        case 3:
            if (n->wild && np < CH_ROUTER_MAX_PARAMS) {
                m->params[np].name = ch_str_make(n->wild->label, n->wild->len);
                m->params[np++].value = ch_str_make(p + pos, len - pos);
                n = n->wild;
                pos = len;
                phase = 0;
                continue;
            }
            /* fall through */
        default:
            if (n == root) goto done;
            if (n->kind == K_STATIC) {
                pos -= n->len;
                phase = 2;
            } else {
                np--;
                pos = (size_t)(m->params[np].value.ptr - p);
                phase = n->kind == K_PARAM ? 3 : 4;
            }
            n = n->parent;
        }
    }
done:
    m->allowed = allowed;
    return allowed ? CH_ROUTE_METHOD_NOT_ALLOWED : CH_ROUTE_NOT_FOUND;
}

size_t ch_router_route_count(const struct ch_router *r)
{
    return r->nroutes;
}

const struct ch_route_info *ch_router_route(const struct ch_router *r, size_t i)
{
    return i < r->nroutes ? &r->routes[i] : NULL;
}

size_t ch_router_format_allow(unsigned mask, char *dst)
{
    size_t n = 0;
    for (int i = 0; i < CH_METHOD_COUNT; i++) {
        if (!(mask & CH_METHOD_BIT(i))) continue;
        if (n) {
            dst[n++] = ',';
            dst[n++] = ' ';
        }
        const char *name = ch_method_name((enum ch_method)i);
        size_t l = strlen(name);
        memcpy(dst + n, name, l);
        n += l;
    }
    dst[n] = '\0';
    return n;
}

struct ch_str ch_route_param(const struct ch_route_match *m, struct ch_str name)
{
    for (size_t i = 0; i < m->nparams; i++)
        if (ch_str_eq(m->params[i].name, name)) return m->params[i].value;
    return ch_str_make(NULL, 0);
}
