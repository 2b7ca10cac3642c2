/*
 * _fastqscan: the per-record fast path of the FASTQ validator (genomics/validation/fastq.py).
 *
 * scan() walks a buffer from a record boundary and consumes each 4-line record that fastq.iter_records
 * would pass without any issue: an '@' title with a name, one sequence line of [A-Za-z.*-], a '+' line
 * that is bare or repeats the title, one quality line of [!-~] as long as the sequence, followed by a
 * line starting with '@' (or the end of the data). It stops at the first record that is anything else
 * (CR LF, wrapped lines, blank lines, any error), or that does not end inside the buffer: fastq.py then
 * reads that record line by line and reports exactly what it always reported. Optionally it returns each
 * consumed record's pairing name (first word of the title without a /1 or /2 suffix) for the R1/R2 check.
 * The GIL is released while scanning (unless names are wanted); the buffer is an immutable bytes object.
 */
#include "_scanmodule.h"
#include <string.h>

static unsigned char SEQ_OK[256], QUAL_OK[256], SPACE[256];

static void init_tables(void) {
    for (int c = 'A'; c <= 'Z'; c++) SEQ_OK[c] = SEQ_OK[c + 32] = 1;
    SEQ_OK['.'] = SEQ_OK['*'] = SEQ_OK['-'] = 1;
    for (int c = '!'; c <= '~'; c++) QUAL_OK[c] = 1;
    SPACE[' '] = SPACE['\t'] = SPACE['\n'] = SPACE['\r'] = SPACE['\v'] = SPACE['\f'] = 1;
}

/* the end of the line starting at p (the LF, or NULL when the buffer ends first) */
static const char *line_end(const char *p, const char *end) { return memchr(p, '\n', (size_t)(end - p)); }

/* One clean record at p? Returns its end (past the last LF, or `end` at EOF) or NULL. */
static const char *clean_record(const char *p, const char *end, int eof, Py_ssize_t limit, const char **name,
                                Py_ssize_t *name_len) {
    if (p >= end || *p != '@') return NULL;
    const char *t_end = line_end(p, end);
    if (!t_end || t_end - p + 1 > limit) return NULL;
    const char *s = t_end + 1, *s_end = line_end(s, end);
    if (!s_end || s_end - s + 1 > limit) return NULL;
    const char *pl = s_end + 1, *pl_end = line_end(pl, end);
    if (!pl_end || pl_end - pl + 1 > limit) return NULL;
    const char *q = pl_end + 1, *q_end = line_end(q, end);
    const char *next;
    if (q_end) {
        next = q_end + 1;
        if (next < end) {
            if (*next != '@') return NULL; /* blank lines, junk: the slow path decides */
        } else if (!eof) {
            return NULL; /* cannot see the next line yet */
        }
    } else {
        if (!eof) return NULL;
        q_end = end; /* last line without LF */
        next = end;
    }
    if (q_end - q + (q_end < end) > limit) return NULL;
    /* title: ASCII, no CR, has a non-space byte; pairing name = first word */
    const char *n0 = NULL, *n1 = NULL;
    for (const char *c = p + 1; c < t_end; c++) {
        unsigned char b = (unsigned char)*c;
        if (b == '\r' || b >= 0x80) return NULL;
        if (!SPACE[b]) {
            if (!n0) n0 = c;
        } else if (n0 && !n1) {
            n1 = c;
        }
    }
    if (!n0) return NULL;
    if (!n1) n1 = t_end;
    /* sequence: one non-empty line of [A-Za-z.*-] (so it cannot start with '+') */
    Py_ssize_t slen = s_end - s;
    if (slen < 1) return NULL;
    for (const char *c = s; c < s_end; c++)
        if (!SEQ_OK[(unsigned char)*c]) return NULL;
    /* '+' line: bare, or the title again */
    if (*pl != '+') return NULL;
    Py_ssize_t plen = pl_end - pl;
    if (plen > 1 && (plen != t_end - p || memcmp(pl + 1, p + 1, (size_t)(plen - 1)) != 0)) return NULL;
    /* quality: one line as long as the sequence */
    if (q_end - q != slen) return NULL;
    for (const char *c = q; c < q_end; c++)
        if (!QUAL_OK[(unsigned char)*c]) return NULL;
    if (n1 - n0 >= 2 && n1[-2] == '/' && (n1[-1] == '1' || n1[-1] == '2')) n1 -= 2;
    *name = n0;
    *name_len = n1 - n0;
    return next;
}

static PyObject *scan(PyObject *m, PyObject *args) {
    /* scan(buf, off, eof, limit, names) -> (off, records, names list or None) */
    Py_buffer buf;
    Py_ssize_t off, limit;
    int eof, want_names;
    if (!PyArg_ParseTuple(args, "y*nnnp", &buf, &off, &eof, &limit, &want_names)) return NULL;
    if (off < 0 || off > buf.len) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "bad offset");
        return NULL;
    }
    const char *base = (const char *)buf.buf, *end = base + buf.len, *p = base + off;
    long long records = 0;
    PyObject *names = NULL;
    if (want_names) {
        names = PyList_New(0);
        if (!names) goto fail;
        for (;;) {
            const char *name;
            Py_ssize_t nlen;
            const char *next = clean_record(p, end, eof, limit, &name, &nlen);
            if (!next) break;
            PyObject *s = PyUnicode_DecodeASCII(name, nlen, "strict");
            if (!s || PyList_Append(names, s) < 0) {
                Py_XDECREF(s);
                goto fail;
            }
            Py_DECREF(s);
            records++;
            p = next;
        }
    } else {
        Py_BEGIN_ALLOW_THREADS
        for (;;) {
            const char *name;
            Py_ssize_t nlen;
            const char *next = clean_record(p, end, eof, limit, &name, &nlen);
            if (!next) break;
            records++;
            p = next;
        }
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&buf);
    if (!names) {
        Py_INCREF(Py_None);
        names = Py_None;
    }
    return Py_BuildValue("(nLN)", (Py_ssize_t)(p - base), records, names);
fail:
    Py_XDECREF(names);
    PyBuffer_Release(&buf);
    return NULL;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, "scan(buf, off, eof, limit, names) -> (off, records, names)"},
    {NULL, NULL, 0, NULL},
};

SCAN_MODULE_DEF(moddef, "_fastqscan", "Compiled FASTQ record scanner (fast path).", methods);

PyMODINIT_FUNC PyInit__fastqscan(void) {
    init_tables();
    return scan_module_create(&moddef, NULL);
}
