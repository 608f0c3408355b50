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

/* Write, protect and send one packet. With keep, returns it unprotected (a new
 * reference), else Py_None (a new reference; the packet is written straight into the
 * buffer libsrtp encrypts); *packet_len_out: its unprotected length. */
static PyObject *
sender_send(PacketSender *self, int marker, uint32_t seq, uint32_t ts, PyObject *payload,
            PyObject *abs_obj, PyObject *level_obj, int keep, Py_ssize_t *header_len_out,
            Py_ssize_t *packet_len_out)
{
    if (!PyBytes_Check(payload)) {
        PyErr_SetString(PyExc_TypeError, "payload must be bytes");
        return NULL;
    }
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

    /* srtp_protect encrypts in place and appends the tag: a 32-bit aligned buffer with room. */
    uint32_t stack[(STACK_PACKET + SRTP_MAX_TRAILER_LEN) / 4];
    uint8_t *buf = (uint8_t *)stack;
    if (total > STACK_PACKET) {
        buf = PyMem_Malloc((size_t)total + SRTP_MAX_TRAILER_LEN);
        if (buf == NULL)
            return PyErr_NoMemory();
    }
    memset(buf, 0, (size_t)header_len);
    buf[0] = body ? 0x90 : 0x80; /* V=2, X when there are extensions */
    buf[1] = (uint8_t)((marker ? 0x80 : 0) | self->pt);
    put16(buf + 2, seq);
    put32(buf + 4, ts);
    put32(buf + 8, self->ssrc);
    if (body) {
        put16(buf + 12, ONE_BYTE_PROFILE);
        put16(buf + 14, (uint32_t)((header_len - 16) / 4));
        memcpy(buf + 16, self->mid, (size_t)self->mid_len);
        memcpy(buf + 16 + self->mid_len, element, (size_t)element_len);
    }
    memcpy(buf + header_len, PyBytes_AS_STRING(payload), (size_t)payload_len);

    PyObject *data = Py_None;
    if (keep)
        data = PyBytes_FromStringAndSize((const char *)buf, total);
    else
        Py_INCREF(data);
    if (data == NULL || protect_and_send(self, buf, (int)total) < 0)
        Py_CLEAR(data);
    if (buf != (uint8_t *)stack)
        PyMem_Free(buf);
    if (data == NULL)
        return NULL;
    *header_len_out = header_len;
    *packet_len_out = total;
    return data;
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
    Py_ssize_t header_len, packet_len;
    PyObject *data = sender_send(self, marker, (uint32_t)seq, (uint32_t)ts, args[3], args[4],
                                 args[5], 1, &header_len, &packet_len);
    if (data == NULL)
        return NULL;
    return Py_BuildValue("(Nn)", data, header_len);
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

/* ---------------------------------------------------------------------------------
 * StreamRewriter: sfu.stream_rewriter.StreamRewriter in C, same API, same state, same
 * outputs (tests/sfu/test_compiled_fanout.py checks both against each other). The Python
 * class is the reference and the fallback where this extension is not built.
 */

#define SEQ_MOD 65536
#define HALF_SEQ 32768

typedef struct {
    PyObject_HEAD
    int needs_keyframe;
    int started;
    int keep_ts;
    long long ts_step;
    uint32_t next_seq;
    uint32_t next_ts;
    uint32_t seq_offset;
    uint32_t ts_offset;
    uint32_t max_in_seq;
    long long ext_max;
    long long ext_start;
    uint32_t last_seq;
    uint32_t last_ts;
} StreamRewriter;

static PyTypeObject StreamRewriterType;

static int
StreamRewriter_init(StreamRewriter *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"first_seq", "first_ts", "ts_step", "video", NULL};
    PyObject *first_seq, *first_ts;
    long long ts_step;
    int video;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "$OOLp", kwlist, &first_seq, &first_ts,
                                     &ts_step, &video))
        return -1;
    /* Python's % of a power of two: the low bits of the two's complement, any sign. */
    unsigned long long seq = PyLong_AsUnsignedLongLongMask(first_seq);
    if (seq == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    unsigned long long ts = PyLong_AsUnsignedLongLongMask(first_ts);
    if (ts == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    self->needs_keyframe = video;
    self->ts_step = ts_step;
    self->next_seq = (uint32_t)(seq & 0xFFFF);
    self->next_ts = (uint32_t)ts;
    self->started = 0;
    self->keep_ts = 0;
    self->seq_offset = 0;
    self->ts_offset = 0;
    self->max_in_seq = 0;
    self->ext_max = 0;
    self->ext_start = 0;
    self->last_seq = (self->next_seq + SEQ_MOD - 1) % SEQ_MOD;
    self->last_ts = self->next_ts;
    return 0;
}

/* 1: mapped to (*out_seq, *out_ts); 0: dropped. seq is 16-bit, ts 32-bit. */
static int
rewriter_map(StreamRewriter *self, uint32_t seq, uint32_t ts, int keyframe_start,
             uint32_t *out_seq, uint32_t *out_ts)
{
    if (!self->started) {
        if (self->needs_keyframe && !keyframe_start)
            return 0;
        self->started = 1;
        self->seq_offset = (self->next_seq - seq) & 0xFFFF;
        if (!self->keep_ts)
            self->ts_offset = self->next_ts - ts;
        self->keep_ts = 0;
        self->max_in_seq = seq;
        self->ext_max = self->ext_start = 0;
    } else {
        uint32_t ahead = (seq - self->max_in_seq) & 0xFFFF;
        if (ahead && ahead < HALF_SEQ) {
            self->max_in_seq = seq;
            self->ext_max += ahead;
        } else {
            uint32_t behind = (self->max_in_seq - seq) & 0xFFFF;
            /* Older than the first packet forwarded from this source. */
            if (self->ext_max - (long long)behind < self->ext_start)
                return 0;
            *out_seq = (seq + self->seq_offset) & 0xFFFF;
            *out_ts = ts + self->ts_offset;
            return 1;
        }
    }
    *out_seq = (seq + self->seq_offset) & 0xFFFF;
    *out_ts = ts + self->ts_offset;
    self->last_seq = *out_seq;
    self->last_ts = *out_ts;
    return 1;
}

/* An int argument reduced as Python's ``% mask+1`` would (any sign, any size). */
static int
low_bits(PyObject *obj, unsigned long long mask, uint32_t *out)
{
    if (!PyLong_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "expected int, got %.100s", Py_TYPE(obj)->tp_name);
        return -1;
    }
    unsigned long long v = PyLong_AsUnsignedLongLongMask(obj);
    if (v == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    *out = (uint32_t)(v & mask);
    return 0;
}

static PyObject *
StreamRewriter_rewrite(StreamRewriter *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "rewrite(seq, ts, keyframe_start)");
        return NULL;
    }
    uint32_t seq, ts, out_seq, out_ts;
    if (low_bits(args[0], 0xFFFF, &seq) < 0 || low_bits(args[1], 0xFFFFFFFFu, &ts) < 0)
        return NULL;
    int keyframe = PyObject_IsTrue(args[2]);
    if (keyframe < 0)
        return NULL;
    if (!rewriter_map(self, seq, ts, keyframe, &out_seq, &out_ts))
        Py_RETURN_NONE;
    return Py_BuildValue("(kk)", (unsigned long)out_seq, (unsigned long)out_ts);
}

static PyObject *
StreamRewriter_switch_source(StreamRewriter *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"video", NULL};
    int video;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "$p", kwlist, &video))
        return NULL;
    if (self->started) {
        self->next_seq = (self->last_seq + 1) & 0xFFFF;
        self->next_ts = (uint32_t)(((long long)self->last_ts + self->ts_step) & 0xFFFFFFFFLL);
    }
    self->started = 0;
    self->keep_ts = 0;
    self->needs_keyframe = video;
    Py_RETURN_NONE;
}

static PyObject *
StreamRewriter_forwarded_since(StreamRewriter *self, PyObject *arg)
{
    uint32_t seq;
    if (low_bits(arg, 0xFFFF, &seq) < 0)
        return NULL;
    if (!self->started)
        Py_RETURN_FALSE;
    uint32_t behind = (self->max_in_seq - seq) & 0xFFFF;
    if (behind >= HALF_SEQ)
        Py_RETURN_TRUE;
    return PyBool_FromLong(self->ext_max - (long long)behind >= self->ext_start);
}

static PyObject *
StreamRewriter_restart_at_keyframe(StreamRewriter *self, PyObject *unused)
{
    if (self->started) {
        self->next_seq = (self->last_seq + 1) & 0xFFFF;
        self->keep_ts = 1;
        self->started = 0;
        self->needs_keyframe = 1;
    }
    Py_RETURN_NONE;
}

static PyObject *
StreamRewriter_waiting_for_keyframe(StreamRewriter *self, PyObject *unused)
{
    return PyBool_FromLong(self->needs_keyframe && !self->started);
}

static PyObject *
StreamRewriter_state(StreamRewriter *self, PyObject *unused)
{
    /* Every field, named and ordered as the Python class's slots (for the tests). */
    return Py_BuildValue(
        "{s:L,s:L,s:O,s:k,s:k,s:k,s:k,s:O,s:k,s:L,s:k,s:k,s:O}",
        "_ext_max", self->ext_max, "_ext_start", self->ext_start,
        "_keep_ts", self->keep_ts ? Py_True : Py_False, "_max_in_seq",
        (unsigned long)self->max_in_seq, "_next_seq", (unsigned long)self->next_seq,
        "_next_ts", (unsigned long)self->next_ts, "_seq_offset",
        (unsigned long)self->seq_offset, "_started", self->started ? Py_True : Py_False,
        "_ts_offset", (unsigned long)self->ts_offset, "_ts_step", self->ts_step, "last_seq",
        (unsigned long)self->last_seq, "last_ts", (unsigned long)self->last_ts,
        "needs_keyframe", self->needs_keyframe ? Py_True : Py_False);
}

static PyObject *
StreamRewriter_get_started(StreamRewriter *self, void *closure)
{
    return PyBool_FromLong(self->started);
}

static PyObject *
StreamRewriter_get_needs_keyframe(StreamRewriter *self, void *closure)
{
    return PyBool_FromLong(self->needs_keyframe);
}

static int
StreamRewriter_set_needs_keyframe(StreamRewriter *self, PyObject *value, void *closure)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete needs_keyframe");
        return -1;
    }
    int v = PyObject_IsTrue(value);
    if (v < 0)
        return -1;
    self->needs_keyframe = v;
    return 0;
}

static PyObject *
StreamRewriter_get_last_seq(StreamRewriter *self, void *closure)
{
    return PyLong_FromUnsignedLong(self->last_seq);
}

static PyObject *
StreamRewriter_get_last_ts(StreamRewriter *self, void *closure)
{
    return PyLong_FromUnsignedLong(self->last_ts);
}

static PyMethodDef StreamRewriter_methods[] = {
    {"rewrite", (PyCFunction)(void (*)(void))StreamRewriter_rewrite, METH_FASTCALL,
     "rewrite(seq, ts, keyframe_start) -> (seq, ts) or None to drop"},
    {"switch_source", (PyCFunction)(void (*)(void))StreamRewriter_switch_source,
     METH_VARARGS | METH_KEYWORDS, "Re-base on the next packet."},
    {"forwarded_since", (PyCFunction)StreamRewriter_forwarded_since, METH_O,
     "True if this stream (re)started at or before the source's packet seq."},
    {"restart_at_keyframe", (PyCFunction)StreamRewriter_restart_at_keyframe, METH_NOARGS,
     "Drop the current source's packets until its next keyframe, then carry on."},
    {"waiting_for_keyframe", (PyCFunction)StreamRewriter_waiting_for_keyframe, METH_NOARGS,
     "True while the stream may only (re)start on a keyframe."},
    {"_state", (PyCFunction)StreamRewriter_state, METH_NOARGS, "Every field (for tests)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef StreamRewriter_getset[] = {
    {"started", (getter)StreamRewriter_get_started, NULL, "the current source has started",
     NULL},
    {"needs_keyframe", (getter)StreamRewriter_get_needs_keyframe,
     (setter)StreamRewriter_set_needs_keyframe, "(re)start only on a keyframe", NULL},
    {"last_seq", (getter)StreamRewriter_get_last_seq, NULL, "last sequence number sent", NULL},
    {"last_ts", (getter)StreamRewriter_get_last_ts, NULL, "last timestamp sent", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject StreamRewriterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "sfu._compiled_egress.StreamRewriter",
    .tp_doc = "sfu.stream_rewriter.StreamRewriter in C (same API and state).",
    .tp_basicsize = sizeof(StreamRewriter),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)StreamRewriter_init,
    .tp_methods = StreamRewriter_methods,
    .tp_getset = StreamRewriter_getset,
};

/* ---------------------------------------------------------------------------------
 * ForwardCopy: what one forwarder needs for a steady-state copy, so that fan_out can do
 * a packet's copies in one call: its rewriter, the compiled sender with what decides
 * whether it still applies (the ICE pair nominated, DTLS connected, the SRTP session,
 * the transport not closing: sfu.egress.Egress._direct_pair's checks), the RTX history,
 * the counters and the sender-report figures (RFC 3550 §6.4.1), which the forwarder copies
 * into aiortc's RTCRtpSender when aiortc reads them.
 *
 * The RTX history keeps what each packet was written from (seq, ts, marker, the payload
 * object, the header extension's value), not the packet: the copies of one incoming packet
 * share its payload, and a NACKed packet is written again, byte for byte (RtpWriter).
 */

typedef struct {
    PyObject_HEAD
    StreamRewriter *rewriter;
    PyObject *sender;        /* the aiortc RTCRtpSender (its _enabled) */
    Py_ssize_t history_size; /* 0: none kept (audio) */
    PyObject **h_payload;    /* NULL where no packet was kept */
    PyObject **h_level;      /* the audio level tuple, or NULL */
    long long *h_abs;        /* abs-send-time, -1 for none */
    uint32_t *h_seq;
    uint32_t *h_ts;
    uint8_t *h_marker;
    int ready;               /* set by the forwarder: negotiated, shown, first packet out, no layers */
    int layered;             /* has a temporal-layer filter (video): not for layered packets */
    /* the binding (all NULL when unbound) */
    PacketSender *packet_sender;
    PyObject *nominated;     /* aioice Connection._nominated */
    PyObject *pair;
    PyObject *dtls;
    PyObject *connected;     /* aiortc's State.CONNECTED */
    PyObject *srtp;
    PyObject *is_closing;    /* the pair's transport.is_closing */
    /* counters */
    unsigned long long packets_sent;
    unsigned long long bytes_sent;
    unsigned long long fast;
    unsigned long long sr_ntp;
    uint32_t sr_rtp_ts;
    unsigned long long sr_packets;
    unsigned long long sr_octets;
} ForwardCopy;

static PyObject *str_enabled, *str_state, *str_tx_srtp, *str_copy, *one;

static void
copy_unbind(ForwardCopy *self)
{
    Py_CLEAR(self->packet_sender);
    Py_CLEAR(self->nominated);
    Py_CLEAR(self->pair);
    Py_CLEAR(self->dtls);
    Py_CLEAR(self->connected);
    Py_CLEAR(self->srtp);
    Py_CLEAR(self->is_closing);
}

static void
history_free(ForwardCopy *self)
{
    for (Py_ssize_t i = 0; i < self->history_size; i++) {
        if (self->h_payload)
            Py_CLEAR(self->h_payload[i]);
        if (self->h_level)
            Py_CLEAR(self->h_level[i]);
    }
    PyMem_Free(self->h_payload);
    PyMem_Free(self->h_level);
    PyMem_Free(self->h_abs);
    PyMem_Free(self->h_seq);
    PyMem_Free(self->h_ts);
    PyMem_Free(self->h_marker);
    self->h_payload = self->h_level = NULL;
    self->h_abs = NULL;
    self->h_seq = self->h_ts = NULL;
    self->h_marker = NULL;
    self->history_size = 0;
}

static int
ForwardCopy_init(ForwardCopy *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"rewriter", "sender", "history_size", "layered", NULL};
    PyObject *rewriter, *sender;
    Py_ssize_t history_size;
    int layered;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "$O!Onp", kwlist, &StreamRewriterType,
                                     &rewriter, &sender, &history_size, &layered))
        return -1;
    if (history_size < 0 || history_size > 65536) {
        PyErr_SetString(PyExc_ValueError, "history_size must be 0-65536");
        return -1;
    }
    history_free(self);
    if (history_size) {
        size_t n = (size_t)history_size;
        self->h_payload = PyMem_Calloc(n, sizeof(PyObject *));
        self->h_level = PyMem_Calloc(n, sizeof(PyObject *));
        self->h_abs = PyMem_Calloc(n, sizeof(long long));
        self->h_seq = PyMem_Calloc(n, sizeof(uint32_t));
        self->h_ts = PyMem_Calloc(n, sizeof(uint32_t));
        self->h_marker = PyMem_Calloc(n, sizeof(uint8_t));
        self->history_size = history_size;
        if (!self->h_payload || !self->h_level || !self->h_abs || !self->h_seq || !self->h_ts
            || !self->h_marker) {
            history_free(self);
            PyErr_NoMemory();
            return -1;
        }
    }
    Py_INCREF(rewriter);
    Py_XSETREF(self->rewriter, (StreamRewriter *)rewriter);
    Py_INCREF(sender);
    Py_XSETREF(self->sender, sender);
    self->layered = layered;
    self->ready = 0;
    copy_unbind(self);
    return 0;
}

static int
ForwardCopy_traverse(ForwardCopy *self, visitproc visit, void *arg)
{
    Py_VISIT(self->rewriter);
    Py_VISIT(self->sender);
    Py_VISIT(self->packet_sender);
    Py_VISIT(self->nominated);
    Py_VISIT(self->pair);
    Py_VISIT(self->dtls);
    Py_VISIT(self->connected);
    Py_VISIT(self->srtp);
    Py_VISIT(self->is_closing);
    return 0;
}

static int
ForwardCopy_clear(ForwardCopy *self)
{
    Py_CLEAR(self->rewriter);
    Py_CLEAR(self->sender);
    copy_unbind(self);
    return 0;
}

static void
ForwardCopy_dealloc(ForwardCopy *self)
{
    PyObject_GC_UnTrack(self);
    ForwardCopy_clear(self);
    history_free(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
ForwardCopy_bind(ForwardCopy *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"packet_sender", "nominated", "pair", "dtls", "connected",
                             "srtp", "transport", NULL};
    PyObject *sender, *nominated, *pair, *dtls, *connected, *srtp, *transport;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "$O!O!OOOOO", kwlist, &PacketSenderType,
                                     &sender, &PyDict_Type, &nominated, &pair, &dtls,
                                     &connected, &srtp, &transport))
        return NULL;
    PyObject *is_closing = PyObject_GetAttrString(transport, "is_closing");
    if (is_closing == NULL)
        return NULL;
    copy_unbind(self);
    self->is_closing = is_closing;
    Py_INCREF(sender);
    self->packet_sender = (PacketSender *)sender;
    self->nominated = Py_NewRef(nominated);
    self->pair = Py_NewRef(pair);
    self->dtls = Py_NewRef(dtls);
    self->connected = Py_NewRef(connected);
    self->srtp = Py_NewRef(srtp);
    Py_RETURN_NONE;
}

static PyObject *
ForwardCopy_unbind(ForwardCopy *self, PyObject *unused)
{
    copy_unbind(self);
    Py_RETURN_NONE;
}

/* The bookkeeping after a copy went out: RTX history, counters, sender-report figures. */
static int
copy_account(ForwardCopy *self, uint32_t seq, uint32_t ts, int marker, PyObject *payload,
             PyObject *abs_obj, PyObject *level_obj, Py_ssize_t packet_len,
             unsigned long long ntp)
{
    if (self->history_size) {
        long long abs_time = -1;
        if (abs_obj != Py_None) {
            abs_time = PyLong_AsLongLong(abs_obj);
            if (abs_time == -1 && PyErr_Occurred())
                return -1;
        }
        Py_ssize_t i = (Py_ssize_t)(seq % (uint32_t)self->history_size);
        Py_INCREF(payload);
        Py_XSETREF(self->h_payload[i], payload);
        PyObject *level = level_obj == Py_None ? NULL : Py_NewRef(level_obj);
        Py_XSETREF(self->h_level[i], level);
        self->h_abs[i] = abs_time;
        self->h_seq[i] = seq;
        self->h_ts[i] = ts;
        self->h_marker[i] = (uint8_t)marker;
    }
    self->packets_sent++;
    self->bytes_sent += (unsigned long long)packet_len;
    self->sr_ntp = ntp;
    self->sr_rtp_ts = ts;
    self->sr_packets++;
    self->sr_octets += (unsigned long long)PyBytes_GET_SIZE(payload);
    return 0;
}

static PyObject *
ForwardCopy_sent(ForwardCopy *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "sent(seq, ts, marker, payload, abs_send_time, "
                                         "audio_level, packet_len, ntp)");
        return NULL;
    }
    uint32_t seq, ts;
    if (low_bits(args[0], 0xFFFF, &seq) < 0 || low_bits(args[1], 0xFFFFFFFFu, &ts) < 0)
        return NULL;
    int marker = PyObject_IsTrue(args[2]);
    if (marker < 0)
        return NULL;
    if (!PyBytes_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "payload must be bytes");
        return NULL;
    }
    Py_ssize_t packet_len = PyLong_AsSsize_t(args[6]);
    if (packet_len == -1 && PyErr_Occurred())
        return NULL;
    unsigned long long ntp = PyLong_AsUnsignedLongLongMask(args[7]);
    if (ntp == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    if (copy_account(self, seq, ts, marker, args[3], args[4], args[5], packet_len, ntp) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
ForwardCopy_kept(ForwardCopy *self, PyObject *arg)
{
    uint32_t seq;
    if (low_bits(arg, 0xFFFF, &seq) < 0)
        return NULL;
    if (!self->history_size)
        Py_RETURN_NONE;
    Py_ssize_t i = (Py_ssize_t)(seq % (uint32_t)self->history_size);
    if (self->h_payload[i] == NULL || self->h_seq[i] != seq)
        Py_RETURN_NONE;
    PyObject *abs_obj = self->h_abs[i] < 0 ? Py_NewRef(Py_None)
                                           : PyLong_FromLongLong(self->h_abs[i]);
    if (abs_obj == NULL)
        return NULL;
    PyObject *level = self->h_level[i] ? self->h_level[i] : Py_None;
    return Py_BuildValue("(kkOONO)", (unsigned long)seq, (unsigned long)self->h_ts[i],
                         self->h_marker[i] ? Py_True : Py_False, self->h_payload[i], abs_obj,
                         level);
}

/* 1 when the bound compiled sender applies now, 0 when not (or unbound), -1 on error. */
static int
copy_binding_holds(ForwardCopy *self)
{
    if (self->packet_sender == NULL)
        return 0;
    PyObject *pair = PyDict_GetItemWithError(self->nominated, one); /* borrowed */
    if (pair != self->pair)
        return pair == NULL && PyErr_Occurred() ? -1 : 0;
    PyObject *state = PyObject_GetAttr(self->dtls, str_state);
    if (state == NULL)
        return -1;
    Py_DECREF(state); /* only its identity is compared */
    if (state != self->connected)
        return 0;
    PyObject *srtp = PyObject_GetAttr(self->dtls, str_tx_srtp);
    if (srtp == NULL)
        return -1;
    Py_DECREF(srtp);
    if (srtp != self->srtp)
        return 0;
    PyObject *closing = PyObject_CallNoArgs(self->is_closing);
    if (closing == NULL)
        return -1;
    int is_closing = PyObject_IsTrue(closing);
    Py_DECREF(closing);
    return is_closing < 0 ? -1 : !is_closing;
}

/* 1: the copy may go the compiled way for this packet; 0: the Python path; -1: error. */
static int
copy_applies(ForwardCopy *self, int layered_packet)
{
    if (!self->ready)
        return 0;
    if (layered_packet && self->layered) {
        /* select() may renumber from now on: the forwarder says when it passes through again */
        self->ready = 0;
        return 0;
    }
    PyObject *enabled = PyObject_GetAttr(self->sender, str_enabled);
    if (enabled == NULL)
        return -1;
    int on = PyObject_IsTrue(enabled);
    Py_DECREF(enabled);
    if (on <= 0)
        return on;
    return copy_binding_holds(self);
}

static PyObject *
ForwardCopy_get_packets_sent(ForwardCopy *self, void *c)
{
    return PyLong_FromUnsignedLongLong(self->packets_sent);
}

static PyObject *
ForwardCopy_get_bytes_sent(ForwardCopy *self, void *c)
{
    return PyLong_FromUnsignedLongLong(self->bytes_sent);
}

static PyObject *
ForwardCopy_get_fast(ForwardCopy *self, void *c)
{
    return PyLong_FromUnsignedLongLong(self->fast);
}

static PyObject *
ForwardCopy_get_report(ForwardCopy *self, void *c)
{
    return Py_BuildValue("(KkKK)", self->sr_ntp, (unsigned long)self->sr_rtp_ts,
                         self->sr_packets, self->sr_octets);
}

static PyObject *
ForwardCopy_get_ready(ForwardCopy *self, void *c)
{
    return PyBool_FromLong(self->ready);
}

static int
ForwardCopy_set_ready(ForwardCopy *self, PyObject *value, void *c)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete ready");
        return -1;
    }
    int v = PyObject_IsTrue(value);
    if (v < 0)
        return -1;
    self->ready = v;
    return 0;
}

static PyObject *
ForwardCopy_get_packet_sender(ForwardCopy *self, void *c)
{
    PyObject *sender = self->packet_sender ? (PyObject *)self->packet_sender : Py_None;
    return Py_NewRef(sender);
}

static PyMethodDef ForwardCopy_methods[] = {
    {"bind", (PyCFunction)(void (*)(void))ForwardCopy_bind, METH_VARARGS | METH_KEYWORDS,
     "Use this compiled sender while its pair, DTLS state, session and transport hold."},
    {"unbind", (PyCFunction)ForwardCopy_unbind, METH_NOARGS, "Forget the compiled sender."},
    {"sent", (PyCFunction)(void (*)(void))ForwardCopy_sent, METH_FASTCALL,
     "sent(seq, ts, marker, payload, abs_send_time, audio_level, packet_len, ntp): "
     "a copy sent the Python way"},
    {"kept", (PyCFunction)ForwardCopy_kept, METH_O,
     "kept(seq) -> (seq, ts, marker, payload, abs_send_time, audio_level) or None: "
     "what the RTX history has of outgoing packet seq"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef ForwardCopy_getset[] = {
    {"packets_sent", (getter)ForwardCopy_get_packets_sent, NULL, "copies sent", NULL},
    {"bytes_sent", (getter)ForwardCopy_get_bytes_sent, NULL, "bytes sent (unprotected)", NULL},
    {"fast", (getter)ForwardCopy_get_fast, NULL, "copies fan_out sent itself", NULL},
    {"report", (getter)ForwardCopy_get_report, NULL,
     "(ntp, rtp timestamp, packets, payload octets) for the sender report", NULL},
    {"ready", (getter)ForwardCopy_get_ready, (setter)ForwardCopy_set_ready,
     "the forwarder's state allows the compiled way", NULL},
    {"packet_sender", (getter)ForwardCopy_get_packet_sender, NULL, "the bound sender", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ForwardCopyType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "sfu._compiled_egress.ForwardCopy",
    .tp_doc = "One forwarder's state for the compiled fan-out (see fan_out).",
    .tp_basicsize = sizeof(ForwardCopy),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)ForwardCopy_init,
    .tp_dealloc = (destructor)ForwardCopy_dealloc,
    .tp_traverse = (traverseproc)ForwardCopy_traverse,
    .tp_clear = (inquiry)ForwardCopy_clear,
    .tp_methods = ForwardCopy_methods,
    .tp_getset = ForwardCopy_getset,
};

/* Appends (forwarder, exception or None) to *rest, creating it. */
static int
leave_to_python(PyObject **rest, PyObject *fwd, PyObject *exc)
{
    if (*rest == NULL) {
        *rest = PyList_New(0);
        if (*rest == NULL)
            return -1;
    }
    PyObject *item = PyTuple_Pack(2, fwd, exc ? exc : Py_None);
    if (item == NULL)
        return -1;
    int res = PyList_Append(*rest, item);
    Py_DECREF(item);
    return res;
}

/*
 * fan_out(forwarders, seq, ts, marker, payload, keyframe_start, abs_send_time,
 *         audio_level, ntp, layered) -> list[(forwarder, exception | None)] | None
 *
 * Every copy of one incoming packet whose forwarder's ForwardCopy (its ``_copy``) allows
 * it: rewritten, written, protected, sent and accounted for here. The rest come back as
 * (forwarder, None) for TrackForwarder.forward, and a copy that failed as (forwarder,
 * exception), its packet lost, as a failing forward() loses it.
 */
static PyObject *
fan_out(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 10) {
        PyErr_SetString(PyExc_TypeError,
                        "fan_out(forwarders, seq, ts, marker, payload, keyframe_start, "
                        "abs_send_time, audio_level, ntp, layered)");
        return NULL;
    }
    PyObject *forwarders = args[0];
    if (!PyList_Check(forwarders)) {
        PyErr_SetString(PyExc_TypeError, "forwarders must be a list");
        return NULL;
    }
    uint32_t seq, ts;
    if (low_bits(args[1], 0xFFFF, &seq) < 0 || low_bits(args[2], 0xFFFFFFFFu, &ts) < 0)
        return NULL;
    int marker = PyObject_IsTrue(args[3]);
    if (marker < 0)
        return NULL;
    PyObject *payload = args[4];
    if (!PyBytes_Check(payload)) {
        PyErr_SetString(PyExc_TypeError, "payload must be bytes");
        return NULL;
    }
    int keyframe = PyObject_IsTrue(args[5]);
    if (keyframe < 0)
        return NULL;
    PyObject *abs_obj = args[6], *level_obj = args[7];
    unsigned long long ntp = PyLong_AsUnsignedLongLongMask(args[8]);
    if (ntp == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    int layered = PyObject_IsTrue(args[9]);
    if (layered < 0)
        return NULL;

    PyObject *rest = NULL;
    /* A copy may run Python (a transport's sendto): iterate over a snapshot. */
    PyObject *snapshot = PyList_GetSlice(forwarders, 0, PyList_GET_SIZE(forwarders));
    if (snapshot == NULL)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(snapshot);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *fwd = PyList_GET_ITEM(snapshot, i);
        PyObject *obj = PyObject_GetAttr(fwd, str_copy);
        if (obj == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_AttributeError))
                goto error;
            PyErr_Clear(); /* not a TrackForwarder with a copy: forward() it is */
        }
        if (obj == NULL || Py_TYPE(obj) != &ForwardCopyType) {
            Py_XDECREF(obj);
            if (leave_to_python(&rest, fwd, NULL) < 0)
                goto error;
            continue;
        }
        ForwardCopy *copy = (ForwardCopy *)obj;
        int applies = copy_applies(copy, layered);
        if (applies == 0) {
            Py_DECREF(obj);
            if (leave_to_python(&rest, fwd, NULL) < 0)
                goto error;
            continue;
        }
        int failed = applies < 0;
        if (!failed) {
            uint32_t out_seq, out_ts;
            if (!rewriter_map(copy->rewriter, seq, ts, keyframe, &out_seq, &out_ts)) {
                Py_DECREF(obj);
                continue;
            }
            Py_ssize_t header_len, packet_len;
            PyObject *sent = sender_send(copy->packet_sender, marker, out_seq, out_ts, payload,
                                         abs_obj, level_obj, 0, &header_len, &packet_len);
            failed = sent == NULL
                || copy_account(copy, out_seq, out_ts, marker, payload, abs_obj, level_obj,
                                packet_len, ntp) < 0;
            Py_XDECREF(sent);
            if (!failed)
                copy->fast++;
        }
        Py_DECREF(obj);
        if (failed) {
            PyObject *type, *exc, *tb;
            PyErr_Fetch(&type, &exc, &tb);
            PyErr_NormalizeException(&type, &exc, &tb);
            if (tb != NULL)
                PyException_SetTraceback(exc, tb);
            Py_XDECREF(type);
            Py_XDECREF(tb);
            int res = leave_to_python(&rest, fwd, exc);
            Py_DECREF(exc);
            if (res < 0)
                goto error;
        }
    }
    Py_DECREF(snapshot);
    if (rest == NULL)
        Py_RETURN_NONE;
    return rest;

error:
    Py_DECREF(snapshot);
    Py_XDECREF(rest);
    return NULL;
}

static PyMethodDef module_methods[] = {
    {"fan_out", (PyCFunction)(void (*)(void))fan_out, METH_FASTCALL,
     "fan_out(forwarders, seq, ts, marker, payload, keyframe_start, abs_send_time, "
     "audio_level, ntp, layered) -> [(forwarder, exception or None)] or None\n"
     "Send the copies whose ForwardCopy allows it; hand back the rest."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "sfu._compiled_egress",
    .m_doc = "Forwarded RTP: header, SRTP and sendto(2) in one call (see sfu.compiled_egress).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__compiled_egress(void)
{
    if (PyType_Ready(&PacketSenderType) < 0 || PyType_Ready(&StreamRewriterType) < 0
        || PyType_Ready(&ForwardCopyType) < 0)
        return NULL;
    str_enabled = PyUnicode_InternFromString("_enabled");
    str_state = PyUnicode_InternFromString("_state");
    str_tx_srtp = PyUnicode_InternFromString("_tx_srtp");
    str_copy = PyUnicode_InternFromString("_copy");
    one = PyLong_FromLong(1);
    if (!str_enabled || !str_state || !str_tx_srtp || !str_copy || !one)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    SrtpError = PyErr_NewException("sfu._compiled_egress.SrtpError", PyExc_RuntimeError, NULL);
    if (SrtpError == NULL || PyModule_AddObjectRef(m, "SrtpError", SrtpError) < 0
        || PyModule_AddObjectRef(m, "PacketSender", (PyObject *)&PacketSenderType) < 0
        || PyModule_AddObjectRef(m, "StreamRewriter", (PyObject *)&StreamRewriterType) < 0
        || PyModule_AddObjectRef(m, "ForwardCopy", (PyObject *)&ForwardCopyType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
