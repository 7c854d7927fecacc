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

/* A node is one allocation: this header, the label (static text, or a parameter's name) padded
 * to label_cap bytes, then a table of edges to static children indexed by their first byte minus
 * `lo`. Keeping the three together means a cache line or two per node visited, and the table
 * finds a child with a subtraction and a bounds check instead of a scan whose exit the branch
 * predictor cannot learn. A table spans from its smallest to its largest first byte, so sparse
 * fan-outs cost some empty edges (at most 223 in all). Nodes are reallocated when their table
 * grows; relink() then repairs the pointers to and from the moved node. */
struct node {
    struct node *parent; /* lets the matcher backtrack without a stack */
    struct node *param, *wild;
    struct leaf *leaf;
    uint16_t len;       /* label length (patterns are at most CH_ROUTER_MAX_PATTERN bytes) */
    uint16_t label_cap; /* fixed at creation, so the table's offset never changes */
    uint16_t span;      /* table entries; 0 without static children */
    uint8_t lo;         /* first byte of table[0] */
    uint8_t kind;
};

/* A static child as its parent's table holds it: the pointer, plus a copy of what the matcher
 * needs to compare the child's label and index the child's own table. Stepping down a level
 * then waits for one load (this edge) instead of three in a row (the parent's header, the
 * table slot, the child's header), which is most of the cost once the tree outgrows L1. */
struct edge {
    struct node *node; /* NULL: no child starts with this byte */
    uint16_t len, label_cap, span;
    uint8_t lo;
};

static inline char *label_of(const struct node *n)
{
    return (char *)(n + 1);
}

static inline struct edge *table_at(const struct node *n, size_t label_cap)
{
    return (struct edge *)((char *)(n + 1) + label_cap);
}

static inline struct edge *table_of(const struct node *n)
{
    return table_at(n, n->label_cap);
}

static inline struct edge edge_to(struct node *n)
{
    return (struct edge){n, n->len, n->label_cap, n->span, n->lo};
}

struct ch_router {
    struct node *root;
    struct ch_route_info *routes; /* each owns its pattern copy */
    size_t nroutes, routes_cap;
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

/* The static child whose label starts with byte c, or NULL. */
static inline struct node *static_child(const struct node *n, unsigned char c)
{
    unsigned i = (unsigned)c - n->lo;
    return i < n->span ? table_of(n)[i].node : NULL;
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
                const struct node *c = static_child(n, (unsigned char)s[0]);
                /* Where the text leaves the tree, everything after it will be new nodes. */
                if (!c || c->len > len || memcmp(label_of(c), s, c->len) != 0) return 0;
                n = c;
                s += c->len;
                len -= c->len;
            }
        } else {
            const struct node *c = t[k].kind == K_PARAM ? n->param : n->wild;
            if (!c) return 0;
            if (c->len != t[k].len || memcmp(label_of(c), t[k].ptr, t[k].len) != 0)
                return CH_EINVAL;
            n = c;
        }
    }
    return n->leaf && (n->leaf->mask & mask) ? CH_EBUSY : 0;
}

static struct node *node_new(enum kind kind, const char *label, size_t len, size_t span)
{
    size_t cap = (len + 7) & ~(size_t)7; /* keeps the table aligned */
    struct node *n = calloc(1, sizeof(*n) + cap + span * sizeof(struct edge));
    if (!n) return NULL;
    n->kind = (uint8_t)kind;
    n->len = (uint16_t)len;
    n->label_cap = (uint16_t)cap;
    n->span = (uint16_t)span;
    if (len) memcpy(label_of(n), label, len);
    return n;
}

/* After n moved or its table changed shape, updates its parent's pointer or edge to it and
 * points its children back at it. */
static void relink(struct ch_router *r, struct node *n)
{
    struct node *p = n->parent;
    if (!p)
        r->root = n;
    else if (n->kind == K_PARAM)
        p->param = n;
    else if (n->kind == K_WILD)
        p->wild = n;
    else
        table_of(p)[(unsigned char)label_of(n)[0] - p->lo] = edge_to(n);
    struct edge *t = table_of(n);
    for (size_t i = 0; i < n->span; i++)
        if (t[i].node) t[i].node->parent = n;
    if (n->param) n->param->parent = n;
    if (n->wild) n->wild->parent = n;
}

/* Links c as a static child of *np, growing (and so perhaps moving) *np first. On failure
 * nothing changed and c is not linked. */
static int link_child(struct ch_router *r, struct node **np, struct node *c)
{
    struct node *n = *np;
    unsigned b = (unsigned char)label_of(c)[0];
    unsigned lo = n->span ? n->lo : b, hi = n->span ? n->lo + n->span - 1u : b;
    if (b < lo) lo = b;
    if (b > hi) hi = b;
    size_t span = hi - lo + 1, old = n->span, shift = old ? n->lo - lo : 0;
    if (span != old) {
        struct node *m = realloc(n, sizeof(*n) + n->label_cap + span * sizeof(struct edge));
        if (!m) return CH_ENOMEM;
        struct edge *t = table_of(m);
        memmove(t + shift, t, old * sizeof(*t));
        memset(t, 0, shift * sizeof(*t));
        memset(t + shift + old, 0, (span - shift - old) * sizeof(*t));
        m->lo = (uint8_t)lo;
        m->span = (uint16_t)span;
        relink(r, m); /* even in place: the parent's edge copies lo and span */
        *np = n = m;
    }
    c->parent = n;
    table_of(n)[b - lo] = edge_to(c);
    return 0;
}

/* Descends from *np along static text `s`, splitting and creating nodes as needed, and leaves in
 * *np the node whose prefix ends with `s`. Every step allocates before it relinks, so a failure
 * leaves a consistent tree (perhaps with an extra empty node). */
static int insert_static(struct ch_router *r, struct node **np, const char *s, size_t len)
{
    struct node *n = *np;
    while (len) {
        struct node *c = static_child(n, (unsigned char)s[0]);
        if (!c) {
            struct node *tail = node_new(K_STATIC, s, len, 0);
            if (!tail) return CH_ENOMEM;
            if (link_child(r, &n, tail) != 0) {
                free(tail);
                return CH_ENOMEM;
            }
            *np = tail;
            return 0;
        }
        size_t common = common_prefix(label_of(c), c->len, s, len);
        if (common < c->len) {
            /* Split c: a new node takes the shared prefix and c keeps the rest together with its
             * children and routes, so every existing route still matches through the new node.
             * c's label shrinks in place; its table does not move. */
            struct node *mid = node_new(K_STATIC, label_of(c), common, 1);
            if (!mid) return CH_ENOMEM;
            memmove(label_of(c), label_of(c) + common, c->len - common);
            c->len -= (uint16_t)common;
            mid->lo = (uint8_t)label_of(c)[0];
            c->parent = mid;
            table_of(mid)[0] = edge_to(c);
            mid->parent = n;
            table_of(n)[(unsigned char)s[0] - n->lo] = edge_to(mid);
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
            struct node *c = node_new(t[k].kind, t[k].ptr, t[k].len, 0);
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

/* ---- Public API ----------------------------------------------------------------------------- */

struct ch_router *ch_router_new(void)
{
    struct ch_router *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->root = node_new(K_STATIC, "", 0, 0);
    if (!r->root) {
        free(r);
        return NULL;
    }
    return r;
}

/* Detaches and returns one child of n, or NULL when it has none left. */
static struct node *take_child(struct node *n)
{
    struct node *c;
    struct edge *t = table_of(n);
    for (size_t i = 0; i < n->span; i++) {
        if ((c = t[i].node)) {
            t[i].node = NULL;
            return c;
        }
    }
    if ((c = n->param))
        n->param = NULL;
    else if ((c = n->wild))
        n->wild = NULL;
    return c;
}

void ch_router_free(struct ch_router *r)
{
    if (!r) return;
    /* Post-order without recursion: descend while a child is left, free on the way back up. */
    struct node *n = r->root;
    while (n) {
        struct node *c = take_child(n);
        if (c) {
            n = c;
            continue;
        }
        struct node *parent = n->parent;
        free(n->leaf);
        free(n);
        n = parent;
    }
    for (size_t i = 0; i < r->nroutes; i++) free((char *)r->routes[i].pattern);
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

    /* Reserve the route's slot and copy first, so that nothing can fail once the tree has the
     * route. */
    if (r->nroutes == r->routes_cap) {
        size_t cap = r->routes_cap ? r->routes_cap * 2 : 8;
        struct ch_route_info *routes = realloc(r->routes, cap * sizeof(*routes));
        if (!routes) return CH_ENOMEM;
        r->routes = routes;
        r->routes_cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) return CH_ENOMEM;
    memcpy(copy, pattern, len + 1);

    struct node *n;
    if (insert(r, t, (size_t)ntok, &n) != 0) {
        free(copy);
        return CH_ENOMEM;
    }
    struct leaf *l = n->leaf;
    if (!l->pattern) l->pattern = copy;
    for (unsigned m = 0; m < CH_METHOD_COUNT; m++)
        if (method_mask & CH_METHOD_BIT(m)) l->data[m] = data;
    l->mask |= method_mask;
    l->allowed = l->mask;
    if (l->mask & CH_METHOD_BIT(CH_GET)) l->allowed |= CH_METHOD_BIT(CH_HEAD);

    struct ch_route_info *info = &r->routes[r->nroutes++];
    memset(info, 0, sizeof(*info));
    info->pattern = copy;
    info->methods = method_mask;
    info->data = data;
    for (int k = 0; k < ntok; k++) {
        if (t[k].kind == K_STATIC) continue;
        info->param_names[info->nparams++] = ch_str_make(copy + (t[k].ptr - pattern), t[k].len);
        info->wildcard = t[k].kind == K_WILD;
    }
    return 0;
}

/* Compares a static child's label with the path. The child was chosen by its first byte, so the
 * comparison starts at the second; labels are mostly a few bytes long, where a call to memcmp
 * cost more than the comparison itself. */
static inline int label_matches(const char *label, const char *p, size_t n)
{
    size_t i = 1;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, label + i, 8);
        memcpy(&y, p + i, 8);
        if (x != y) return 0;
    }
    for (; i < n; i++)
        if (label[i] != p[i]) return 0;
    return 1;
}

/* The data a leaf has for `method`, HEAD falling back to GET. Returns 0 when it has none. */
static inline int leaf_lookup(const struct leaf *l, unsigned method, void **data)
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
    /* The current node's table, taken from the edge that led here when there was one. */
    const struct edge *tab = table_of(n);
    unsigned lo = n->lo, span = n->span;
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
                unsigned i = (unsigned)(unsigned char)p[pos] - lo;
                if (i < span) {
                    const struct edge *e = &tab[i];
                    if (e->node && e->len <= len - pos &&
                        label_matches(label_of(e->node), p + pos, e->len)) {
                        n = e->node;
                        tab = table_at(n, e->label_cap);
                        lo = e->lo;
                        span = e->span;
                        pos += e->len;
                        phase = 0;
                        continue;
                    }
                }
            }
            /* fall through */
        case 2:
            if (n->param && pos < len && p[pos] != '/' && np < CH_ROUTER_MAX_PARAMS) {
                /* Segments are short: a loop beats a call to memchr. */
                size_t end = pos + 1;
                while (end < len && p[end] != '/') end++;
                n = n->param;
                m->params[np].name = ch_str_make(label_of(n), n->len);
                m->params[np++].value = ch_str_make(p + pos, end - pos);
                pos = end;
                phase = 0;
                break;
            }
            /* fall through */
        case 3:
            if (n->wild && np < CH_ROUTER_MAX_PARAMS) {
                n = n->wild;
                m->params[np].name = ch_str_make(label_of(n), n->len);
                m->params[np++].value = ch_str_make(p + pos, len - pos);
                pos = len;
                phase = 0;
                break;
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
        /* Reached n through a parameter, a wildcard or its parent pointer: read its own header. */
        tab = table_of(n);
        lo = n->lo;
        span = n->span;
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
