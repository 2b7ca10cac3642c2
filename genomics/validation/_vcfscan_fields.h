/*
 * _vcfscan_fields.h: the VCF field grammar of the record scanner (part of _vcfscan.c, which includes it
 * once): value types and Number encodings, key definitions and their hash tables, and the checks of one
 * field's bytes (bases, names, keys, integers, floats, CIGARs, value lists, ALT alleles). Nothing here
 * reports an issue; the column checks (_vcfscan_columns.h) do.
 */
#ifndef GENOMICS_VCFSCAN_FIELDS_H
#define GENOMICS_VCFSCAN_FIELDS_H

#include "_scanmodule.h"
#include <string.h>

/* value types */
enum { T_INT = 0, T_FLOAT = 1, T_FLAG = 2, T_CHAR = 3, T_STR = 4, T_ANY = 5 };
/* Def.flags bits (extra value rules) */
#define F_NONNEG 1
#define F_CIGAR 2
#define F_IMPLIED 4 /* not declared: a reserved key's spec definition, which htslib does not apply */
/* numbers: >= 0 fixed count */
enum { N_A = -1, N_R = -2, N_G = -3, N_VAR = -4 };


/* ---------------------------------------------------------------- key tables */
typedef struct {
    char *key;
    int klen;
    int number;
    int type;
    int flags;
} Def;

typedef struct {
    Def *slots;
    size_t cap;
    size_t n;
} Table;

static int table_init(Table *t, size_t cap) {
    t->cap = cap;
    t->n = 0;
    t->slots = (Def *)PyMem_Calloc(cap, sizeof(Def));
    return t->slots ? 0 : -1;
}

static void table_free(Table *t) {
    if (!t->slots) return;
    for (size_t i = 0; i < t->cap; i++) PyMem_Free(t->slots[i].key);
    PyMem_Free(t->slots);
    t->slots = NULL;
}

static Def *table_get(const Table *t, const char *k, size_t n) {
    size_t mask = t->cap - 1, i = (size_t)hash_bytes(k, n) & mask;
    while (t->slots[i].key) {
        if ((size_t)t->slots[i].klen == n && memcmp(t->slots[i].key, k, n) == 0) return &t->slots[i];
        i = (i + 1) & mask;
    }
    return NULL;
}

static int table_grow(Table *t);

static Def *table_put(Table *t, const char *k, size_t n, int number, int type, int flags) {
    Def *d = table_get(t, k, n);
    if (d) {
        d->number = number;
        d->type = type;
        d->flags = flags;
        return d;
    }
    if ((t->n + 1) * 2 > t->cap && table_grow(t) < 0) return NULL;
    size_t mask = t->cap - 1, i = (size_t)hash_bytes(k, n) & mask;
    while (t->slots[i].key) i = (i + 1) & mask;
    d = &t->slots[i];
    d->key = (char *)PyMem_Malloc(n + 1);
    if (!d->key) return NULL;
    memcpy(d->key, k, n);
    d->key[n] = 0;
    d->klen = (int)n;
    d->number = number;
    d->type = type;
    d->flags = flags;
    t->n++;
    return d;
}

static int table_grow(Table *t) {
    Table nt;
    if (table_init(&nt, t->cap * 2) < 0) return -1;
    for (size_t i = 0; i < t->cap; i++) {
        Def *d = &t->slots[i];
        if (!d->key) continue;
        size_t mask = nt.cap - 1, j = (size_t)hash_bytes(d->key, d->klen) & mask;
        while (nt.slots[j].key) j = (j + 1) & mask;
        nt.slots[j] = *d;
        nt.n++;
    }
    PyMem_Free(t->slots);
    *t = nt;
    return 0;
}

static int is_base(char c) {
    switch (c) {
    case 'A': case 'C': case 'G': case 'T': case 'N':
    case 'a': case 'c': case 'g': case 't': case 'n':
        return 1;
    default:
        return 0;
    }
}

static int all_bases(const char *p, size_t n) {
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_base(p[i])) return 0;
    return 1;
}

/* Before VCF 4.3 the spec gives keys no grammar: any name without separators or whitespace */
static int legacy_key_ok(const char *p, size_t n) {
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= 32 || c >= 127 || c == ';' || c == '=' || c == ',' || c == ':' || c == '<' || c == '>' ||
            c == '"')
            return 0;
    }
    return 1;
}

/* REF letters htslib keeps as written (IUPAC codes, other case, '*'): nonconforming, not broken */
static int ref_letters(const char *p, size_t n) {
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '*')) return 0;
    }
    return 1;
}

static int has_space(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n') return 1;
    return 0;
}

/* CHROM characters: no whitespace, no ':' (ambiguous in breakends and regions), no ',<>*' */
static int chrom_ok(const char *p, size_t n) {
    if (n == 0) return 0;
    if (p[0] == '<') {
        /* symbolic contig name <ID> (refers to an assembly contig) */
        if (n < 3 || p[n - 1] != '>') return 0;
        for (size_t i = 1; i + 1 < n; i++) {
            unsigned char c = (unsigned char)p[i];
            if (c <= 32 || c >= 127 || c == '<' || c == '>' || c == ',') return 0;
        }
        return 1;
    }
    if (p[0] == '=' || p[0] == '#') return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= 32 || c >= 127) return 0;
        if (c == ':' || c == ',' || c == '<' || c == '>' || c == '*' || c == '[' || c == ']' ||
            c == '"' || c == '\'' || c == '(' || c == ')' || c == '{' || c == '}' || c == '\\')
            return 0;
    }
    return 1;
}

/* a CHROM htslib cannot turn into a ##contig line */
static int chrom_breaks(const char *p, size_t n) {
    if (n == 0) return 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= 32 || c == 127 || c == ',' || c == '<' || c == '>' || c == '"') return 1;
    }
    return 0;
}

static int key_ok(const char *p, size_t n) {
    if (n == 0) return 0;
    if (n == 5 && memcmp(p, "1000G", 5) == 0) return 1;
    char c = p[0];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_')) return 0;
    for (size_t i = 1; i < n; i++) {
        c = p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.'))
            return 0;
    }
    return 1;
}

/* integer: [+-]?[0-9]+ ; returns 0 ok, 1 bad syntax, 2 out of range (incl. BCF-reserved values) */
static int check_int(const char *p, size_t n, long long *out) {
    size_t i = 0;
    int neg = 0;
    if (n && (p[0] == '+' || p[0] == '-')) {
        neg = p[0] == '-';
        i = 1;
    }
    if (i == n) return 1;
    long long v = 0;
    int big = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 1;
        if (v < 100000000000LL) v = v * 10 + (p[i] - '0');
        else big = 1;
    }
    if (neg) v = -v;
    if (out) *out = v;
    if (big || v > 2147483647LL || v < -2147483640LL) return 2;
    return 0;
}

static int ieq(const char *p, size_t n, const char *lit) {
    size_t m = strlen(lit);
    if (n != m) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
        if (c != lit[i]) return 0;
    }
    return 1;
}

/* float: decimal with optional exponent, or inf/infinity/nan (case-insensitive), optional sign */
static int check_float(const char *p, size_t n) {
    size_t i = 0;
    if (n && (p[0] == '+' || p[0] == '-')) i = 1;
    if (i == n) return 1;
    if (ieq(p + i, n - i, "inf") || ieq(p + i, n - i, "infinity") || ieq(p + i, n - i, "nan")) return 0;
    size_t digits = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9') i++, digits++;
    if (i < n && p[i] == '.') {
        i++;
        while (i < n && p[i] >= '0' && p[i] <= '9') i++, digits++;
    }
    if (!digits) return 1;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-')) i++;
        size_t ed = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9') i++, ed++;
        if (!ed) return 1;
    }
    return i == n ? 0 : 1;
}

static int check_cigar(const char *p, size_t n) {
    size_t i = 0;
    if (n == 0) return 1;
    while (i < n) {
        size_t d = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9') i++, d++;
        if (!d || i == n || !strchr("MIDNSHP=X", p[i])) return 1;
        i++;
    }
    return 0;
}

/* check one list of comma-separated values against a definition.
 * returns: 0 ok; 1 type error; 2 integer range; 3 negative; 4 count mismatch (count in *got) */
static int check_values(const Def *d, const char *p, size_t n, long long expected, long long *got,
                        const char **bad, size_t *badlen) {
    long long cnt = 0;
    int res = 0;
    size_t start = 0;
    if (n == 0 && d->number == N_VAR) {
        *got = 0;
        return 0; /* zero-length list (VCF 4.5) */
    }
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != ',') continue;
        const char *v = p + start;
        size_t vl = i - start;
        cnt++;
        start = i + 1;
        if (res) continue;
        if (vl == 1 && v[0] == '.') continue;
        int r = 0;
        switch (d->type) {
        case T_INT: {
            long long x = 0;
            r = check_int(v, vl, &x);
            if (!r && (d->flags & F_NONNEG) && x < 0) r = 3;
            break;
        }
        case T_FLOAT:
            r = check_float(v, vl);
            if (!r && (d->flags & F_NONNEG) && vl && v[0] == '-') r = 3;
            break;
        case T_CHAR:
            r = vl == 1 ? 0 : 1;
            break;
        default:
            r = (d->flags & F_CIGAR) ? check_cigar(v, vl) : 0;
        }
        if (r) {
            res = r;
            *bad = v;
            *badlen = vl;
        }
    }
    *got = cnt;
    if (res) return res;
    if (expected >= 0 && cnt != expected && !(n == 1 && p[0] == '.')) return 4;
    return 0;
}

static long long expected_count(const Def *d, int n_alt, int ploidy) {
    switch (d->number) {
    case N_A:
        return n_alt > 0 ? n_alt : -1;
    case N_R:
        return n_alt + 1;
    case N_G: {
        if (ploidy <= 0) return -1;
        /* C(n_alleles + ploidy - 1, ploidy) */
        long long n_all = n_alt + 1, r = 1;
        for (long long k = 1; k <= ploidy; k++) {
            r = r * (n_all + k - 1) / k;
            if (r > 100000000LL) return -1;
        }
        return r;
    }
    case N_VAR:
        return -1;
    default:
        return d->number;
    }
}

static const char *TYPE_NAMES[] = {"Integer", "Float", "Flag", "Character", "String", "String"};

static char *split_next(char *p, char *end, char sep) {
    char *q = memchr(p, sep, (size_t)(end - p));
    return q ? q : end;
}

/* ---- ALT allele grammar: 0 ok, 1 bad */
static int check_breakend(const char *a, size_t n) {
    /* t[p[  t]p]  ]p]t  [p[t ; p = chr:pos or <id>:pos */
    const char *b1 = NULL;
    char br = 0;
    for (size_t i = 0; i < n; i++)
        if (a[i] == '[' || a[i] == ']') {
            b1 = a + i;
            br = a[i];
            break;
        }
    if (!b1) return 1;
    const char *b2 = memchr(b1 + 1, br, (size_t)(a + n - b1 - 1));
    if (!b2) return 1;
    const char *mate = b1 + 1;
    size_t ml = (size_t)(b2 - mate);
    const char *colon = NULL;
    for (size_t i = ml; i > 0; i--)
        if (mate[i - 1] == ':') {
            colon = mate + i - 1;
            break;
        }
    if (!colon || colon == mate) return 1;
    if (check_int(colon + 1, (size_t)(mate + ml - colon - 1), NULL)) return 1;
    size_t before = (size_t)(b1 - a), after = (size_t)(a + n - b2 - 1);
    if (before && after) return 1;
    if (!before && !after) return 1;
    if (before) return all_bases(a, before) ? 0 : 1;
    return all_bases(b2 + 1, after) ? 0 : 1;
}

static int check_allele(const char *a, size_t n) {
    if (n == 0) return 1;
    if (n == 1 && a[0] == '*') return 0;
    if (a[0] == '<') {
        if (n < 3 || a[n - 1] != '>') return 1;
        for (size_t i = 1; i + 1 < n; i++) {
            char c = a[i];
            if (c == '<' || c == '>' || c == ',' || c == ' ' || c == '\t') return 1;
        }
        return 0;
    }
    if (memchr(a, '[', n) || memchr(a, ']', n)) return check_breakend(a, n);
    if (a[0] == '.' && n > 1) return all_bases(a + 1, n - 1) ? 0 : 1;
    if (a[n - 1] == '.' && n > 1) return all_bases(a, n - 1) ? 0 : 1;
    return all_bases(a, n) ? 0 : 1;
}

#endif
