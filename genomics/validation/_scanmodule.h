/*
 * _scanmodule.h: what the compiled scanners (_vcfscan.c, _samscan.c, _fastqscan.c) share: the CPython
 * module and type boilerplate, and the string hash of their lookup tables. Included by each of them
 * (setup.py and scripts/fuzz.sh compile the .c files; this header is found next to them).
 */
#ifndef GENOMICS_SCANMODULE_H
#define GENOMICS_SCANMODULE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* FNV-1a of n bytes: the hash of the scanners' open-addressing tables (keys, reference names). */
static inline uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* The module's definition: `name`, a docstring, its module-level functions (or NULL). */
#define SCAN_MODULE_DEF(var, name, doc, methods) \
    static struct PyModuleDef var = {PyModuleDef_HEAD_INIT, name, doc, -1, methods}

/* A scanner type: a `Scanner` struct (PyObject_HEAD first) with its init, dealloc, methods and getters. */
#define SCANNER_TYPE(var, qualname, doc, init, dealloc, methods, getset) \
    static PyTypeObject var = {                                          \
        PyVarObject_HEAD_INIT(NULL, 0).tp_name = qualname,               \
        .tp_basicsize = sizeof(Scanner),                                 \
        .tp_flags = Py_TPFLAGS_DEFAULT,                                  \
        .tp_new = PyType_GenericNew,                                     \
        .tp_init = (initproc)(init),                                     \
        .tp_dealloc = (destructor)(dealloc),                             \
        .tp_methods = methods,                                           \
        .tp_getset = getset,                                             \
        .tp_doc = doc,                                                   \
    }

/* The module object for PyInit_*: created from `def`, with `type` (when not NULL) ready and added as
   the module's `Scanner`. NULL with an exception set on failure. */
static inline PyObject *scan_module_create(struct PyModuleDef *def, PyTypeObject *type) {
    if (type && PyType_Ready(type) < 0) return NULL;
    PyObject *m = PyModule_Create(def);
    if (!m || !type) return m;
    Py_INCREF(type);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)type) < 0) {
        Py_DECREF(type);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

#endif
