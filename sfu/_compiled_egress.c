/*
 * sfu._compiled_egress: one forwarded RTP packet per call, header to socket.
 *
 * The Python forwarding path spends most of a copy's cost on call boundaries, not
 * statements: struct.pack and a concatenation for the header, a cffi call into libsrtp
 * (and a copy in and out of pylibsrtp's buffer), then uvloop's transport.sendto. This
 * does the three steps in one call: the header exactly as sfu.rtp_writer.RtpWriter
 * writes it (RFC 3550 §5.1 fixed header, RFC 8285 §4.2 one-byte extensions), srtp_protect
 * in place, sendto(2) on the ICE pair's socket.
 *
 * libsrtp is not linked: sfu.compiled_egress hands over the address of srtp_protect from
 * pylibsrtp's own binding and the srtp_t of aiortc's transmit Session, so the packets are
 * protected with the same session state (rollover counter, replay list) as the ones
 * aiortc sends itself (RTX, through the slow path).
 *
 * When the socket cannot take the packet now (EAGAIN) or refuses it, the protected packet
 * goes through transport.sendto, which queues it (or reports the error to the protocol)
 * the way the Python path would; until that queue has drained every later packet takes
 * the same way, so none overtakes a queued one.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/* libsrtp 2: srtp_err_status_t srtp_protect(srtp_t, void *rtp_hdr, int *len_ptr). */
typedef int (*srtp_protect_fn)(void *ctx, void *rtp_hdr, int *len_ptr);

/* SRTP_MAX_TAG_LEN + SRTP_MAX_MKI_LEN, as pylibsrtp reserves. */
#define SRTP_MAX_TRAILER_LEN (16 + 128)
/* Packets up to this size are built on the stack; larger ones (none in practice) on the heap. */
#define STACK_PACKET 2048
#define ONE_BYTE_PROFILE 0xBEDE

static PyObject *SrtpError;

typedef struct {
    PyObject_HEAD
    srtp_protect_fn protect;
    void *srtp;
    PyObject *session;     /* the pylibsrtp Session: keeps the srtp_t alive */
    PyObject *sendto;      /* transport.sendto, for packets the socket does not take now */
    PyObject *buffer_size; /* transport.get_write_buffer_size */
    PyObject *addr;        /* the remote address as transport.sendto takes it */
    int fd;
    struct sockaddr_storage sa;
    socklen_t sa_len;
    uint32_t ssrc;
    uint8_t pt;
    uint8_t mid[32];       /* the MID element (header byte + value), as RtpWriter has it */
    Py_ssize_t mid_len;
    int abs_id;            /* -1: not negotiated */
    int level_id;
    int queued;            /* the transport may hold unsent packets: keep using it */
    unsigned long long direct;
    unsigned long long through_transport;
} PacketSender;

static int
parse_address(PacketSender *self, int family, PyObject *addr)
{
    memset(&self->sa, 0, sizeof(self->sa));
    /* (host, port), or IPv6's (host, port, flowinfo, scope_id) */
    Py_ssize_t size = PyTuple_GET_SIZE(addr);
    if (size != 2 && size != 4) {
        PyErr_Format(PyExc_ValueError, "not an address: %R", addr);
        return -1;
    }
    const char *host = PyUnicode_AsUTF8(PyTuple_GET_ITEM(addr, 0));
    if (host == NULL)
        return -1;
    long port = PyLong_AsLong(PyTuple_GET_ITEM(addr, 1));
    if (port == -1 && PyErr_Occurred())
        return -1;
    if (port < 0 || port > 65535) {
        PyErr_SetString(PyExc_ValueError, "port out of range");
        return -1;
    }
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&self->sa;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
            self->sa_len = sizeof(*sin);
            return 0;
        }
    } else if (family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&self->sa;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        if (size == 4) {
            unsigned long scope = PyLong_AsUnsignedLong(PyTuple_GET_ITEM(addr, 3));
            if (scope == (unsigned long)-1 && PyErr_Occurred())
                return -1;
            sin6->sin6_scope_id = (uint32_t)scope;
        }
        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
            self->sa_len = sizeof(*sin6);
            return 0;
        }
    }
    PyErr_Format(PyExc_ValueError, "cannot send to %R on a socket of family %d", addr, family);
    return -1;
}

static int
PacketSender_init(PacketSender *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {
        "ssrc", "payload_type", "mid_element", "abs_send_time_id", "audio_level_id",
        "protect", "srtp", "session", "fd", "family", "remote_addr", "transport", NULL};
    unsigned long ssrc;
    int pt, abs_id, level_id, fd, family;
    Py_buffer mid;
    unsigned long long protect, srtp;
    PyObject *session, *addr, *transport;
    if (!PyArg_ParseTupleAndKeywords(
            args, kwds, "$kiy*iiKKOiiOO", kwlist, &ssrc, &pt, &mid, &abs_id, &level_id,
            &protect, &srtp, &session, &fd, &family, &addr, &transport))
        return -1;
    if (mid.len > (Py_ssize_t)sizeof(self->mid) || pt < 0 || pt > 127 || !protect || !srtp
        || fd < 0) {
        PyBuffer_Release(&mid);
        PyErr_SetString(PyExc_ValueError, "invalid stream or session parameters");
        return -1;
    }
    memcpy(self->mid, mid.buf, (size_t)mid.len);
    self->mid_len = mid.len;
    PyBuffer_Release(&mid);
    if (!PyTuple_Check(addr)) {
        PyErr_SetString(PyExc_TypeError, "remote_addr must be a tuple");
        return -1;
    }
    if (parse_address(self, family, addr) < 0)
        return -1;
    PyObject *sendto = PyObject_GetAttrString(transport, "sendto");
    if (sendto == NULL)
        return -1;
    PyObject *buffer_size = PyObject_GetAttrString(transport, "get_write_buffer_size");
    if (buffer_size == NULL) {
        Py_DECREF(sendto);
        return -1;
    }
    self->ssrc = (uint32_t)ssrc;
    self->pt = (uint8_t)pt;
    self->abs_id = abs_id;
    self->level_id = level_id;
    self->protect = (srtp_protect_fn)(uintptr_t)protect;
    self->srtp = (void *)(uintptr_t)srtp;
    self->fd = fd;
    self->queued = 0;
    Py_INCREF(session);
    Py_XSETREF(self->session, session);
    Py_XSETREF(self->sendto, sendto);
    Py_XSETREF(self->buffer_size, buffer_size);
    Py_INCREF(addr);
    Py_XSETREF(self->addr, addr);
    return 0;
}

static void
PacketSender_dealloc(PacketSender *self)
{
    Py_XDECREF(self->session);
    Py_XDECREF(self->sendto);
    Py_XDECREF(self->buffer_size);
    Py_XDECREF(self->addr);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static inline void
put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The packet is no longer direct: hand the protected bytes to the transport. */
static int
send_through_transport(PacketSender *self, const uint8_t *packet, int len)
{
    PyObject *protected = PyBytes_FromStringAndSize((const char *)packet, len);
    if (protected == NULL)
        return -1;
    PyObject *res = PyObject_CallFunctionObjArgs(self->sendto, protected, self->addr, NULL);
    Py_DECREF(protected);
    if (res == NULL)
        return -1;
    Py_DECREF(res);
    self->through_transport++;
    self->queued = 1;
    return 0;
}

/* True while the transport still holds packets (which a direct write would overtake). */
static int
transport_busy(PacketSender *self)
{
    PyObject *size = PyObject_CallNoArgs(self->buffer_size);
    if (size == NULL)
        return -1;
    int busy = PyObject_IsTrue(size);
    Py_DECREF(size);
    return busy;
}

static int
protect_and_send(PacketSender *self, uint8_t *buf, int len)
{
    int protected_len = len;
    int status = self->protect(self->srtp, buf, &protected_len);
    if (status != 0) {
        PyErr_Format(SrtpError, "srtp_protect failed (libsrtp status %d)", status);
        return -1;
    }
    if (self->queued) {
        int busy = transport_busy(self);
        if (busy < 0)
            return -1;
        if (busy)
            return send_through_transport(self, buf, protected_len);
        self->queued = 0;
    }
    for (;;) {
        ssize_t sent = sendto(self->fd, buf, (size_t)protected_len, MSG_DONTWAIT,
                              (struct sockaddr *)&self->sa, self->sa_len);
        if (sent >= 0) {
            self->direct++;
            return 0;
        }
        if (errno != EINTR)
            break;
    }
    /* EAGAIN/ENOBUFS: the transport queues it; an ICMP error: the protocol hears of it. */
    return send_through_transport(self, buf, protected_len);
}

static PyObject *
PacketSender_send(PacketSender *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError,
                        "send(marker, seq, ts, payload, abs_send_time, audio_level)");
        return NULL;
    }
    int marker = PyObject_IsTrue(args[0]);
    if (marker < 0)
        return NULL;
    unsigned long seq = PyLong_AsUnsignedLong(args[1]);
    if (seq == (unsigned long)-1 && PyErr_Occurred())
        return NULL;
    unsigned long ts = PyLong_AsUnsignedLong(args[2]);
    if (ts == (unsigned long)-1 && PyErr_Occurred())
        return NULL;
    if (!PyBytes_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "payload must be bytes");
        return NULL;
    }
    PyObject *payload = args[3];
    PyObject *abs_obj = args[4];
    PyObject *level_obj = args[5];

    uint8_t element[4];
    Py_ssize_t element_len = 0;
    if (abs_obj != Py_None && self->abs_id >= 0) {
        unsigned long abs_time = PyLong_AsUnsignedLongMask(abs_obj);
        if (abs_time == (unsigned long)-1 && PyErr_Occurred())
            return NULL;
        element[0] = (uint8_t)((self->abs_id << 4) | 2);
        element[1] = (uint8_t)(abs_time >> 16);
        element[2] = (uint8_t)(abs_time >> 8);
        element[3] = (uint8_t)abs_time;
        element_len = 4;
    } else if (level_obj != Py_None && self->level_id >= 0) {
        if (!PyTuple_Check(level_obj) || PyTuple_GET_SIZE(level_obj) != 2) {
            PyErr_SetString(PyExc_TypeError, "audio_level must be (vad, level)");
            return NULL;
        }
        int vad = PyObject_IsTrue(PyTuple_GET_ITEM(level_obj, 0));
        if (vad < 0)
            return NULL;
        unsigned long level = PyLong_AsUnsignedLongMask(PyTuple_GET_ITEM(level_obj, 1));
        if (level == (unsigned long)-1 && PyErr_Occurred())
            return NULL;
        /* RFC 6464 §3: V flag, then the level in -dBov. */
        element[0] = (uint8_t)(self->level_id << 4);
        element[1] = (uint8_t)((vad ? 0x80 : 0) | (level & 0x7F));
        element_len = 2;
    }
    Py_ssize_t body = self->mid_len + element_len;
    Py_ssize_t header_len = 12;
    if (body)
        header_len = 16 + body + ((4 - body % 4) % 4);
    Py_ssize_t payload_len = PyBytes_GET_SIZE(payload);
    Py_ssize_t total = header_len + payload_len;
    if (total > INT_MAX - SRTP_MAX_TRAILER_LEN) {
        PyErr_SetString(PyExc_ValueError, "packet is too long");
        return NULL;
    }

    PyObject *data = PyBytes_FromStringAndSize(NULL, total);
    if (data == NULL)
        return NULL;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(data);
    memset(out, 0, (size_t)header_len);
    out[0] = body ? 0x90 : 0x80; /* V=2, X when there are extensions */
    out[1] = (uint8_t)((marker ? 0x80 : 0) | self->pt);
    put16(out + 2, (uint32_t)seq);
    put32(out + 4, (uint32_t)ts);
    put32(out + 8, self->ssrc);
    if (body) {
        put16(out + 12, ONE_BYTE_PROFILE);
        put16(out + 14, (uint32_t)((header_len - 16) / 4));
        memcpy(out + 16, self->mid, (size_t)self->mid_len);
        memcpy(out + 16 + self->mid_len, element, (size_t)element_len);
    }
    memcpy(out + header_len, PyBytes_AS_STRING(payload), (size_t)payload_len);

    /* srtp_protect encrypts in place and appends the tag: a 32-bit aligned copy with room. */
    uint32_t stack[(STACK_PACKET + SRTP_MAX_TRAILER_LEN) / 4];
    uint8_t *buf = (uint8_t *)stack;
    if (total > STACK_PACKET) {
        buf = PyMem_Malloc((size_t)total + SRTP_MAX_TRAILER_LEN);
        if (buf == NULL) {
            Py_DECREF(data);
            return PyErr_NoMemory();
        }
    }
    memcpy(buf, out, (size_t)total);
    int failed = protect_and_send(self, buf, (int)total);
    if (buf != (uint8_t *)stack)
        PyMem_Free(buf);
    if (failed) {
        Py_DECREF(data);
        return NULL;
    }
    PyObject *len_obj = PyLong_FromSsize_t(header_len);
    if (len_obj == NULL) {
        Py_DECREF(data);
        return NULL;
    }
    PyObject *result = PyTuple_New(2);
    if (result == NULL) {
        Py_DECREF(data);
        Py_DECREF(len_obj);
        return NULL;
    }
    PyTuple_SET_ITEM(result, 0, data);
    PyTuple_SET_ITEM(result, 1, len_obj);
    return result;
}

static PyObject *
PacketSender_get_direct(PacketSender *self, void *closure)
{
    return PyLong_FromUnsignedLongLong(self->direct);
}

static PyObject *
PacketSender_get_through_transport(PacketSender *self, void *closure)
{
    return PyLong_FromUnsignedLongLong(self->through_transport);
}

static PyMethodDef PacketSender_methods[] = {
    {"send", (PyCFunction)(void (*)(void))PacketSender_send, METH_FASTCALL,
     "send(marker, seq, ts, payload, abs_send_time, audio_level) -> (packet, header_len)\n"
     "Write, protect and send one packet; returns it unprotected, as RtpWriter.write does."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef PacketSender_getset[] = {
    {"direct", (getter)PacketSender_get_direct, NULL, "packets written to the socket", NULL},
    {"through_transport", (getter)PacketSender_get_through_transport, NULL,
     "packets handed to transport.sendto (socket busy or refusing)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject PacketSenderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "sfu._compiled_egress.PacketSender",
    .tp_doc = "One negotiated stream's header, SRTP session and socket, one call per packet.",
    .tp_basicsize = sizeof(PacketSender),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)PacketSender_init,
    .tp_dealloc = (destructor)PacketSender_dealloc,
    .tp_methods = PacketSender_methods,
    .tp_getset = PacketSender_getset,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "sfu._compiled_egress",
    .m_doc = "Forwarded RTP: header, SRTP and sendto(2) in one call (see sfu.compiled_egress).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__compiled_egress(void)
{
    if (PyType_Ready(&PacketSenderType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    SrtpError = PyErr_NewException("sfu._compiled_egress.SrtpError", PyExc_RuntimeError, NULL);
    if (SrtpError == NULL || PyModule_AddObjectRef(m, "SrtpError", SrtpError) < 0
        || PyModule_AddObjectRef(m, "PacketSender", (PyObject *)&PacketSenderType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
