/*
 * _samscan: the per-record fast path of the SAM validator (genomics/validation/sam.py).
 *
 * Python reads the header (and every line this scanner declines) with SamChecker; once the first
 * alignment record is seen, a Scanner takes over the bulk: scan() walks complete lines of a buffer and
 * consumes each record that passes every check of SamChecker (the 11 mandatory fields, the optional
 * fields' syntax and values, CIGAR/SEQ/QUAL lengths, clip positions, the Picard-style consistency rules
 * and, for SO:coordinate, the sort order) with NO issue at all. At the first line that is not such a
 * record (a header line, a blank line, CR LF, a non-ASCII byte, or any error or warning), it stops and
 * returns its offset: Python then handles that one line with SamChecker, which reports exactly what it
 * always reported, and hands back to scan(). So every code, message and location comes from one place
 * (sam.py); this file only decides "clean" and keeps the record count and the sort state.
 *
 * Coordinates: POS/PNEXT are 1-based as in the text; the reference end is computed as in sam.py's
 * _ref_end (0-based start + max(span, 1)). Line and record numbers are 1-based (user-facing).
 * The GIL is released while scanning; the buffer is an immutable bytes object.
 */
#include "_scanmodule.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POS 2147483647LL
#define FLT_OVERFLOW 3.4028235677973366e38
#define FLT_UNDERFLOW 7.006492321624085e-46 /* 2**-150 */

/* byte classes */
enum {
    K_QNAME = 1,     /* [!-?A-~] */
    K_RNAME0 = 2,    /* first char of a reference name */
    K_RNAME = 4,     /* later chars of a reference name */
    K_SEQ = 8,       /* [A-Za-z=.] */
    K_SEQSTD = 16,   /* [ACGTURYSWKMBDHVN=.] */
    K_PRINT = 32,    /* [!-~] */
    K_ZCHAR = 64,    /* [ !-~] */
    K_ALNUM = 128,   /* [A-Za-z0-9] */
};
static unsigned char KIND[256];

static void init_kinds(void) {
    for (int c = 0x21; c <= 0x7e; c++) {
        KIND[c] |= K_PRINT | K_ZCHAR;
        if (c != '@') KIND[c] |= K_QNAME;
        if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) KIND[c] |= K_ALNUM;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '=' || c == '.') KIND[c] |= K_SEQ;
    }
    KIND[' '] |= K_ZCHAR;
    const char *r0 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&+./:;?@^_|~-";
    for (const char *p = r0; *p; p++) KIND[(unsigned char)*p] |= K_RNAME0 | K_RNAME;
    KIND['*'] |= K_RNAME;
    KIND['='] |= K_RNAME;
    for (const char *p = "ACGTURYSWKMBDHVN=."; *p; p++) KIND[(unsigned char)*p] |= K_SEQSTD;
}

/* ---------------------------------------------------------------- reference table */
typedef struct {
    char *name;
    Py_ssize_t len;
    long long tid;    /* index in @SQ order (sam.py's ref_order) */
    long long length; /* @SQ LN, -1 when missing or invalid */
    int name_ok;      /* the name matches the RNAME grammar */
} Ref;

typedef struct {
    PyObject_HEAD
    Ref *slots;
    size_t cap;
    long long n_refs;
    int coordinate;
    int has_last;
    long long last_tid, last_pos;
    int sort_reported;
} Scanner;

static Ref *ref_find(Scanner *s, const char *name, size_t n) {
    if (!s->cap) return NULL;
    size_t i = hash_bytes(name, n) & (s->cap - 1);
    while (s->slots[i].name) {
        if ((size_t)s->slots[i].len == n && memcmp(s->slots[i].name, name, n) == 0) return &s->slots[i];
        i = (i + 1) & (s->cap - 1);
    }
    return NULL;
}

/* ---------------------------------------------------------------- small parsers */

/* 1..10 digits exactly spanning [p, e) -> value, else -1 */
static long long digits10(const char *p, const char *e) {
    Py_ssize_t n = e - p;
    if (n < 1 || n > 10) return -1;
    long long v = 0;
    for (; p < e; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

/* [-+]?[0-9]+ with the value clamped to +/-1e15 (beyond every range checked); 0 when not an integer */
static int sint(const char *p, const char *e, long long *out) {
    int neg = 0;
    if (p < e && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        p++;
    }
    if (p >= e) return 0;
    long long v = 0;
    for (; p < e; p++) {
        if (*p < '0' || *p > '9') return 0;
        if (v < 1000000000000000LL) v = v * 10 + (*p - '0');
    }
    *out = neg ? -v : v;
    return 1;
}

/* sam.py's _float_ok: RE_FLOAT syntax and a finite, non-denormalised-to-zero float32 value */
static int float_ok(const char *p, const char *e) {
    const char *q = p;
    if (q < e && (*q == '-' || *q == '+')) q++;
    const char *d0 = q;
    while (q < e && *q >= '0' && *q <= '9') q++;
    int int_digits = (int)(q - d0);
    if (q < e && *q == '.') {
        q++;
        const char *f0 = q;
        while (q < e && *q >= '0' && *q <= '9') q++;
        if (q == f0) return 0; /* RE_FLOAT: '.' must be followed by digits */
    } else if (!int_digits) {
        return 0;
    }
    if (q < e && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < e && (*q == '-' || *q == '+')) q++;
        const char *x0 = q;
        while (q < e && *q >= '0' && *q <= '9') q++;
        if (q == x0) return 0;
    }
    if (q != e) return 0;
    char tmp[64];
    char *heap = NULL, *s = tmp;
    size_t n = (size_t)(e - p);
    if (n >= sizeof tmp) {
        heap = (char *)malloc(n + 1);
        if (!heap) return 0; /* the slow path decides */
        s = heap;
    }
    memcpy(s, p, n);
    s[n] = 0;
    double v = fabs(strtod(s, NULL));
    free(heap);
    return v < FLT_OVERFLOW && (v == 0 || v >= FLT_UNDERFLOW);
}

/* one optional field TAG:TYPE:VALUE in [p, e); *tag gets the two tag bytes */
static int tag_ok(const char *p, const char *e, unsigned *tag) {
    if (e - p < 5) return 0;
    unsigned char c0 = (unsigned char)p[0], c1 = (unsigned char)p[1];
    if (!(KIND[c0] & K_ALNUM) || (c0 >= '0' && c0 <= '9') || !(KIND[c1] & K_ALNUM)) return 0;
    if (p[2] != ':' || p[4] != ':') return 0;
    *tag = ((unsigned)c0 << 8) | c1;
    char t = p[3];
    const char *v = p + 5;
    switch (t) {
    case 'A':
        return e - v == 1 && (KIND[(unsigned char)*v] & K_PRINT);
    case 'i': {
        long long x;
        return sint(v, e, &x) && x >= -2147483648LL && x <= 4294967295LL;
    }
    case 'f':
        return float_ok(v, e);
    case 'Z':
        for (; v < e; v++)
            if (!(KIND[(unsigned char)*v] & K_ZCHAR)) return 0;
        return 1;
    case 'H':
        if ((e - v) % 2) return 0;
        for (; v < e; v++)
            if (!((*v >= '0' && *v <= '9') || (*v >= 'A' && *v <= 'F'))) return 0;
        return 1;
    case 'B': {
        const char *comma = memchr(v, ',', (size_t)(e - v));
        const char *sub_end = comma ? comma : e;
        if (sub_end - v != 1) return 0;
        char sub = *v;
        long long lo, hi;
        switch (sub) {
        case 'c': lo = -128; hi = 127; break;
        case 'C': lo = 0; hi = 255; break;
        case 's': lo = -32768; hi = 32767; break;
        case 'S': lo = 0; hi = 65535; break;
        case 'i': lo = -2147483648LL; hi = 2147483647LL; break;
        case 'I': lo = 0; hi = 4294967295LL; break;
        case 'f': lo = hi = 0; break;
        default: return 0;
        }
        const char *q = sub_end;
        while (q < e) { /* q points at a ',' */
            const char *a = q + 1;
            const char *b = memchr(a, ',', (size_t)(e - a));
            if (!b) b = e;
            if (sub == 'f') {
                if (!float_ok(a, b)) return 0;
            } else {
                long long x;
                if (!sint(a, b, &x) || x < lo || x > hi) return 0;
            }
            q = b;
        }
        return 1;
    }
    default:
        return 0;
    }
}

/* every byte of [p, e) in '!'..'~' (QUAL): eight bytes at a time, then the tail */
static int all_printable(const char *p, const char *e) {
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (e - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        /* a byte < 0x21, or > 0x7e (which includes every byte >= 0x80) */
        uint64_t below = (x - ones * 0x21) & ~x & highs;
        uint64_t above = ((x + ones * (127 - 0x7e)) | x) & highs;
        if (below | above) return 0;
        p += 8;
    }
    for (; p < e; p++)
        if (!(KIND[(unsigned char)*p] & K_PRINT)) return 0;
    return 1;
}

/* name of a reference in RNAME/RNEXT: the RNAME grammar */
static int rname_ok(const char *p, const char *e) {
    if (p >= e || !(KIND[(unsigned char)*p] & K_RNAME0)) return 0;
    for (p++; p < e; p++)
        if (!(KIND[(unsigned char)*p] & K_RNAME)) return 0;
    return 1;
}

/* ---------------------------------------------------------------- one record */

/* One record's fields, and what the checks so far parsed from them. Each *_clean function below is one
 * rule of SamChecker: 1 when the record passes it with no issue, 0 when Python must look at the line. */
typedef struct {
    const char *f[12]; /* field starts; f[11] is the tab before the optional fields, or NULL */
    const char *fe[11];
    long long flag, pos, mapq, pnext, tlen;
    int rname_star, rnext_star, seq_star, cigar_star;
    Py_ssize_t seq_len;
    long long span; /* reference bases the CIGAR covers (M, D, N, =, X) */
    Ref *ref;       /* RNAME's @SQ entry, NULL for '*' */
} Rec;

/* the 11 mandatory tab-separated fields of [p, e) */
static inline int split_fields(Rec *r, const char *p, const char *e) {
    const char *q = p;
    for (int i = 0; i < 11; i++) {
        r->f[i] = q;
        const char *t = memchr(q, '\t', (size_t)(e - q));
        if (i < 10) {
            if (!t) return 0;
            r->fe[i] = t;
            q = t + 1;
        } else {
            r->fe[i] = t ? t : e;
            r->f[11] = t ? t : NULL; /* the tab before the optional fields */
        }
    }
    return 1;
}

/* QNAME: 1..254 characters of [!-?A-~] */
static inline int qname_clean(const Rec *r) {
    Py_ssize_t n = r->fe[0] - r->f[0];
    if (n < 1 || n > 254) return 0;
    for (const char *q = r->f[0]; q < r->fe[0]; q++)
        if (!(KIND[(unsigned char)*q] & K_QNAME)) return 0;
    return 1;
}

/* FLAG, POS, MAPQ, PNEXT, TLEN: integers in range (at most 10 digits, as sam.py's one-regex path) */
static inline int numbers_clean(Rec *r) {
    const char *const *f = r->f, *const *fe = r->fe;
    r->flag = digits10(f[1], fe[1]);
    r->pos = digits10(f[3], fe[3]);
    r->mapq = digits10(f[4], fe[4]);
    r->pnext = digits10(f[7], fe[7]);
    if (r->flag < 0 || r->flag > 4095 || r->pos < 0 || r->pos > MAX_POS || r->mapq < 0 || r->mapq > 255) return 0;
    if (r->pnext < 0 || r->pnext > MAX_POS) return 0;
    const char *t = f[8];
    if (t < fe[8] && (*t == '-' || *t == '+')) t++;
    return digits10(t, fe[8]) >= 0 && sint(f[8], fe[8], &r->tlen) && r->tlen >= -MAX_POS && r->tlen <= MAX_POS;
}

/* RNAME / RNEXT: '*' (or '=' for RNEXT) or a reference the header defines (with a valid name) */
static inline int refs_clean(Scanner *s, Rec *r) {
    const char *const *f = r->f, *const *fe = r->fe;
    r->rname_star = fe[2] - f[2] == 1 && *f[2] == '*';
    r->ref = NULL;
    if (!r->rname_star) {
        if (!s->n_refs || !rname_ok(f[2], fe[2])) return 0;
        r->ref = ref_find(s, f[2], (size_t)(fe[2] - f[2]));
        if (!r->ref || !r->ref->name_ok) return 0;
    }
    r->rnext_star = fe[6] - f[6] == 1 && *f[6] == '*';
    int rnext_eq = fe[6] - f[6] == 1 && *f[6] == '=';
    if (!r->rnext_star && !rnext_eq) {
        if (!s->n_refs || !rname_ok(f[6], fe[6])) return 0;
        Ref *r2 = ref_find(s, f[6], (size_t)(fe[6] - f[6]));
        if (!r2 || !r2->name_ok) return 0;
    }
    return 1;
}

/* SEQ ('*' or standard IUPAC letters) and QUAL ('*' or printable, as long as SEQ) */
static inline int seq_qual_clean(Rec *r) {
    const char *const *f = r->f, *const *fe = r->fe;
    r->seq_star = fe[9] - f[9] == 1 && *f[9] == '*';
    r->seq_len = fe[9] - f[9];
    if (r->seq_len < 1) return 0;
    if (!r->seq_star)
        for (const char *q = f[9]; q < fe[9]; q++)
            if (!(KIND[(unsigned char)*q] & K_SEQSTD)) return 0; /* an error or a SEQ_NONSTANDARD warning */
    Py_ssize_t qual_len = fe[10] - f[10];
    if (qual_len < 1) return 0;
    if (!all_printable(f[10], fe[10])) return 0;
    int qual_star = qual_len == 1 && *f[10] == '*';
    return qual_star || (!r->seq_star && qual_len == r->seq_len);
}

/* CIGAR: '*' or <length><op>..., clips only at the ends (H? S? core S? H?), query length = SEQ length.
   Forced inline: gcc would keep it a call (its 4 KiB array), which costs the hot loop a few percent. */
static inline __attribute__((always_inline)) int cigar_clean(Rec *r) {
    const char *q = r->f[5], *fe = r->fe[5];
    r->cigar_star = fe - q == 1 && *q == '*';
    r->span = 0;
    if (r->cigar_star) return 1;
    long long qlen = 0;
    /* ops as (length, op) */
    char ops[4096];
    int nops = 0, overflow = 0;
    if (q >= fe) return 0;
    while (q < fe) {
        const char *d = q;
        while (q < fe && *q >= '0' && *q <= '9') q++;
        long long len = digits10(d, q);
        if (len < 0 || q >= fe) return 0;
        char op = *q++;
        switch (op) {
        case 'M': case '=': case 'X': qlen += len; r->span += len; break;
        case 'I': case 'S': qlen += len; break;
        case 'D': case 'N': r->span += len; break;
        case 'H': case 'P': break;
        default: return 0;
        }
        if (nops < (int)sizeof ops) ops[nops++] = op;
        else overflow = 1;
    }
    if (overflow) return 0;
    int i = 0, j = nops;
    if (i < j && ops[i] == 'H') i++;
    if (i < j && ops[j - 1] == 'H') j--;
    if (i < j && ops[i] == 'S') i++;
    if (i < j && ops[j - 1] == 'S') j--;
    for (int k = i; k < j; k++)
        if (ops[k] == 'H' || ops[k] == 'S') return 0;
    return r->seq_star || qlen == r->seq_len;
}

/* the optional fields after the tab at t0 up to e: valid TAG:TYPE:VALUE, no tag twice */
static inline int tags_clean(const char *t0, const char *e) {
    if (!t0) return 1;
    unsigned seen[64];
    int nseen = 0;
    const char *q = t0 + 1;
    for (;;) {
        const char *t = memchr(q, '\t', (size_t)(e - q));
        const char *fend = t ? t : e;
        unsigned tag;
        if (!tag_ok(q, fend, &tag)) return 0;
        for (int k = 0; k < nseen; k++)
            if (seen[k] == tag) return 0;
        if (nseen == 64) return 0;
        seen[nseen++] = tag;
        if (!t) break;
        q = t + 1;
    }
    return 1;
}

/* Picard-style consistency (each is a warning in sam.py) */
static inline int consistent(const Rec *r) {
    long long flag = r->flag, pos = r->pos;
    int unmapped = (flag & 0x4) != 0;
    if (unmapped) {
        if (!r->cigar_star || r->mapq != 0) return 0;
    } else if (r->rname_star || pos == 0 || r->cigar_star) {
        return 0;
    }
    if (!(flag & 0x1) && (flag & (0x2 | 0x8 | 0x20 | 0x40 | 0x80))) return 0;
    if ((flag & 0x1) && !(flag & 0x8) && (r->rnext_star || r->pnext == 0)) return 0;
    if (!(flag & 0x1) && r->tlen != 0) return 0;
    if (!unmapped && r->ref && pos && r->ref->length >= 0) {
        long long end = pos - 1 + (r->span > 1 ? r->span : 1);
        if (pos > r->ref->length || end > r->ref->length) return 0;
    }
    return 1;
}

/* SO:coordinate: the record is not before the previous one (updates the sort state when it passes) */
static inline int sorted_clean(Scanner *s, const Rec *r) {
    if (!s->coordinate) return 1;
    long long tid = r->rname_star ? s->n_refs + 1 : r->ref->tid;
    if (s->has_last && (tid < s->last_tid || (tid == s->last_tid && r->pos < s->last_pos)) && !s->sort_reported)
        return 0;
    s->has_last = 1;
    s->last_tid = tid;
    s->last_pos = r->pos;
    return 1;
}

/* 1 when the record [p, e) (no LF) would get no issue at all from SamChecker; updates the sort state.
   Every byte is checked against its field's class (none admits CR, control or non-ASCII bytes). */
static int clean_record(Scanner *s, const char *p, const char *e) {
    Rec r;
    return split_fields(&r, p, e) && qname_clean(&r) && numbers_clean(&r) && refs_clean(s, &r) &&
           seq_qual_clean(&r) && cigar_clean(&r) && tags_clean(r.f[11], e) && consistent(&r) && sorted_clean(s, &r);
}

/* ---------------------------------------------------------------- the type */

static void Scanner_dealloc(Scanner *s) {
    if (s->slots) {
        for (size_t i = 0; i < s->cap; i++) PyMem_Free(s->slots[i].name);
        PyMem_Free(s->slots);
    }
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static int Scanner_init(Scanner *s, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"refs", "coordinate", NULL};
    PyObject *refs;
    int coordinate = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|p", kwlist, &refs, &coordinate)) return -1;
    PyObject *seq = PySequence_Fast(refs, "refs must be a sequence of (name, tid, length, name_ok)");
    if (!seq) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    size_t cap = 16;
    while (cap < (size_t)n * 2 + 1) cap <<= 1;
    s->slots = (Ref *)PyMem_Calloc(cap, sizeof(Ref));
    if (!s->slots) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    s->cap = cap;
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *name;
        Py_ssize_t len;
        long long tid, length;
        int ok;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "s#LLp", &name, &len, &tid, &length, &ok)) {
            Py_DECREF(seq);
            return -1;
        }
        if (ref_find(s, name, (size_t)len)) continue;
        size_t k = hash_bytes(name, (size_t)len) & (cap - 1);
        while (s->slots[k].name) k = (k + 1) & (cap - 1);
        s->slots[k].name = (char *)PyMem_Malloc((size_t)len + 1);
        if (!s->slots[k].name) {
            Py_DECREF(seq);
            PyErr_NoMemory();
            return -1;
        }
        memcpy(s->slots[k].name, name, (size_t)len + 1);
        s->slots[k].len = len;
        s->slots[k].tid = tid;
        s->slots[k].length = length;
        s->slots[k].name_ok = ok;
    }
    Py_DECREF(seq);
    s->n_refs = n;
    s->coordinate = coordinate;
    return 0;
}

static PyObject *Scanner_scan(Scanner *s, PyObject *args) {
    /* scan(buf, off, end, lineno, records, limit) -> (off, lineno, records): consume the clean records
       of buf[off:end] line by line (a line ends at LF, or at `end`); stop at the first line that is not
       one, or is longer than `limit` bytes with its LF (the caller reports that). `lineno` and `records`
       are the counts so far; the result gives them after the consumed lines. */
    Py_buffer buf;
    Py_ssize_t off, end, limit;
    long long lineno, records;
    if (!PyArg_ParseTuple(args, "y*nnLLn", &buf, &off, &end, &lineno, &records, &limit)) return NULL;
    if (off < 0 || end > buf.len || off > end) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "bad offsets");
        return NULL;
    }
    const char *base = (const char *)buf.buf;
    Py_BEGIN_ALLOW_THREADS
    while (off < end) {
        const char *p = base + off;
        const char *nl = memchr(p, '\n', (size_t)(end - off));
        const char *le = nl ? nl : base + end;
        if (le == p || *p == '@' || (le - p) + (nl ? 1 : 0) > limit || !clean_record(s, p, le)) break;
        lineno++;
        records++;
        off = (le - base) + (nl ? 1 : 0);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    return Py_BuildValue("(nLL)", off, lineno, records);
}

static PyObject *Scanner_get_last_key(Scanner *s, void *c) {
    if (!s->has_last) Py_RETURN_NONE;
    return Py_BuildValue("(LL)", s->last_tid, s->last_pos);
}

static int Scanner_set_last_key(Scanner *s, PyObject *v, void *c) {
    if (v == NULL || v == Py_None) {
        s->has_last = 0;
        return 0;
    }
    if (!PyArg_ParseTuple(v, "LL", &s->last_tid, &s->last_pos)) return -1;
    s->has_last = 1;
    return 0;
}

static PyObject *Scanner_get_sort_reported(Scanner *s, void *c) { return PyBool_FromLong(s->sort_reported); }

static int Scanner_set_sort_reported(Scanner *s, PyObject *v, void *c) {
    int b = v ? PyObject_IsTrue(v) : 0;
    if (b < 0) return -1;
    s->sort_reported = b;
    return 0;
}

static PyMethodDef Scanner_methods[] = {
    {"scan", (PyCFunction)Scanner_scan, METH_VARARGS, "Consume the clean records of buf[off:end]."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Scanner_getset[] = {
    {"last_key", (getter)Scanner_get_last_key, (setter)Scanner_set_last_key, "(tid, pos) of the last record", NULL},
    {"sort_reported", (getter)Scanner_get_sort_reported, (setter)Scanner_set_sort_reported, "", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

SCANNER_TYPE(ScannerType, "genomics.validation._samscan.Scanner",
             "Scanner(refs, coordinate=False): the clean-record fast path of SamChecker.", Scanner_init,
             Scanner_dealloc, Scanner_methods, Scanner_getset);

SCAN_MODULE_DEF(moddef, "_samscan", "Compiled SAM record scanner (fast path).", NULL);

PyMODINIT_FUNC PyInit__samscan(void) {
    init_kinds();
    return scan_module_create(&moddef, &ScannerType);
}
