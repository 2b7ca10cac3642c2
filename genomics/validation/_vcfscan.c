/*
 * _vcfscan: the per-record part of the VCF validator (genomics/validation/vcf.py).
 *
 * Python parses the header and hands a Scanner the INFO/FORMAT/FILTER/contig tables; the Scanner then
 * checks data lines in bulk (feed() takes a buffer of complete lines) and returns the problems found as
 * tuples (severity, code, message, line, record). Line and record numbers are 1-based (user-facing).
 * Memory is bounded: only the distinct keys/contigs seen and the records at the current position are
 * kept, and at most `cap` issues per code are materialised (the rest are only counted).
 *
 * One translation unit in three files: _vcfscan_fields.h (the field grammar), this file (the issue codes,
 * the Scanner and its Python glue) and _vcfscan_columns.h (one check per column of a data line).
 */
#include "_scanmodule.h"
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "_vcfscan_fields.h"

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

#include "_vcfscan_columns.h"

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
