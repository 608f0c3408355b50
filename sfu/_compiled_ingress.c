/*
 * sfu._compiled_ingress: SRTP unprotect of a received RTP packet in one C call.
 *
 * pylibsrtp's Session.unprotect goes through cffi per packet: a length check, an int* and a
 * buffer copy in Python, the call, and a slice of its buffer back into bytes (~6 % of a full
 * room's server CPU). This calls libsrtp's srtp_unprotect through pylibsrtp's own function
 * pointer on aiortc's receive session (sfu/compiled_ingress.py checks the binding), so the
 * session's replay window and rollover counter are the very ones aiortc's path uses.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

/* libsrtp 2: srtp_err_status_t srtp_unprotect(srtp_t, void *srtp_hdr, int *len_ptr). */
typedef int (*srtp_unprotect_fn)(void *ctx, void *srtp_hdr, int *len_ptr);

typedef struct {
    PyObject_HEAD
    srtp_unprotect_fn unprotect;
    void *srtp;
    PyObject *session; /* keeps the session (and so its srtp_t) alive */
} Unprotector;

static int
Unprotector_init(Unprotector *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"unprotect", "srtp", "session", NULL};
    unsigned long long unprotect, srtp;
    PyObject *session;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "KKO", kwlist, &unprotect, &srtp, &session))
        return -1;
    if (unprotect == 0 || srtp == 0) {
        PyErr_SetString(PyExc_ValueError, "unprotect and srtp must not be null");
        return -1;
    }
    self->unprotect = (srtp_unprotect_fn)(uintptr_t)unprotect;
    self->srtp = (void *)(uintptr_t)srtp;
    Py_INCREF(session);
    Py_XSETREF(self->session, session);
    return 0;
}

static void
Unprotector_dealloc(Unprotector *self)
{
    Py_XDECREF(self->session);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* unprotect(data) -> the RTP packet, or None when libsrtp refuses it (replayed, forged). */
static PyObject *
Unprotector_call(Unprotector *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 1 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "unprotect(data: bytes)");
        return NULL;
    }
    Py_ssize_t size = PyBytes_GET_SIZE(args[0]);
    if (size > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "packet is too long");
        return NULL;
    }
    /* Unprotected in place in a new bytes object, then cut to the plain length. */
    PyObject *out = PyBytes_FromStringAndSize(PyBytes_AS_STRING(args[0]), size);
    if (out == NULL)
        return NULL;
    int len = (int)size;
    if (self->unprotect(self->srtp, PyBytes_AS_STRING(out), &len) != 0) {
        Py_DECREF(out);
        Py_RETURN_NONE;
    }
    if (len < 0 || len > size) { /* never from libsrtp; refuse rather than trust it */
        Py_DECREF(out);
        Py_RETURN_NONE;
    }
    if (len != size && _PyBytes_Resize(&out, len) < 0)
        return NULL;
    return out;
}

static PyObject *
Unprotector_session(Unprotector *self, void *closure)
{
    Py_INCREF(self->session);
    return self->session;
}

static PyMethodDef Unprotector_methods[] = {
    {"unprotect", (PyCFunction)(void (*)(void))Unprotector_call, METH_FASTCALL,
     "unprotect(data) -> bytes | None: the plain RTP packet, None if libsrtp refuses it."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Unprotector_getset[] = {
    {"session", (getter)Unprotector_session, NULL, "the pylibsrtp Session bound", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject UnprotectorType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "sfu._compiled_ingress.Unprotector",
    .tp_basicsize = sizeof(Unprotector),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "SRTP unprotect on one libsrtp session (see sfu.compiled_ingress).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Unprotector_init,
    .tp_dealloc = (destructor)Unprotector_dealloc,
    .tp_methods = Unprotector_methods,
    .tp_getset = Unprotector_getset,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "sfu._compiled_ingress",
    .m_doc = "Received SRTP unprotected in one call (see sfu.compiled_ingress).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__compiled_ingress(void)
{
    if (PyType_Ready(&UnprotectorType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&UnprotectorType);
    if (PyModule_AddObject(m, "Unprotector", (PyObject *)&UnprotectorType) < 0) {
        Py_DECREF(&UnprotectorType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
