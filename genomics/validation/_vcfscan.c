/*
 * _vcfscan: the per-record part of the VCF validator (genomics/validation/vcf.py).
 *
 * Python parses the header and hands a Scanner the INFO/FORMAT/FILTER/contig tables; the Scanner then
 * checks data lines in bulk (feed() takes a buffer of complete lines) and returns the problems found as
 * tuples (severity, code, message, line, record). Line and record numbers are 1-based (user-facing).
 * Memory is bounded: only the distinct keys/contigs seen and the records at the current position are
 * kept, and at most `cap` issues per code are materialised (the rest are only counted).
 */
#include "_scanmodule.h"
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

/* value types */
enum { T_INT = 0, T_FLOAT = 1, T_FLAG = 2, T_CHAR = 3, T_STR = 4, T_ANY = 5 };
/* Def.flags bits (extra value rules) */
#define F_NONNEG 1
#define F_CIGAR 2
#define F_IMPLIED 4 /* not declared: a reserved key's spec definition, which htslib does not apply */
/* numbers: >= 0 fixed count */
enum { N_A = -1, N_R = -2, N_G = -3, N_VAR = -4 };

/* issue codes (names must match CODES in vcf.py) */
enum {
    C_COLUMNS, C_EMPTY_LINE, C_CHROM, C_CONTIG_UNDECLARED, C_CONTIG_NOT_DECLARED_WARN, C_NOT_CONTIGUOUS,
    C_POS, C_UNSORTED, C_ID, C_REF, C_ALT, C_QUAL, C_FILTER_INVALID, C_FILTER_UNDECLARED, C_INFO, C_INFO_KEY,
    C_INFO_DUP, C_INFO_UNDECLARED, C_INFO_FLAG, C_INFO_TYPE, C_INFO_NUMBER, C_INT_RANGE, C_NEGATIVE,
    C_FORMAT, C_FORMAT_UNDECLARED, C_GT_FIRST, C_SAMPLE_FIELDS, C_GT, C_GT_RANGE, C_SAMPLE_TYPE,
    C_SAMPLE_NUMBER, C_DUPLICATE, C_CRLF, C_HEADER_IN_BODY, C_INFO_SHORT, C_FLAG_01, C_POS_BEYOND, C_NCODES
};
static const char *CODE_NAMES[C_NCODES] = {
    "VCF_COLUMN_COUNT", "VCF_EMPTY_LINE", "VCF_CHROM_INVALID", "VCF_CONTIG_UNDECLARED",
    "VCF_CONTIG_NOT_IN_HEADER", "VCF_CONTIG_NOT_CONTIGUOUS", "VCF_POS_INVALID", "VCF_UNSORTED",
    "VCF_ID_INVALID", "VCF_REF_INVALID", "VCF_ALT_INVALID", "VCF_QUAL_INVALID", "VCF_FILTER_INVALID",
    "VCF_FILTER_UNDECLARED", "VCF_INFO_INVALID", "VCF_INFO_KEY_INVALID", "VCF_INFO_DUPLICATE_KEY",
    "VCF_INFO_UNDECLARED", "VCF_INFO_FLAG_VALUE", "VCF_INFO_TYPE", "VCF_INFO_NUMBER",
    "VCF_INTEGER_RANGE", "VCF_VALUE_NEGATIVE", "VCF_FORMAT_INVALID", "VCF_FORMAT_UNDECLARED",
    "VCF_FORMAT_GT_NOT_FIRST", "VCF_SAMPLE_TOO_MANY_FIELDS", "VCF_GT_INVALID", "VCF_GT_ALLELE_RANGE",
    "VCF_SAMPLE_TYPE", "VCF_SAMPLE_NUMBER", "VCF_DUPLICATE_RECORD", "VCF_CRLF", "VCF_HEADER_IN_BODY",
    "VCF_INFO_NUMBER_SHORT", "VCF_INFO_FLAG_01", "VCF_POS_BEYOND_CONTIG",
};
/* Tiers: 'E' an error (htslib cannot parse the record, or the data would come out wrong), 'S' a deviation
 * from the specification that htslib reads and processing carries through (an error only under the strict
 * profiles), 'W' a warning. This is each code's usual tier; scan_line overrides it where one code covers
 * both kinds (e.g. an empty ALT allele is 'E', the old 'X' notation 'S'). */
static const char CODE_SEV[C_NCODES] = {
    /* COLUMNS EMPTY_LINE CHROM CONTIG_UNDECLARED CONTIG_NOT_IN_HEADER NOT_CONTIGUOUS POS UNSORTED */
    'E', 'E', 'E', 'S', 'W', 'S', 'E', 'S',
    /* ID REF ALT QUAL FILTER_INVALID FILTER_UNDECLARED INFO INFO_KEY INFO_DUP INFO_UNDECLARED */
    'S', 'S', 'S', 'S', 'S', 'W', 'S', 'S', 'S', 'W',
    /* INFO_FLAG INFO_TYPE INFO_NUMBER INT_RANGE NEGATIVE FORMAT FORMAT_UNDECLARED GT_FIRST */
    'S', 'S', 'S', 'S', 'S', 'S', 'W', 'S',
    /* SAMPLE_FIELDS GT GT_RANGE SAMPLE_TYPE SAMPLE_NUMBER DUPLICATE CRLF HEADER_IN_BODY INFO_SHORT */
    'E', 'E', 'E', 'E', 'S', 'S', 'W', 'E', 'W',
    /* FLAG_01 POS_BEYOND */
    'W', 'S',
};
static int sev_index(char sev) { return sev == 'E' ? 0 : sev == 'S' ? 1 : 2; }
static const char SEVS[3] = {'E', 'S', 'W'};

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

/* ---------------------------------------------------------------- scanner object */
typedef struct {
    long long npos;
    char *key;
    size_t klen;
} DupKey;

typedef struct {
    PyObject_HEAD
    Table info, fmt, filt, contigs_decl, contigs_seen;
    int n_samples;
    int n_columns; /* expected columns: 8, 9 or 9 + samples */
    int contigs_declared;
    int cap;
    long long line_no, records;
    char *prev_chrom;
    size_t prev_chrom_len, prev_chrom_cap;
    long long prev_pos;
    long long cur_len; /* declared length of the current contig, -1 when unknown */
    DupKey *dups;
    size_t ndups, dups_cap;
    int crlf_warned;
    int lenient; /* VCF 4.4+: unsorted records are a warning */
    int minor; /* the spec's minor version (4.x): what is a "must" and what only a "should" changed in 4.3 */
    long long counts[C_NCODES][3]; /* per code and tier (E, S, W) */
    PyObject *issues;  /* list, reset per feed */
    PyObject *contigs; /* list of CHROM names in order of first appearance */
    /* per-record scratch */
    const Def *rec_keys[256];
    char shbuf[64]; /* SHOW's copy of a field for the message being built (one per message) */
} Scanner;

static int vemit(Scanner *s, int code, char tier, const char *fmt, va_list ap) {
    char sev[2] = {tier, 0};
    if (code == C_UNSORTED && s->lenient) sev[0] = 'W';
    long long *count = &s->counts[code][sev_index(sev[0])];
    (*count)++;
    if (*count > s->cap) return 0;
    char buf[512];
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    if (n < 0) n = 0;
    if (n >= (int)sizeof buf) n = (int)sizeof buf - 1;
    PyObject *msg = PyUnicode_DecodeUTF8(buf, n, "replace");
    if (!msg) return -1;
    PyObject *t = Py_BuildValue("(ssNLL)", sev, CODE_NAMES[code], msg, s->line_no, s->records);
    if (!t) return -1;
    int r = PyList_Append(s->issues, t);
    Py_DECREF(t);
    return r;
}

/* an issue in the code's usual tier */
static int emit(Scanner *s, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = vemit(s, code, CODE_SEV[code], fmt, ap);
    va_end(ap);
    return r;
}

/* an issue in an explicit tier */
static int emit_tier(Scanner *s, int code, char tier, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = vemit(s, code, tier, fmt, ap);
    va_end(ap);
    return r;
}

/* a printable, bounded copy of a field for messages */
static const char *show(const char *p, size_t n, char *out, size_t outsz) {
    size_t m = n < outsz - 4 ? n : outsz - 4, j = 0;
    for (size_t i = 0; i < m; i++) {
        unsigned char c = (unsigned char)p[i];
        out[j++] = (c < 32 || c == 127) ? '?' : (char)c;
    }
    if (m < n) {
        out[j++] = '.';
        out[j++] = '.';
        out[j++] = '.';
    }
    out[j] = 0;
    return out;
}
#define SHOW(p, n) show((p), (n), s->shbuf, sizeof s->shbuf)

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

/* ---- duplicate detection on normalised (pos, ref, alt) */
static int dup_check(Scanner *s, long long pos, const char *ref, size_t rl, const char *alt, size_t al,
                     int *is_dup) {
    /* trim common suffix, then common prefix, keeping one base each */
    while (rl > 1 && al > 1 && ref[rl - 1] == alt[al - 1]) rl--, al--;
    long long npos = pos;
    while (rl > 1 && al > 1 && ref[0] == alt[0]) ref++, alt++, rl--, al--, npos++;
    size_t kl = rl + 1 + al;
    *is_dup = 0;
    for (size_t i = 0; i < s->ndups; i++) {
        DupKey *d = &s->dups[i];
        if (d->npos == npos && d->klen == kl && memcmp(d->key, ref, rl) == 0 && d->key[rl] == '>' &&
            memcmp(d->key + rl + 1, alt, al) == 0) {
            *is_dup = 1;
            return 0;
        }
    }
    if (s->ndups == s->dups_cap) {
        size_t nc = s->dups_cap ? s->dups_cap * 2 : 16;
        DupKey *nd = (DupKey *)PyMem_Realloc(s->dups, nc * sizeof(DupKey));
        if (!nd) return -1;
        s->dups = nd;
        s->dups_cap = nc;
    }
    char *k = (char *)PyMem_Malloc(kl);
    if (!k) return -1;
    memcpy(k, ref, rl);
    k[rl] = '>';
    memcpy(k + rl + 1, alt, al);
    s->dups[s->ndups].npos = npos;
    s->dups[s->ndups].key = k;
    s->dups[s->ndups].klen = kl;
    s->ndups++;
    return 0;
}

static void dup_purge(Scanner *s, long long pos, int all) {
    size_t j = 0;
    for (size_t i = 0; i < s->ndups; i++) {
        if (all || s->dups[i].npos < pos) PyMem_Free(s->dups[i].key);
        else s->dups[j++] = s->dups[i];
    }
    s->ndups = j;
}

/* ---------------------------------------------------------------- one data line */
#define EMIT(...)                                  \
    do {                                           \
        if (emit(s, __VA_ARGS__) < 0) return -1;   \
    } while (0)
#define EMIT_TIER(...)                                 \
    do {                                               \
        if (emit_tier(s, __VA_ARGS__) < 0) return -1;  \
    } while (0)

/* One data line split into its columns, and what the columns checked so far established for the later
 * ones. Each column has its check_* function below (called in column order by scan_line); each returns
 * -1 on a Python/memory error and 0 otherwise, having emitted the column's issues. */
typedef struct {
    char *col[9];  /* CHROM..FORMAT starts */
    size_t cl[9];  /* and lengths */
    int ncols;     /* columns found, at most 9 */
    char *samples; /* the first sample column, NULL when there is none */
    char *end;     /* end of the line (empty trailing columns excluded) */
    char *chrom;   /* CHROM without the <> of a symbolic name */
    size_t chl;
    long long pos; /* -1 when POS is invalid */
    int n_alt;     /* ALT alleles listed */
    int alt_ok;    /* ALT is listed and valid: allele-dependent counts and GT indexes can be checked */
    const Def *fdefs[64]; /* FORMAT keys' definitions */
    int nf, gt_idx, fmt_ok;
} Line;

/* Tabs: the columns, and the column count against the #CHROM line. 1 when the line has too few columns
   to check anything further (reported), 0 to go on. */
static inline int split_columns(Scanner *s, Line *ln, char *p, size_t len) {
    char *end = p + len;
    char *q = p;
    ln->ncols = 0;
    ln->samples = NULL;
    while (ln->ncols < 9) {
        char *t = split_next(q, end, '\t');
        ln->col[ln->ncols] = q;
        ln->cl[ln->ncols] = (size_t)(t - q);
        ln->ncols++;
        if (t == end) break;
        q = t + 1;
        if (ln->ncols == 9) ln->samples = q;
    }
    long long total = ln->ncols;
    if (ln->samples) {
        total = 10;
        for (char *r = ln->samples; (r = memchr(r, '\t', (size_t)(end - r))) != NULL; r++) total++;
    }
    if (total != s->n_columns) {
        /* surplus columns that are all empty (tabs at the end of the line): htslib ignores them */
        long long surplus = total - s->n_columns;
        int trailing = surplus > 0 && surplus < (long long)len;
        for (long long k = 1; trailing && k <= surplus; k++)
            if (end[-k] != '\t') trailing = 0;
        if (trailing) {
            end -= surplus;
            EMIT_TIER(C_COLUMNS, 'S', "record ends with %lld tab(s): %lld empty column(s) beyond the %d the #CHROM "
                      "line declares", surplus, surplus, s->n_columns);
        } else {
            EMIT(C_COLUMNS, "record has %lld tab-separated columns but the #CHROM line declares %d", total,
                 s->n_columns);
            if (total < 8) return 1;
        }
    }
    ln->end = end;
    return 0;
}

/* A CHROM seen for the first time since the previous record's: contiguity, declaration, the contig's
   length, and the duplicate window restarts. */
static inline int enter_contig(Scanner *s, const char *chrom, size_t chl) {
    if (table_get(&s->contigs_seen, chrom, chl)) {
        EMIT_TIER(C_NOT_CONTIGUOUS, s->minor < 3 ? 'W' : 'S', "records of contig '%s' are not contiguous: it appeared before another "
                               "contig; sort the file (bcftools sort)", SHOW(chrom, chl));
    } else {
        if (!table_put(&s->contigs_seen, chrom, chl, 0, 0, 0)) return -1;
        PyObject *name = PyUnicode_DecodeUTF8(chrom, (Py_ssize_t)chl, "replace");
        if (!name || PyList_Append(s->contigs, name) < 0) {
            Py_XDECREF(name);
            return -1;
        }
        Py_DECREF(name);
        if (!table_get(&s->contigs_decl, chrom, chl)) {
            if (s->contigs_declared)
                EMIT(C_CONTIG_UNDECLARED, "CHROM '%s' is not declared by a ##contig line; add "
                                          "##contig=<ID=%s,length=...>", SHOW(chrom, chl), s->shbuf);
            else
                EMIT(C_CONTIG_NOT_DECLARED_WARN, "CHROM '%s' has no ##contig header line", SHOW(chrom, chl));
        }
    }
    if (chl + 1 > s->prev_chrom_cap) {
        char *nc = (char *)PyMem_Realloc(s->prev_chrom, chl + 1);
        if (!nc) return -1;
        s->prev_chrom = nc;
        s->prev_chrom_cap = chl + 1;
    }
    memcpy(s->prev_chrom, chrom, chl);
    s->prev_chrom_len = chl;
    s->prev_pos = -1;
    const Def *decl = table_get(&s->contigs_decl, chrom, chl);
    s->cur_len = decl ? decl->number : -1;
    dup_purge(s, 0, 1);
    return 0;
}

/* CHROM; a symbolic <ID> names the same contig as ID */
static inline int check_chrom(Scanner *s, Line *ln) {
    char *chrom = ln->col[0];
    size_t chl = ln->cl[0];
    /* ':' and '*' are legal in declared contig names (e.g. GRCh38's HLA-A*01:01:01:01) */
    if (!chrom_ok(chrom, chl) && !(chl && !has_space(chrom, chl) && table_get(&s->contigs_decl, chrom, chl))) {
        /* htslib declares an undeclared contig of any printable name without ',<>"' (processing adds the
           ##contig line); an empty name, whitespace or those characters break the record */
        EMIT_TIER(C_CHROM, chrom_breaks(chrom, chl) ? 'E' : 'S',
                  "CHROM '%s' is empty or contains a character not allowed in contig names "
                      "(whitespace, ':', ',', '<', '>', '*', quotes, brackets)", SHOW(chrom, chl));
    } else if (chrom[0] == '<') {
        chrom++;
        chl -= 2;
    }
    ln->chrom = chrom;
    ln->chl = chl;
    int new_chrom = !(s->prev_chrom && s->prev_chrom_len == chl && memcmp(s->prev_chrom, chrom, chl) == 0);
    return new_chrom ? enter_contig(s, chrom, chl) : 0;
}

/* POS: a non-negative integer; sorted within the contig, inside the contig's declared length */
static inline int check_pos(Scanner *s, Line *ln) {
    long long pos = -1;
    char **col = ln->col;
    if (ln->ncols < 2 || check_int(col[1], ln->cl[1], &pos) || pos < 0 || col[1][0] == '-' || col[1][0] == '+') {
        EMIT(C_POS, "POS '%s' is not a non-negative integer below 2^31", ln->ncols < 2 ? "" : SHOW(col[1], ln->cl[1]));
        pos = -1;
    } else {
        if (pos < s->prev_pos)
            EMIT(C_UNSORTED, "POS %lld comes after POS %lld on contig '%s'; sort the file (bcftools sort)", pos,
                 s->prev_pos, SHOW(ln->chrom, ln->chl));
        s->prev_pos = pos;
        dup_purge(s, pos, 0);
        if (s->cur_len >= 0 && pos > s->cur_len + 1)
            EMIT(C_POS_BEYOND, "POS %lld is beyond the end of contig '%s' (length %lld in its ##contig line); "
                               "check the reference build", pos, SHOW(ln->chrom, ln->chl), s->cur_len);
    }
    ln->pos = pos;
    return 0;
}

/* column k is the missing value '.' */
static inline int missing(const Line *ln, int k) { return ln->cl[k] == 1 && ln->col[k][0] == '.'; }

/* ID: '.', or ';'-separated identifiers without whitespace, empty entries or repeats */
static inline int check_id(Scanner *s, const Line *ln) {
    if (missing(ln, 2)) return 0;
    char *id = ln->col[2], *e = id + ln->cl[2];
    size_t il = ln->cl[2];
    int bad = has_space(id, il);
    int nids = 0;
    const char *ids[64];
    size_t idl[64];
    for (char *a = id; !bad && a <= e;) {
        char *b = split_next(a, e, ';');
        size_t n = (size_t)(b - a);
        if (n == 0 || (n == 1 && a[0] == '.')) bad = 1;
        for (int k = 0; !bad && k < nids; k++)
            if (idl[k] == n && memcmp(ids[k], a, n) == 0) bad = 2;
        if (nids < 64) {
            ids[nids] = a;
            idl[nids] = n;
            nids++;
        }
        a = b + 1;
    }
    if (bad)
        /* a repeated identifier is forbidden from VCF 4.3 ("duplicate values not allowed") */
        EMIT_TIER(C_ID, bad == 2 && s->minor < 3 ? 'W' : 'S', "ID '%s' %s", SHOW(id, il),
             bad == 2 ? "lists the same identifier twice" : "has whitespace or an empty ';'-separated entry");
    return 0;
}

/* REF: bases */
static inline int check_ref(Scanner *s, const Line *ln) {
    const char *ref = ln->col[3];
    size_t rl = ln->cl[3];
    if (!all_bases(ref, rl))
        EMIT_TIER(C_REF, ref_letters(ref, rl) ? 'S' : 'E', "REF '%s' must be one or more of A,C,G,T,N",
                  SHOW(ref, rl));
    return 0;
}

/* The base alleles of a valid ALT against the earlier records at this position, after normalisation. */
static inline int check_duplicate(Scanner *s, const Line *ln) {
    const char *ref = ln->col[3];
    size_t rl = ln->cl[3];
    char *e = ln->col[4] + ln->cl[4];
    int dup_seen = 0;
    for (char *a = ln->col[4]; a <= e;) {
        char *b = split_next(a, e, ',');
        size_t al = (size_t)(b - a);
        if (all_bases(a, al)) {
            int d = 0;
            if (dup_check(s, ln->pos, ref, rl, a, al, &d) < 0) return -1;
            if (d && !dup_seen) {
                dup_seen = 1;
                EMIT(C_DUPLICATE, "variant at %s:%lld (ALT '%.*s') duplicates an earlier record after "
                                  "normalisation; merge or remove it", SHOW(ln->chrom, ln->chl), ln->pos,
                     (int)(al < 40 ? al : 40), a);
            }
        }
        a = b + 1;
    }
    return 0;
}

/* ALT: '.', or ','-separated alleles (bases, '*', <ID>, breakends); then the duplicate check */
static inline int check_alt(Scanner *s, Line *ln) {
    ln->n_alt = 0;
    ln->alt_ok = 1;
    if (missing(ln, 4)) {
        ln->alt_ok = 0; /* no ALT listed: allele-dependent counts and GT indexes cannot be checked */
        return 0;
    }
    char *e = ln->col[4] + ln->cl[4];
    for (char *a = ln->col[4]; a <= e;) {
        char *b = split_next(a, e, ',');
        ln->n_alt++;
        if (check_allele(a, (size_t)(b - a))) {
            ln->alt_ok = 0;
            /* htslib keeps any other text as an allele (old 'X', 'A/T' notations); an empty one breaks */
            EMIT_TIER(C_ALT, b == a ? 'E' : 'S', "ALT allele '%s' is not bases, '*', a symbolic <ID> or a "
                      "breakend", SHOW(a, (size_t)(b - a)));
            break;
        }
        a = b + 1;
    }
    if (ln->alt_ok && ln->pos >= 0 && all_bases(ln->col[3], ln->cl[3])) return check_duplicate(s, ln);
    return 0;
}

/* QUAL: '.' or a non-negative number */
static inline int check_qual(Scanner *s, const Line *ln) {
    if (missing(ln, 5)) return 0;
    const char *qual = ln->col[5];
    size_t ql = ln->cl[5];
    /* htslib reads a QUAL that is not a number as 0: the value would come out wrong */
    if (check_float(qual, ql))
        EMIT_TIER(C_QUAL, 'E', "QUAL '%s' must be '.' or a non-negative number", SHOW(qual, ql));
    else if (qual[0] == '-')
        EMIT(C_QUAL, "QUAL '%s' must be '.' or a non-negative number", SHOW(qual, ql));
    return 0;
}

/* FILTER: PASS, '.', or ';'-separated names (declared, or declarable by htslib) */
static inline int check_filter(Scanner *s, const Line *ln) {
    if (missing(ln, 6)) return 0;
    char *filter = ln->col[6], *e = filter + ln->cl[6];
    size_t fl = ln->cl[6];
    int bad = has_space(filter, fl) ? 3 : 0;
    for (char *a = filter; !bad && a <= e;) {
        char *b = split_next(a, e, ';');
        size_t n = (size_t)(b - a);
        if (n == 0 || (n == 1 && a[0] == '.')) {
            bad = 1;
            break;
        }
        if (n == 1 && a[0] == '0') {
            bad = 2; /* reserved: "must not" be used from VCF 4.3, "should not" before */
            break;
        }
        if (!(n == 4 && memcmp(a, "PASS", 4) == 0) && !table_get(&s->filt, a, n)) {
            if (chrom_breaks(a, n)) {
                bad = 4; /* htslib cannot add a ##FILTER line for this name: the record breaks */
                break;
            }
            if (!table_put(&s->filt, a, n, 0, 0, 0)) return -1;
            EMIT(C_FILTER_UNDECLARED, "FILTER '%s' is not declared by a ##FILTER line; add "
                                          "##FILTER=<ID=...,Description=\"...\">", SHOW(a, n));
        }
        a = b + 1;
    }
    if (bad)
        EMIT_TIER(C_FILTER_INVALID, bad >= 3 ? 'E' : bad == 2 && s->minor < 3 ? 'W' : 'S',
                  "FILTER '%s' must be PASS, '.', or ';'-separated declared filter names (no whitespace, empty "
                  "names, '.' or '0' in a list, no ',<>\" in an undeclared name)", SHOW(filter, fl));
    return 0;
}

/* What check_values found wrong (its result r, 1..4) with the values of key `d` in `where` ("INFO" or
   "sample N"): the type (code `type_code` in `type_tier`), the integer range, the sign, or the count
   (code `number_code`; `got` values where `exp` are required). */
static int emit_value_issue(Scanner *s, int r, const char *where, const Def *d, const char *bv, size_t bl,
                            long long got, long long exp, int type_code, char type_tier, int number_code) {
    switch (r) {
    case 1:
        return emit_tier(s, type_code, type_tier, "%s %s value '%s' is not of Type %s", where, d->key, SHOW(bv, bl),
                         TYPE_NAMES[d->type]);
    case 2:
        return emit(s, C_INT_RANGE, "%s %s value '%s' is outside the 32-bit range [-2147483640, 2147483647]", where,
                    d->key, SHOW(bv, bl));
    case 3:
        return emit(s, C_NEGATIVE, "%s %s value '%s' must not be negative", where, d->key, SHOW(bv, bl));
    case 4:
        return emit(s, number_code, "%s %s has %lld values but its Number requires %lld", where, d->key, got, exp);
    default:
        return 0;
    }
}

/* The value of one INFO key `d` (after its '=', up to b): type, range, sign and count */
static inline int check_info_value(Scanner *s, const Line *ln, const Def *d, const char *eq, const char *b) {
    long long got = 0;
    const char *bv = NULL;
    size_t bl = 0;
    long long exp = (d->number == N_G || !ln->alt_ok) && d->number < 0 ? -1 : expected_count(d, ln->n_alt, 0);
    if (d->type == T_STR && eq[1] == '"') exp = -1; /* quoted free text may hold commas */
    int r = check_values(d, eq + 1, (size_t)(b - eq - 1), exp, &got, &bv, &bl);
    if (r == 4 && d->number < 0 && got < exp) {
        r = 0;
        EMIT(C_INFO_SHORT, "INFO %s has %lld values, fewer than the %lld its Number requires", d->key, got, exp);
    }
    return emit_value_issue(s, r, "INFO", d, bv, bl, got, exp, C_INFO_TYPE, CODE_SEV[C_INFO_TYPE], C_INFO_NUMBER);
}

/* One INFO entry [a, b): the key (valid, declared, not repeated in the record: `nk` keys so far), a
   flag's absent value, or the values */
static inline int check_info_entry(Scanner *s, const Line *ln, char *a, char *b, int *nk) {
    size_t n = (size_t)(b - a);
    char *eq = memchr(a, '=', n);
    size_t kl = eq ? (size_t)(eq - a) : n;
    if (n == 0) {
        EMIT(C_INFO, "INFO has an empty ';'-separated entry");
        return 0;
    }
    if (!key_ok(a, kl) && !(s->minor < 3 && legacy_key_ok(a, kl) && table_get(&s->info, a, kl))) {
        /* htslib reads a declared key of any name (GATK's 1000GAF); it cannot add a header line
           for an undeclared invalid one, and the record breaks */
        EMIT_TIER(C_INFO_KEY, table_get(&s->info, a, kl) ? 'S' : 'E',
                  "INFO key '%s' is not a valid key ([A-Za-z_][0-9A-Za-z_.]*)", SHOW(a, kl));
        return 0;
    }
    const Def *d = table_get(&s->info, a, kl);
    if (!d) {
        d = table_put(&s->info, a, kl, N_VAR, T_ANY, 0);
        if (!d) return -1;
        EMIT(C_INFO_UNDECLARED, "INFO key '%s' is not declared by an ##INFO line", SHOW(a, kl));
    }
    for (int k = 0; k < *nk; k++)
        if (s->rec_keys[k] == d) {
            EMIT(C_INFO_DUP, "INFO key '%s' appears twice in one record", SHOW(a, kl));
            break;
        }
    if (*nk < 256) s->rec_keys[(*nk)++] = d;
    if (d->type == T_FLAG) {
        size_t vl = eq ? (size_t)(b - eq - 1) : 0;
        if (eq && vl == 1 && (eq[1] == '0' || eq[1] == '1'))
            EMIT(C_FLAG_01, "INFO flag '%s' written with =%c; write the bare key", SHOW(a, kl), eq[1]);
        else if (eq)
            EMIT(C_INFO_FLAG, "INFO flag '%s' must not have a value", SHOW(a, kl));
    } else if (d->type != T_ANY) {
        if (!eq)
            EMIT(C_INFO_NUMBER, "INFO key '%s' (Type=%s) has no value", SHOW(a, kl), TYPE_NAMES[d->type]);
        else
            return check_info_value(s, ln, d, eq, b);
    }
    return 0;
}

/* INFO: '.', or ';'-separated entries */
static inline int check_info(Scanner *s, const Line *ln) {
    if (missing(ln, 7)) return 0;
    char *info = ln->col[7], *e = info + ln->cl[7];
    size_t il = ln->cl[7];
    if (s->minor < 3 && has_space(info, il))
        EMIT(C_INFO, "INFO '%s' contains whitespace (allowed only from VCF 4.3)", SHOW(info, il));
    int nk = 0;
    for (char *a = info; a <= e;) {
        char *b = split_next(a, e, ';');
        if (check_info_entry(s, ln, a, b, &nk) < 0) return -1;
        a = b + 1;
    }
    return 0;
}

/* FORMAT: ':'-separated keys (valid, declared, not repeated; GT first); their definitions go to ln */
static inline int check_format(Scanner *s, Line *ln) {
    ln->nf = 0;
    ln->gt_idx = -1;
    ln->fmt_ok = 1;
    char *e = ln->col[8] + ln->cl[8];
    for (char *a = ln->col[8]; a <= e;) {
        char *b = split_next(a, e, ':');
        size_t n = (size_t)(b - a);
        if ((!key_ok(a, n) && !(s->minor < 3 && legacy_key_ok(a, n) && table_get(&s->fmt, a, n))) ||
            (n == 5 && memcmp(a, "1000G", 5) == 0)) {
            /* htslib reads a declared key of any name; an empty or undeclared invalid one breaks the record */
            EMIT_TIER(C_FORMAT, n && table_get(&s->fmt, a, n) ? 'S' : 'E',
                      "FORMAT key '%s' is empty or not a valid key ([A-Za-z_][0-9A-Za-z_.]*)", SHOW(a, n));
            ln->fmt_ok = 0;
            break;
        }
        const Def *d = table_get(&s->fmt, a, n);
        if (!d) {
            d = table_put(&s->fmt, a, n, N_VAR, T_ANY, 0);
            if (!d) return -1;
            EMIT(C_FORMAT_UNDECLARED, "FORMAT key '%s' is not declared by a ##FORMAT line", SHOW(a, n));
        }
        for (int k = 0; k < ln->nf; k++)
            if (ln->fdefs[k] == d) {
                EMIT(C_FORMAT, "FORMAT key '%s' appears twice", SHOW(a, n));
                ln->fmt_ok = 0;
            }
        if (n == 2 && a[0] == 'G' && a[1] == 'T') {
            if (ln->nf != 0) EMIT(C_GT_FIRST, "GT must be the first FORMAT key");
            ln->gt_idx = ln->nf;
        }
        if (ln->nf < 64) ln->fdefs[ln->nf++] = d;
        else ln->fmt_ok = 0;
        a = b + 1;
    }
    return 0;
}

/* Sample `si`'s GT value [v, v+n): allele indexes or '.' joined by '/' or '|'; *ploidy gets its count */
static inline int check_gt(Scanner *s, const Line *ln, int si, const char *v, size_t n, int *ploidy) {
    /* [/|]? allele ([/|] allele)* ; allele = . or integer */
    size_t i = 0;
    int bad = 0, range = 0;
    if (n == 1 && v[0] == '.') {
        *ploidy = 1;
    } else {
        /* a leading phasing separator (explicit phasing of the first allele) exists from VCF 4.4;
           htslib 1.16 cannot read it before */
        if (i < n && (v[i] == '/' || v[i] == '|')) {
            if (s->minor < 4) bad = 1;
            i++;
        }
        for (;;) {
            if (i < n && v[i] == '.') {
                i++;
            } else if (i < n && v[i] >= '0' && v[i] <= '9') {
                long long x = 0;
                while (i < n && v[i] >= '0' && v[i] <= '9') {
                    if (x < 1000000000LL) x = x * 10 + (v[i] - '0');
                    i++;
                }
                if (x > ln->n_alt) range = 1;
            } else {
                bad = 1;
                break;
            }
            (*ploidy)++;
            if (i == n) break;
            if (v[i] == '/' || v[i] == '|') i++;
            else {
                bad = 1;
                break;
            }
        }
    }
    if (bad) EMIT(C_GT, "sample %d GT '%s' is not a genotype (allele indexes or '.' joined by / or |)",
                  si, SHOW(v, n));
    else if (range && ln->alt_ok)
        EMIT(C_GT_RANGE, "sample %d GT '%s' refers to an allele beyond the %d ALT allele(s)", si,
             SHOW(v, n), ln->n_alt);
    return 0;
}

/* Sample `si`'s value [v, v+n) of the FORMAT key `d` (not GT): type, range, sign and count */
static inline int check_sample_value(Scanner *s, const Line *ln, int si, const Def *d, const char *v, size_t n,
                                     int ploidy) {
    long long got = 0;
    const char *bv = NULL;
    size_t bl = 0;
    char where[32];
    if (d->type != T_ANY && d->type != T_STR) {
        long long exp = ln->alt_ok ? expected_count(d, ln->n_alt, ln->gt_idx >= 0 ? ploidy : 0) : -1;
        if (d->number == N_G && ln->gt_idx < 0 && ln->alt_ok) exp = -1;
        int r = check_values(d, v, n, exp, &got, &bv, &bl);
        if (r == 4 && d->number == N_G && ln->gt_idx < 0) r = 0;
        if (!r) return 0;
        /* htslib fails on a declared Integer/Float FORMAT value that is not one; an undeclared
           (reserved) key or a Character it reads as text, an empty value as missing */
        char tier = (d->flags & F_IMPLIED) || !(d->type == T_INT || d->type == T_FLOAT) || bl == 0 ? 'S' : 'E';
        snprintf(where, sizeof where, "sample %d", si);
        return emit_value_issue(s, r, where, d, bv, bl, got, exp, C_SAMPLE_TYPE, tier, C_SAMPLE_NUMBER);
    }
    if (d->type == T_STR && d->number >= 1 && ln->alt_ok) {
        int r = check_values(d, v, n, d->number, &got, &bv, &bl);
        if (r != 4) return 0;
        snprintf(where, sizeof where, "sample %d", si);
        return emit_value_issue(s, r, where, d, bv, bl, got, d->number, C_SAMPLE_TYPE, 'E', C_SAMPLE_NUMBER);
    }
    return 0;
}

/* The sample columns: ':'-separated values, one per FORMAT key */
static inline int check_samples(Scanner *s, const Line *ln) {
    char *a = ln->samples, *end = ln->end;
    int si = 0;
    while (a <= end) {
        char *b = split_next(a, end, '\t');
        si++;
        int fi = 0, ploidy = 0;
        for (char *v = a; v <= b; fi++) {
            char *w = split_next(v, b, ':');
            size_t n = (size_t)(w - v);
            if (fi >= ln->nf) {
                EMIT(C_SAMPLE_FIELDS, "sample %d has more ':'-separated fields than FORMAT has keys (%d)", si, ln->nf);
                break;
            }
            if (fi == ln->gt_idx) {
                if (check_gt(s, ln, si, v, n, &ploidy) < 0) return -1;
            } else if (check_sample_value(s, ln, si, ln->fdefs[fi], v, n, ploidy) < 0) {
                return -1;
            }
            v = w + 1;
        }
        a = b + 1;
    }
    return 0;
}

/* One data line [p, p+len) without its LF: line-level checks, then one check per column in order. */
static int scan_line(Scanner *s, char *p, size_t len) {
    s->records++;
    if (len && p[len - 1] == '\r') {
        len--;
        if (!s->crlf_warned) {
            s->crlf_warned = 1;
            EMIT(C_CRLF, "line ends with CR LF; VCF lines end with LF only (convert with dos2unix)");
        }
    }
    if (len == 0) {
        EMIT(C_EMPTY_LINE, "empty line in the data section; remove it");
        return 0;
    }
    if (p[0] == '#') {
        EMIT(C_HEADER_IN_BODY, "header line after the first data record; move it above #CHROM");
        return 0;
    }
    Line ln;
    int r = split_columns(s, &ln, p, len);
    if (r) return r < 0 ? -1 : 0;
    if (check_chrom(s, &ln) < 0 || check_pos(s, &ln) < 0) return -1;
    if (ln.ncols < 8) return 0;
    if (check_id(s, &ln) < 0 || check_ref(s, &ln) < 0 || check_alt(s, &ln) < 0 || check_qual(s, &ln) < 0 ||
        check_filter(s, &ln) < 0 || check_info(s, &ln) < 0)
        return -1;
    if (ln.ncols < 9 || s->n_columns < 9) return 0;
    if (check_format(s, &ln) < 0) return -1;
    if (!ln.fmt_ok || !ln.samples) return 0;
    return check_samples(s, &ln);
}

/* ---------------------------------------------------------------- Python glue */
static int fill_table(Table *t, PyObject *defs) {
    /* defs: dict key(str) -> (number:int, type:int, flags:int) */
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    while (PyDict_Next(defs, &pos, &k, &v)) {
        Py_ssize_t kl;
        const char *ks = PyUnicode_AsUTF8AndSize(k, &kl);
        if (!ks) return -1;
        int number, type, flags;
        if (!PyArg_ParseTuple(v, "iii", &number, &type, &flags)) return -1;
        if (!table_put(t, ks, (size_t)kl, number, type, flags)) return -1;
    }
    return 0;
}

static void Scanner_dealloc(Scanner *s) {
    table_free(&s->info);
    table_free(&s->fmt);
    table_free(&s->filt);
    table_free(&s->contigs_decl);
    table_free(&s->contigs_seen);
    PyMem_Free(s->prev_chrom);
    dup_purge(s, 0, 1);
    PyMem_Free(s->dups);
    Py_XDECREF(s->issues);
    Py_XDECREF(s->contigs);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static int Scanner_init(Scanner *s, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"info",       "format", "filters", "contigs", "n_columns",
                             "first_line", "cap",    "lenient", "minor",   NULL};
    PyObject *info, *fmt, *filters, *contigs;
    int n_columns, cap = 20, lenient = 0, minor = 3;
    long long first_line;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!O!OOiL|ipi", kwlist, &PyDict_Type, &info, &PyDict_Type, &fmt,
                                     &filters, &contigs, &n_columns, &first_line, &cap, &lenient, &minor))
        return -1;
    if (table_init(&s->info, 64) < 0 || table_init(&s->fmt, 64) < 0 || table_init(&s->filt, 16) < 0 ||
        table_init(&s->contigs_decl, 64) < 0 || table_init(&s->contigs_seen, 64) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    if (fill_table(&s->info, info) < 0 || fill_table(&s->fmt, fmt) < 0) return -1;
    PyObject *it = PyObject_GetIter(filters);
    if (!it) return -1;
    PyObject *x;
    while ((x = PyIter_Next(it))) {
        Py_ssize_t l;
        const char *xs = PyUnicode_AsUTF8AndSize(x, &l);
        if (!xs || !table_put(&s->filt, xs, (size_t)l, 0, 0, 0)) {
            Py_DECREF(x);
            Py_DECREF(it);
            return -1;
        }
        Py_DECREF(x);
    }
    Py_DECREF(it);
    /* contigs: dict name -> declared length (-1 when not given) */
    if (!PyDict_Check(contigs)) {
        PyErr_SetString(PyExc_TypeError, "contigs must be a dict name -> length");
        return -1;
    }
    Py_ssize_t cpos = 0;
    PyObject *cv;
    while (PyDict_Next(contigs, &cpos, &x, &cv)) {
        Py_ssize_t l;
        const char *xs = PyUnicode_AsUTF8AndSize(x, &l);
        long long length = PyLong_AsLongLong(cv);
        if (!xs || (length == -1 && PyErr_Occurred())) return -1;
        if (length > 2147483647LL) length = 2147483647LL;
        if (!table_put(&s->contigs_decl, xs, (size_t)l, (int)length, 0, 0)) return -1;
        s->contigs_declared = 1;
    }
    if (PyErr_Occurred()) return -1;
    s->n_columns = n_columns;
    s->n_samples = n_columns > 9 ? n_columns - 9 : 0;
    s->line_no = first_line - 1;
    s->cap = cap;
    s->lenient = lenient;
    s->minor = minor;
    s->prev_pos = -1;
    s->cur_len = -1;
    s->contigs = PyList_New(0);
    return s->contigs ? 0 : -1;
}

static PyObject *Scanner_feed(Scanner *s, PyObject *args) {
    /* feed(data: bytes-like of complete lines, each ending with \n [, final: bool]) -> list of issues;
       with final=True the data is one last line without a newline. */
    Py_buffer buf;
    int final = 0;
    if (!PyArg_ParseTuple(args, "y*|p", &buf, &final)) return NULL;
    PyObject *out = PyList_New(0);
    if (!out) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    Py_XSETREF(s->issues, out);
    char *p = (char *)buf.buf, *end = p + buf.len;
    int rc = 0;
    if (final) {
        s->line_no++;
        rc = scan_line(s, p, (size_t)buf.len);
    } else {
        while (p < end) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl) nl = end;
            s->line_no++;
            if (scan_line(s, p, (size_t)(nl - p)) < 0) {
                rc = -1;
                break;
            }
            p = nl + 1;
        }
    }
    PyBuffer_Release(&buf);
    if (rc < 0) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        return NULL;
    }
    Py_INCREF(s->issues);
    return s->issues;
}

static PyObject *Scanner_counts(Scanner *s, PyObject *Py_UNUSED(ignored)) {
    /* [(code, tier, total occurrences)] for every code and tier that occurred */
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    for (int i = 0; i < C_NCODES; i++) {
        for (int t = 0; t < 3; t++) {
            if (!s->counts[i][t]) continue;
            PyObject *v = Py_BuildValue("(sCL)", CODE_NAMES[i], (int)SEVS[t], s->counts[i][t]);
            if (!v || PyList_Append(out, v) < 0) {
                Py_XDECREF(v);
                Py_DECREF(out);
                return NULL;
            }
            Py_DECREF(v);
        }
    }
    return out;
}

static PyObject *Scanner_get_records(Scanner *s, void *c) { return PyLong_FromLongLong(s->records); }
static PyObject *Scanner_get_line(Scanner *s, void *c) { return PyLong_FromLongLong(s->line_no); }
static PyObject *Scanner_get_contigs(Scanner *s, void *c) {
    Py_INCREF(s->contigs);
    return s->contigs;
}

static PyObject *codes(PyObject *m, PyObject *Py_UNUSED(ignored)) {
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    for (int i = 0; i < C_NCODES; i++) {
        char sev[2] = {CODE_SEV[i], 0};
        PyObject *v = PyUnicode_FromString(sev);
        if (!v || PyDict_SetItemString(d, CODE_NAMES[i], v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(v);
    }
    return d;
}

static PyMethodDef Scanner_methods[] = {
    {"feed", (PyCFunction)Scanner_feed, METH_VARARGS, "Check complete data lines; return new issues."},
    {"counts", (PyCFunction)Scanner_counts, METH_NOARGS, "Occurrences per code, including uncollected ones."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Scanner_getset[] = {
    {"records", (getter)Scanner_get_records, NULL, "data records seen", NULL},
    {"line", (getter)Scanner_get_line, NULL, "last line number", NULL},
    {"contigs", (getter)Scanner_get_contigs, NULL, "CHROM names in order of appearance", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

SCANNER_TYPE(ScannerType, "genomics.validation._vcfscan.Scanner", "Checks VCF data lines against header tables.",
             Scanner_init, Scanner_dealloc, Scanner_methods, Scanner_getset);

static PyMethodDef module_methods[] = {
    {"codes", (PyCFunction)codes, METH_NOARGS, "Code name -> usual tier ('E' error, 'S' nonconforming: an error only in strict, 'W' warning)."},
    {NULL, NULL, 0, NULL},
};

SCAN_MODULE_DEF(moddef, "_vcfscan", "Compiled VCF record scanner.", module_methods);

PyMODINIT_FUNC PyInit__vcfscan(void) {
    PyObject *m = scan_module_create(&moddef, &ScannerType);
    if (!m) return NULL;
    PyModule_AddIntConstant(m, "T_INT", T_INT);
    PyModule_AddIntConstant(m, "T_FLOAT", T_FLOAT);
    PyModule_AddIntConstant(m, "T_FLAG", T_FLAG);
    PyModule_AddIntConstant(m, "T_CHAR", T_CHAR);
    PyModule_AddIntConstant(m, "T_STR", T_STR);
    PyModule_AddIntConstant(m, "N_A", N_A);
    PyModule_AddIntConstant(m, "N_R", N_R);
    PyModule_AddIntConstant(m, "N_G", N_G);
    PyModule_AddIntConstant(m, "N_VAR", N_VAR);
    return m;
}
