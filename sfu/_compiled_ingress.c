/*
 * sfu._compiled_ingress: SRTP unprotect of a received RTP packet in one C call.
 *
 * pylibsrtp's Session.unprotect goes through cffi per packet: a length check, an int* and a
 * buffer copy in Python, the call, and a slice of its buffer back into bytes (~6 % of a full
 * room's server CPU). This calls libsrtp's srtp_unprotect through pylibsrtp's own function
 * pointer on aiortc's receive session (sfu/compiled_ingress.py checks the binding), so the
 * session's replay window and rollover counter are the very ones aiortc's path uses.
 *
 * receive() also parses the plain packet into aiortc's own RtpPacket (and HeaderExtensions),
 * as RtpPacket.parse does, field for field: aiortc's parse in Python took about as long per
 * packet as the fan-out's Python around it.
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

/* True when the call got ``want`` arguments, bytes first; else a TypeError naming ``usage``. */
static int
bytes_first(PyObject *const *args, Py_ssize_t nargs, Py_ssize_t want, const char *usage)
{
    if (nargs == want && PyBytes_Check(args[0]))
        return 1;
    PyErr_SetString(PyExc_TypeError, usage);
    return 0;
}

/* unprotect(data) -> the RTP packet, or None when libsrtp refuses it (replayed, forged). */
static PyObject *
Unprotector_call(Unprotector *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (!bytes_first(args, nargs, 1, "unprotect(data: bytes)"))
        return NULL;
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

/* aiortc.rtp's classes and the attribute names set on them (interned once). */
static PyObject *packet_type, *extensions_type;
static PyObject *s_version, *s_marker, *s_payload_type, *s_sequence_number, *s_timestamp, *s_ssrc,
    *s_csrc, *s_extensions, *s_payload, *s_padding_size;
static PyObject *s_abs_send_time, *s_audio_level, *s_mid, *s_repaired_rtp_stream_id,
    *s_rtp_stream_id, *s_transmission_offset, *s_transport_sequence_number;

/* The extension ids a HeaderExtensionsMap was configured with (-1: none). */
enum { X_MID, X_REPAIRED, X_RID, X_ABS_SEND_TIME, X_TOFFSET, X_AUDIO_LEVEL, X_TSN, X_COUNT };

static int
read_ids(PyObject *ids, int out[X_COUNT])
{
    PyObject *names[X_COUNT] = {s_mid, s_repaired_rtp_stream_id, s_rtp_stream_id, s_abs_send_time,
                                s_transmission_offset, s_audio_level, s_transport_sequence_number};
    for (int i = 0; i < X_COUNT; i++) {
        PyObject *v = PyObject_GetAttr(ids, names[i]);
        if (v == NULL)
            return -1;
        out[i] = -1;
        if (PyLong_Check(v)) {
            long id = PyLong_AsLong(v);
            if (id == -1 && PyErr_Occurred()) {
                Py_DECREF(v);
                return -1;
            }
            if (id >= 0 && id <= 255)
                out[i] = (int)id;
        }
        Py_DECREF(v);
    }
    return 0;
}

/* Sets one attribute, stealing the reference to value; -1 on error. */
static int
set_stolen(PyObject *obj, PyObject *name, PyObject *value)
{
    if (value == NULL)
        return -1;
    int rc = PyObject_SetAttr(obj, name, value);
    Py_DECREF(value);
    return rc;
}

/* One header extension element, as HeaderExtensionsMap.get decodes it. Returns 0 when it
 * was stored or not wanted, 1 when aiortc's decoding would raise (the packet is dropped),
 * -1 on a Python error. */
static int
store_extension(PyObject **ext, const int ids[X_COUNT], int x_id, const unsigned char *v,
                Py_ssize_t n)
{
    int which = -1;
    for (int i = 0; i < X_COUNT; i++) { /* aiortc's elif order: the first matching id */
        if (ids[i] == x_id) {
            which = i;
            break;
        }
    }
    if (which < 0)
        return 0;
    if (*ext == NULL) {
        *ext = ((PyTypeObject *)extensions_type)->tp_alloc((PyTypeObject *)extensions_type, 0);
        if (*ext == NULL)
            return -1;
    }
    PyObject *value = NULL;
    PyObject *name = NULL;
    switch (which) {
    case X_MID:
        value = PyUnicode_DecodeUTF8((const char *)v, n, NULL);
        name = s_mid;
        break;
    case X_REPAIRED:
        value = PyUnicode_DecodeASCII((const char *)v, n, NULL);
        name = s_repaired_rtp_stream_id;
        break;
    case X_RID:
        value = PyUnicode_DecodeASCII((const char *)v, n, NULL);
        name = s_rtp_stream_id;
        break;
    case X_ABS_SEND_TIME:
        if (n != 3)
            return 1;
        value = PyLong_FromUnsignedLong(((unsigned long)v[0] << 16) | ((unsigned long)v[1] << 8) | v[2]);
        name = s_abs_send_time;
        break;
    case X_TOFFSET: {
        if (n != 3)
            return 1;
        uint32_t raw = ((uint32_t)v[0] << 24) | ((uint32_t)v[1] << 16) | ((uint32_t)v[2] << 8);
        value = PyLong_FromLong((long)((int32_t)raw >> 8));
        name = s_transmission_offset;
        break;
    }
    case X_AUDIO_LEVEL:
        if (n != 1)
            return 1;
        value = Py_BuildValue("(Ni)", PyBool_FromLong(v[0] & 0x80), v[0] & 0x7F);
        name = s_audio_level;
        break;
    case X_TSN:
        if (n != 2)
            return 1;
        value = PyLong_FromLong(((long)v[0] << 8) | v[1]);
        name = s_transport_sequence_number;
        break;
    }
    if (value == NULL) {
        if (PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
            PyErr_Clear();
            return 1;
        }
        return -1;
    }
    return set_stolen(*ext, name, value) < 0 ? -1 : 0;
}

/* RFC 8285 elements of one extension block, as aiortc's unpack_header_extensions walks them:
 * one-byte headers (profile 0xBEDE: 4-bit id, 4-bit length - 1) or two-byte headers (profile
 * 0x1000: id byte, length byte); zero bytes between elements are padding. */
static int
parse_extensions(PyObject **ext, const int ids[X_COUNT], unsigned profile, const unsigned char *v,
                 Py_ssize_t len)
{
    if (profile != 0xBEDE && profile != 0x1000)
        return 0; /* another profile: aiortc finds no elements in it */
    int one_byte = profile == 0xBEDE;
    Py_ssize_t pos = 0;
    while (pos < len) {
        if (v[pos] == 0) {
            pos++;
            continue;
        }
        int x_id;
        Py_ssize_t x_len;
        if (one_byte) {
            x_id = (v[pos] & 0xF0) >> 4;
            x_len = (v[pos] & 0x0F) + 1;
            pos += 1;
        } else {
            if (len < pos + 2)
                return 1;
            x_id = v[pos];
            x_len = v[pos + 1];
            pos += 2;
        }
        if (len < pos + x_len)
            return 1;
        int rc = store_extension(ext, ids, x_id, v + pos, x_len);
        if (rc != 0)
            return rc;
        pos += x_len;
    }
    return 0;
}

/* RtpPacket.parse(data, map) for a map whose ids are ``ids``: the packet, or None where
 * aiortc's parse would raise. */
static PyObject *
parse_packet(const unsigned char *d, Py_ssize_t len, PyObject *ids_obj)
{
    if (len < 12)
        Py_RETURN_NONE;
    unsigned vpxcc = d[0];
    unsigned version = vpxcc >> 6, padding = (vpxcc >> 5) & 1, extension = (vpxcc >> 4) & 1;
    Py_ssize_t cc = vpxcc & 0x0F;
    if (version != 2 || len < 12 + 4 * cc)
        Py_RETURN_NONE;
    Py_ssize_t pos = 12 + 4 * cc;
    PyObject *ext = NULL;
    if (extension) {
        if (len < pos + 4)
            Py_RETURN_NONE;
        unsigned profile = ((unsigned)d[pos] << 8) | d[pos + 1];
        Py_ssize_t xlen = (((Py_ssize_t)d[pos + 2] << 8) | d[pos + 3]) * 4;
        pos += 4;
        if (len < pos + xlen)
            Py_RETURN_NONE;
        int ids[X_COUNT];
        if (read_ids(ids_obj, ids) < 0)
            return NULL;
        int rc = parse_extensions(&ext, ids, profile, d + pos, xlen);
        if (rc != 0) {
            Py_XDECREF(ext);
            if (rc < 0)
                return NULL;
            Py_RETURN_NONE;
        }
        pos += xlen;
    }
    Py_ssize_t padding_size = 0, end = len;
    if (padding) {
        padding_size = d[len - 1];
        if (padding_size == 0 || padding_size > len - pos) {
            Py_XDECREF(ext);
            Py_RETURN_NONE;
        }
        end = len - padding_size;
    }
    if (ext == NULL) {
        ext = ((PyTypeObject *)extensions_type)->tp_alloc((PyTypeObject *)extensions_type, 0);
        if (ext == NULL)
            return NULL;
    }
    PyTypeObject *tp = (PyTypeObject *)packet_type;
    PyObject *pkt = tp->tp_alloc(tp, 0);
    if (pkt == NULL) {
        Py_DECREF(ext);
        return NULL;
    }
    PyObject *csrc = PyList_New(cc);
    if (csrc != NULL) {
        for (Py_ssize_t i = 0; i < cc; i++) {
            const unsigned char *c = d + 12 + 4 * i;
            PyObject *v = PyLong_FromUnsignedLong(((unsigned long)c[0] << 24) |
                                                  ((unsigned long)c[1] << 16) |
                                                  ((unsigned long)c[2] << 8) | c[3]);
            if (v == NULL) {
                Py_CLEAR(csrc);
                break;
            }
            PyList_SET_ITEM(csrc, i, v);
        }
    }
    unsigned long ts = ((unsigned long)d[4] << 24) | ((unsigned long)d[5] << 16) |
                       ((unsigned long)d[6] << 8) | d[7];
    unsigned long ssrc = ((unsigned long)d[8] << 24) | ((unsigned long)d[9] << 16) |
                         ((unsigned long)d[10] << 8) | d[11];
    if (set_stolen(pkt, s_version, PyLong_FromLong(2)) < 0 ||
        set_stolen(pkt, s_marker, PyLong_FromLong(d[1] >> 7)) < 0 ||
        set_stolen(pkt, s_payload_type, PyLong_FromLong(d[1] & 0x7F)) < 0 ||
        set_stolen(pkt, s_sequence_number, PyLong_FromLong(((long)d[2] << 8) | d[3])) < 0 ||
        set_stolen(pkt, s_timestamp, PyLong_FromUnsignedLong(ts)) < 0 ||
        set_stolen(pkt, s_ssrc, PyLong_FromUnsignedLong(ssrc)) < 0 ||
        set_stolen(pkt, s_csrc, csrc) < 0 || set_stolen(pkt, s_extensions, ext) < 0 ||
        set_stolen(pkt, s_payload,
                   PyBytes_FromStringAndSize((const char *)d + pos, end - pos)) < 0 ||
        set_stolen(pkt, s_padding_size, PyLong_FromSsize_t(padding_size)) < 0) {
        Py_DECREF(pkt);
        return NULL;
    }
    return pkt;
}

/* parse_rtp(data, ids) -> RtpPacket | None: RtpPacket.parse with a map configured as ids
 * (its HeaderExtensions of ids), None where aiortc's parse would raise. */
static PyObject *
module_parse_rtp(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (!bytes_first(args, nargs, 2, "parse_rtp(data: bytes, ids: HeaderExtensions)"))
        return NULL;
    return parse_packet((const unsigned char *)PyBytes_AS_STRING(args[0]),
                        PyBytes_GET_SIZE(args[0]), args[1]);
}

/* receive(data, ids) -> RtpPacket | None: unprotect, then parse_rtp; None when libsrtp
 * refuses the packet or it is not RTP as aiortc parses it. */
static PyObject *
Unprotector_receive(Unprotector *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (!bytes_first(args, nargs, 2, "receive(data: bytes, ids: HeaderExtensions)"))
        return NULL;
    Py_ssize_t size = PyBytes_GET_SIZE(args[0]);
    if (size > 2048) /* pylibsrtp refuses anything over 1,500 bytes ("packet is too long") */
        Py_RETURN_NONE;
    /* Unprotected in a stack buffer: only the payload is copied out, once. */
    unsigned char buf[2048];
    memcpy(buf, PyBytes_AS_STRING(args[0]), (size_t)size);
    int len = (int)size;
    if (self->unprotect(self->srtp, buf, &len) != 0 || len < 0 || len > size)
        Py_RETURN_NONE;
    return parse_packet(buf, len, args[1]);
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
    {"receive", (PyCFunction)(void (*)(void))Unprotector_receive, METH_FASTCALL,
     "receive(data, ids) -> RtpPacket | None: unprotected and parsed as aiortc would."},
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

static PyMethodDef module_methods[] = {
    {"parse_rtp", (PyCFunction)(void (*)(void))module_parse_rtp, METH_FASTCALL,
     "parse_rtp(data, ids) -> RtpPacket | None: aiortc's RtpPacket.parse, None where it raises."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "sfu._compiled_ingress",
    .m_doc = "Received SRTP unprotected and parsed in one call (see sfu.compiled_ingress).",
    .m_size = -1,
    .m_methods = module_methods,
};

static int
intern_names(void)
{
    struct {
        PyObject **slot;
        const char *name;
    } names[] = {
        {&s_version, "version"}, {&s_marker, "marker"}, {&s_payload_type, "payload_type"},
        {&s_sequence_number, "sequence_number"}, {&s_timestamp, "timestamp"},
        {&s_ssrc, "ssrc"}, {&s_csrc, "csrc"}, {&s_extensions, "extensions"},
        {&s_payload, "payload"}, {&s_padding_size, "padding_size"},
        {&s_abs_send_time, "abs_send_time"}, {&s_audio_level, "audio_level"}, {&s_mid, "mid"},
        {&s_repaired_rtp_stream_id, "repaired_rtp_stream_id"},
        {&s_rtp_stream_id, "rtp_stream_id"}, {&s_transmission_offset, "transmission_offset"},
        {&s_transport_sequence_number, "transport_sequence_number"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        *names[i].slot = PyUnicode_InternFromString(names[i].name);
        if (*names[i].slot == NULL)
            return -1;
    }
    PyObject *rtp = PyImport_ImportModule("aiortc.rtp");
    if (rtp == NULL)
        return -1;
    packet_type = PyObject_GetAttrString(rtp, "RtpPacket");
    extensions_type = PyObject_GetAttrString(rtp, "HeaderExtensions");
    Py_DECREF(rtp);
    if (packet_type == NULL || extensions_type == NULL)
        return -1;
    if (!PyType_Check(packet_type) || !PyType_Check(extensions_type)) {
        PyErr_SetString(PyExc_TypeError, "aiortc.rtp's RtpPacket/HeaderExtensions are not classes");
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC
PyInit__compiled_ingress(void)
{
    if (PyType_Ready(&UnprotectorType) < 0 || intern_names() < 0)
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
