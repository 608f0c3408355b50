/*
 * loadtest._compiled_send: a synthetic publisher's per-frame send path in one C call.
 *
 * loadtest.lean_sender's Python loop pays, per RTP packet, for an aiortc RtpPacket and its
 * HeaderExtensions, HeaderExtensionsMap.set and pack_header_extensions, serialize,
 * pylibsrtp's cffi protect (and two copies) and a sendto. FrameSender.send does a frame's
 * packets at once: each header and its RFC 8285 header extensions are written as aiortc's
 * RtpPacket.serialize(extensions_map) writes them (mid, abs-send-time, audio level; the
 * one-byte form, or the two-byte form where aiortc would use it), each packet is protected
 * with libsrtp's srtp_protect (the function pointer pylibsrtp holds, on aiortc's own send
 * session), and the frame leaves with one sendmmsg to the ICE pair's remote address.
 *
 * The RTP history that aiortc's _retransmit reads to answer NACKs is a ring here: each
 * packet's fields and a reference to its payload; loadtest.compiled_send.LazyHistory builds
 * an aiortc RtpPacket from an entry only when a NACK asks for it.
 */

#define _GNU_SOURCE /* sendmmsg */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "_socket_address.h"

/* libsrtp 2: srtp_err_status_t srtp_protect(srtp_t, void *rtp_hdr, int *len_ptr). */
typedef int (*srtp_protect_fn)(void *ctx, void *rtp_hdr, int *len_ptr);

/* pylibsrtp's Session buffer and the trailer room it keeps for protect: a longer packet
 * raises ValueError("packet is too long") there, and here. */
#define PYLIBSRTP_BUFFER 1500
#define SRTP_MAX_TRAILER_LEN (16 + 128)
#define SLOT PYLIBSRTP_BUFFER
#define MAX_EXT_VALUE (3 * (2 + 255)) /* three extensions, two-byte form, padded below */

typedef struct {
    int used;
    uint16_t seq;
    uint8_t marker;
    uint32_t timestamp;
    uint32_t abs_send_time;
    int has_level;
    long long level;      /* the frame's audio_level (the packet's is (False, -level)) */
    PyObject *payload;    /* the payload, by reference */
} Entry;

typedef struct {
    PyObject_HEAD
    int payload_type;
    uint32_t ssrc;
    uint16_t seq;         /* the next packet's sequence number */
    int mid_id, abs_id, level_id; /* aiortc's HeaderExtensionsMap ids; 0: not negotiated */
    int has_mid;
    uint8_t mid[255];
    int mid_len;
    /* SRTP (set_srtp) */
    srtp_protect_fn protect;
    void *srtp;
    PyObject *session;    /* the pylibsrtp Session: keeps the srtp_t alive */
    PyObject *error_type; /* pylibsrtp.Error */
    PyObject *errors;     /* pylibsrtp's ERRORS: libsrtp's status -> message (a list) */
    /* history */
    Entry *history;
    Py_ssize_t history_size;
    /* send buffers, grown to the largest frame */
    uint8_t *bufs;
    struct mmsghdr *msgs;
    struct iovec *iovs;
    Py_ssize_t capacity;
    PyObject *last_addr;
    struct sockaddr_storage last_sa;
    socklen_t last_salen;
    unsigned long long packets, frames, sent, dropped;
} FrameSender;

static void
FrameSender_clear_history(FrameSender *self)
{
    if (self->history == NULL)
        return;
    for (Py_ssize_t i = 0; i < self->history_size; i++)
        Py_CLEAR(self->history[i].payload);
}

static void
FrameSender_dealloc(FrameSender *self)
{
    FrameSender_clear_history(self);
    PyMem_Free(self->history);
    PyMem_Free(self->bufs);
    PyMem_Free(self->msgs);
    PyMem_Free(self->iovs);
    Py_XDECREF(self->session);
    Py_XDECREF(self->error_type);
    Py_XDECREF(self->errors);
    Py_XDECREF(self->last_addr);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
FrameSender_init(FrameSender *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"payload_type", "ssrc", "sequence_number", "mid", "mid_id",
                             "abs_send_time_id", "audio_level_id", "history_size", NULL};
    int payload_type, sequence_number, mid_id, abs_id, level_id;
    unsigned long ssrc;
    Py_ssize_t history_size;
    PyObject *mid;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "$ikiOiiin", kwlist, &payload_type, &ssrc,
                                     &sequence_number, &mid, &mid_id, &abs_id, &level_id,
                                     &history_size))
        return -1;
    if (self->history != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a FrameSender is initialised once");
        return -1;
    }
    if (payload_type < 0 || payload_type > 127 || ssrc > 0xFFFFFFFFul || sequence_number < 0
        || sequence_number > 0xFFFF || history_size < 1) {
        PyErr_SetString(PyExc_ValueError, "payload type, SSRC, sequence number or history "
                                          "size out of range");
        return -1;
    }
    if (mid_id < 0 || mid_id > 255 || abs_id < 0 || abs_id > 255 || level_id < 0
        || level_id > 255) {
        PyErr_SetString(PyExc_ValueError, "a header extension id is not in 0..255");
        return -1;
    }
    self->has_mid = mid != Py_None;
    if (self->has_mid) {
        if (!PyBytes_Check(mid) || PyBytes_GET_SIZE(mid) > 255) {
            PyErr_SetString(PyExc_ValueError, "mid must be bytes of 255 at most, or None");
            return -1;
        }
        self->mid_len = (int)PyBytes_GET_SIZE(mid);
        memcpy(self->mid, PyBytes_AS_STRING(mid), (size_t)self->mid_len);
    }
    self->payload_type = payload_type;
    self->ssrc = (uint32_t)ssrc;
    self->seq = (uint16_t)sequence_number;
    self->mid_id = mid_id;
    self->abs_id = abs_id;
    self->level_id = level_id;
    self->history = PyMem_Calloc((size_t)history_size, sizeof(Entry));
    if (self->history == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    self->history_size = history_size;
    return 0;
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

/* The header and its extensions, as aiortc's RtpPacket.serialize(extensions_map): the length
 * written (at most 12 + 4 + MAX_EXT_VALUE + 3). HeaderExtensionsMap.set's order: mid,
 * abs-send-time, audio level; pack_header_extensions's form: one-byte (0xBEDE) unless an id
 * is above 14 or a value empty or longer than 16, then two-byte (0x1000); zero padding to
 * a multiple of four. */
static Py_ssize_t
write_header(const FrameSender *self, uint8_t *out, int marker, uint16_t seq,
             uint32_t timestamp, uint32_t abs_send_time, int has_level, long long level)
{
    int ids[3], lens[3], n = 0;
    uint8_t level_byte = (uint8_t)((-level) & 0x7F); /* (0x80 if False else 0) | (-level & 0x7F) */
    uint8_t abs_bytes[3] = {(uint8_t)(abs_send_time >> 16), (uint8_t)(abs_send_time >> 8),
                            (uint8_t)abs_send_time};
    const uint8_t *values[3];
    if (self->has_mid && self->mid_id) {
        ids[n] = self->mid_id;
        lens[n] = self->mid_len;
        values[n++] = self->mid;
    }
    if (self->abs_id) {
        ids[n] = self->abs_id;
        lens[n] = 3;
        values[n++] = abs_bytes;
    }
    if (has_level && self->level_id) {
        ids[n] = self->level_id;
        lens[n] = 1;
        values[n++] = &level_byte;
    }
    int one_byte = 1;
    for (int i = 0; i < n; i++)
        if (ids[i] > 14 || lens[i] == 0 || lens[i] > 16)
            one_byte = 0;
    Py_ssize_t pos = 12, ext_len = 0;
    if (n > 0) {
        uint8_t *value = out + 16;
        for (int i = 0; i < n; i++) {
            if (one_byte) {
                value[ext_len++] = (uint8_t)((ids[i] << 4) | (lens[i] - 1));
            } else {
                value[ext_len++] = (uint8_t)ids[i];
                value[ext_len++] = (uint8_t)lens[i];
            }
            memcpy(value + ext_len, values[i], (size_t)lens[i]);
            ext_len += lens[i];
        }
        while (ext_len % 4)
            value[ext_len++] = 0;
    }
    /* aiortc: has_extension = bool(extension_value); never empty when n > 0. */
    out[0] = (uint8_t)(0x80 | (ext_len ? 0x10 : 0));
    out[1] = (uint8_t)((marker << 7) | self->payload_type);
    put16(out + 2, seq);
    put32(out + 4, timestamp);
    put32(out + 8, self->ssrc);
    if (ext_len) {
        put16(out + 12, one_byte ? 0xBEDE : 0x1000);
        put16(out + 14, (uint32_t)(ext_len >> 2));
        pos = 16 + ext_len;
    }
    return pos;
}

/* The frame's arguments, shared by build and send. */
typedef struct {
    PyObject *payloads; /* a list or tuple of bytes */
    Py_ssize_t count;
    uint32_t timestamp;
    uint32_t abs_send_time;
    int has_level;
    long long level;
} Frame;

static int
parse_frame(PyObject *const *args, Frame *f)
{
    PyObject *payloads = args[0];
    if (!PyList_Check(payloads) && !PyTuple_Check(payloads)) {
        PyErr_SetString(PyExc_TypeError, "payloads must be a list or tuple of bytes");
        return -1;
    }
    f->payloads = payloads;
    f->count = PySequence_Fast_GET_SIZE(payloads);
    for (Py_ssize_t i = 0; i < f->count; i++)
        if (!PyBytes_Check(PySequence_Fast_GET_ITEM(payloads, i))) {
            PyErr_SetString(PyExc_TypeError, "payloads must be a list or tuple of bytes");
            return -1;
        }
    unsigned long long ts = PyLong_AsUnsignedLongLong(args[1]);
    if (ts == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    unsigned long long abs = PyLong_AsUnsignedLongLong(args[2]);
    if (abs == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    if (ts > 0xFFFFFFFFull || abs > 0xFFFFFFFFull) { /* struct.error in aiortc */
        PyErr_SetString(PyExc_OverflowError, "timestamp or abs_send_time above 32 bits");
        return -1;
    }
    f->timestamp = (uint32_t)ts;
    f->abs_send_time = (uint32_t)abs;
    f->has_level = args[3] != Py_None;
    f->level = 0;
    if (f->has_level) {
        f->level = PyLong_AsLongLong(args[3]);
        if (f->level == -1 && PyErr_Occurred())
            return -1;
    }
    return 0;
}

/* Packet i of the frame into the history (aiortc's loop stores it before serializing). */
static void
remember(FrameSender *self, const Frame *f, Py_ssize_t i)
{
    PyObject *payload = PySequence_Fast_GET_ITEM(f->payloads, i);
    uint16_t seq = self->seq;
    Entry *e = &self->history[seq % self->history_size];
    e->used = 1;
    e->seq = seq;
    e->marker = (uint8_t)(i == f->count - 1);
    e->timestamp = f->timestamp;
    e->abs_send_time = f->abs_send_time;
    e->has_level = f->has_level;
    e->level = f->level;
    Py_INCREF(payload);
    Py_XSETREF(e->payload, payload);
}

/* A header with its extensions is at most this long. */
#define MAX_HEADER (16 + MAX_EXT_VALUE + 3)

static PyObject *
FrameSender_build(FrameSender *self, PyObject *const *args, Py_ssize_t nargs)
{
    Frame f;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError,
                        "build(payloads, timestamp, abs_send_time, audio_level)");
        return NULL;
    }
    if (parse_frame(args, &f) < 0)
        return NULL;
    PyObject *out = PyList_New(f.count);
    if (out == NULL)
        return NULL;
    uint8_t header[MAX_HEADER];
    for (Py_ssize_t i = 0; i < f.count; i++) {
        PyObject *payload = PySequence_Fast_GET_ITEM(f.payloads, i);
        Py_ssize_t pos = write_header(self, header, i == f.count - 1, self->seq, f.timestamp,
                                      f.abs_send_time, f.has_level, f.level);
        PyObject *packet = PyBytes_FromStringAndSize(NULL, pos + PyBytes_GET_SIZE(payload));
        if (packet == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        uint8_t *d = (uint8_t *)PyBytes_AS_STRING(packet);
        remember(self, &f, i);
        memcpy(d, header, (size_t)pos);
        memcpy(d + pos, PyBytes_AS_STRING(payload), (size_t)PyBytes_GET_SIZE(payload));
        PyList_SET_ITEM(out, i, packet);
        self->seq = (uint16_t)(self->seq + 1);
        self->packets++;
    }
    self->frames++;
    return out;
}

static PyObject *
FrameSender_set_srtp(FrameSender *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"protect", "srtp", "session", "error_type", "errors", NULL};
    unsigned long long protect, srtp;
    PyObject *session, *error_type, *errors;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "$KKOOO!", kwlist, &protect, &srtp, &session,
                                     &error_type, &PyList_Type, &errors))
        return NULL;
    if (protect == 0 || srtp == 0) {
        PyErr_SetString(PyExc_ValueError, "no srtp_protect or no srtp_t");
        return NULL;
    }
    self->protect = (srtp_protect_fn)(uintptr_t)protect;
    self->srtp = (void *)(uintptr_t)srtp;
    Py_INCREF(session);
    Py_XSETREF(self->session, session);
    Py_INCREF(error_type);
    Py_XSETREF(self->error_type, error_type);
    Py_INCREF(errors);
    Py_XSETREF(self->errors, errors);
    Py_RETURN_NONE;
}

static int
grow(FrameSender *self, Py_ssize_t count)
{
    if (count <= self->capacity)
        return 0;
    Py_ssize_t cap = self->capacity ? self->capacity : 8;
    while (cap < count)
        cap *= 2;
    uint8_t *bufs = PyMem_Realloc(self->bufs, (size_t)cap * SLOT);
    if (bufs == NULL)
        goto nomem;
    self->bufs = bufs;
    struct mmsghdr *msgs = PyMem_Realloc(self->msgs, (size_t)cap * sizeof *msgs);
    if (msgs == NULL)
        goto nomem;
    self->msgs = msgs;
    struct iovec *iovs = PyMem_Realloc(self->iovs, (size_t)cap * sizeof *iovs);
    if (iovs == NULL)
        goto nomem;
    self->iovs = iovs;
    self->capacity = cap;
    return 0;
nomem:
    PyErr_NoMemory();
    return -1;
}

/* A send error other than a full buffer: to the protocol's error_received, as the event
 * loop's datagram transport (and SocketReader.sendto) hand it. */
static int
report_error(PyObject *error_received, int err)
{
    PyObject *exc = PyObject_CallFunction(PyExc_OSError, "is", err, strerror(err));
    if (exc == NULL)
        return -1;
    PyObject *r = PyObject_CallOneArg(error_received, exc);
    Py_DECREF(exc);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* The first ``count`` built packets, with sendmmsg; a full send buffer drops a packet
 * (counted), another error goes to error_received; both go on with the next packet. */
static int
send_all(FrameSender *self, int fd, Py_ssize_t count, PyObject *error_received)
{
    Py_ssize_t off = 0;
    if (fd < 0) { /* closed: dropped, as a closing transport drops them */
        self->dropped += (unsigned long long)count;
        return 0;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        struct msghdr *h = &self->msgs[i].msg_hdr;
        h->msg_name = &self->last_sa;
        h->msg_namelen = self->last_salen;
        h->msg_iov = &self->iovs[i];
        h->msg_iovlen = 1;
        h->msg_control = NULL;
        h->msg_controllen = 0;
        h->msg_flags = 0;
        self->msgs[i].msg_len = 0;
    }
    while (off < count) {
        unsigned int batch = count - off > 1024 ? 1024 : (unsigned int)(count - off);
        int r = sendmmsg(fd, self->msgs + off, batch, MSG_DONTWAIT);
        if (r > 0) {
            off += r;
            self->sent += (unsigned long long)r;
            continue;
        }
        int err = errno;
        if (r < 0 && err == EINTR)
            continue;
        off++; /* this packet failed: dropped */
        if (r == 0 || err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
            self->dropped++;
            continue;
        }
        self->dropped++;
        if (report_error(error_received, err) < 0)
            return -1;
    }
    return 0;
}

static void
srtp_error(FrameSender *self, int status)
{
    /* As pylibsrtp's _srtp_assert: Error(ERRORS[status]). */
    PyObject *message = status >= 0 && status < PyList_GET_SIZE(self->errors)
                            ? PyList_GET_ITEM(self->errors, status)
                            : NULL;
    if (message != NULL)
        PyErr_SetObject(self->error_type, message);
    else
        PyErr_Format(self->error_type, "libsrtp error %d", status);
}

static PyObject *
FrameSender_send(FrameSender *self, PyObject *const *args, Py_ssize_t nargs)
{
    Frame f;
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "send(payloads, timestamp, abs_send_time, "
                                         "audio_level, fd, addr, error_received)");
        return NULL;
    }
    if (self->protect == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "send before set_srtp");
        return NULL;
    }
    if (parse_frame(args, &f) < 0)
        return NULL;
    long fd = PyLong_AsLong(args[4]);
    if (fd == -1 && PyErr_Occurred())
        return NULL;
    if (fd < -1 || fd > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "not a file descriptor");
        return NULL;
    }
    PyObject *addr = args[5], *error_received = args[6];
    int same = self->last_addr == NULL ? 0
               : self->last_addr == addr ? 1
                                         : PyObject_RichCompareBool(self->last_addr, addr, Py_EQ);
    if (same < 0 || (!same && parse_address(addr, &self->last_sa, &self->last_salen) < 0)) {
        Py_CLEAR(self->last_addr);
        return NULL;
    }
    if (!same) {
        Py_INCREF(addr);
        Py_XSETREF(self->last_addr, addr);
    }
    if (grow(self, f.count) < 0)
        return NULL;
    long long octets = 0;
    Py_ssize_t built = 0;
    int failed = 0;
    for (Py_ssize_t i = 0; i < f.count; i++) {
        PyObject *payload = PySequence_Fast_GET_ITEM(f.payloads, i);
        Py_ssize_t size = PyBytes_GET_SIZE(payload);
        uint8_t *d = self->bufs + (size_t)i * SLOT;
        remember(self, &f, i);
        Py_ssize_t len = write_header(self, d, i == f.count - 1, self->seq, f.timestamp,
                                      f.abs_send_time, f.has_level, f.level);
        /* pylibsrtp refuses it (aiortc's loop: in the history, then ValueError). */
        if (len + size > PYLIBSRTP_BUFFER - SRTP_MAX_TRAILER_LEN) {
            PyErr_SetString(PyExc_ValueError, "packet is too long");
            failed = 1;
            break;
        }
        memcpy(d + len, PyBytes_AS_STRING(payload), (size_t)size);
        len += size;
        int n = (int)len;
        int status = self->protect(self->srtp, d, &n);
        if (status != 0) {
            srtp_error(self, status);
            failed = 1;
            break;
        }
        self->iovs[i].iov_base = d;
        self->iovs[i].iov_len = (size_t)n;
        octets += size;
        built++;
        self->seq = (uint16_t)(self->seq + 1);
        self->packets++;
    }
    if (failed) {
        /* As aiortc's loop: what was protected before the error was sent. */
        PyObject *et, *ev, *etb;
        PyErr_Fetch(&et, &ev, &etb);
        if (send_all(self, (int)fd, built, error_received) < 0)
            PyErr_WriteUnraisable(NULL);
        PyErr_Restore(et, ev, etb);
        return NULL;
    }
    self->frames++;
    if (send_all(self, (int)fd, built, error_received) < 0)
        return NULL;
    return PyLong_FromLongLong(octets);
}

static PyObject *
FrameSender_entry(FrameSender *self, PyObject *arg)
{
    Py_ssize_t index = PyNumber_AsSsize_t(arg, PyExc_OverflowError);
    if (index == -1 && PyErr_Occurred())
        return NULL;
    if (index < 0 || index >= self->history_size || !self->history[index].used)
        Py_RETURN_NONE;
    const Entry *e = &self->history[index];
    PyObject *level = e->has_level ? PyLong_FromLongLong(e->level) : Py_NewRef(Py_None);
    if (level == NULL)
        return NULL;
    return Py_BuildValue("(HkiOkN)", e->seq, (unsigned long)e->timestamp, (int)e->marker,
                         e->payload, (unsigned long)e->abs_send_time, level);
}

static PyObject *
FrameSender_get_seq(FrameSender *self, void *closure)
{
    return PyLong_FromLong(self->seq);
}

static PyObject *
FrameSender_get_counter(FrameSender *self, void *closure)
{
    return PyLong_FromUnsignedLongLong(*(unsigned long long *)((char *)self
                                                               + (Py_ssize_t)closure));
}

static PyObject *
FrameSender_get_history_size(FrameSender *self, void *closure)
{
    return PyLong_FromSsize_t(self->history_size);
}

static PyMethodDef FrameSender_methods[] = {
    {"build", (PyCFunction)(void (*)(void))FrameSender_build, METH_FASTCALL,
     "build(payloads, timestamp, abs_send_time, audio_level): the frame's RTP packets, "
     "unprotected, as aiortc serializes them (kept in the history)."},
    {"send", (PyCFunction)(void (*)(void))FrameSender_send, METH_FASTCALL,
     "send(payloads, timestamp, abs_send_time, audio_level, fd, addr, error_received): "
     "build, SRTP-protect and sendmmsg the frame; the payload octets."},
    {"set_srtp", (PyCFunction)(void (*)(void))FrameSender_set_srtp,
     METH_VARARGS | METH_KEYWORDS,
     "set_srtp(*, protect, srtp, session, error_type, errors): the send session."},
    {"entry", (PyCFunction)FrameSender_entry, METH_O,
     "entry(index): (sequence_number, timestamp, marker, payload, abs_send_time, "
     "audio_level) of the history's slot, or None."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef FrameSender_getset[] = {
    {"sequence_number", (getter)FrameSender_get_seq, NULL, "the next packet's", NULL},
    {"history_size", (getter)FrameSender_get_history_size, NULL, "the history's slots", NULL},
    {"packets", (getter)FrameSender_get_counter, NULL, "packets built",
     (void *)offsetof(FrameSender, packets)},
    {"frames", (getter)FrameSender_get_counter, NULL, "frames built",
     (void *)offsetof(FrameSender, frames)},
    {"sent", (getter)FrameSender_get_counter, NULL, "packets the kernel took",
     (void *)offsetof(FrameSender, sent)},
    {"dropped", (getter)FrameSender_get_counter, NULL,
     "packets not sent (a full send buffer, a closed socket, a send error)",
     (void *)offsetof(FrameSender, dropped)},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject FrameSenderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "loadtest._compiled_send.FrameSender",
    .tp_doc = "One RTP stream's send path: a frame's packets built, protected and sent at once.",
    .tp_basicsize = sizeof(FrameSender),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)FrameSender_init,
    .tp_dealloc = (destructor)FrameSender_dealloc,
    .tp_methods = FrameSender_methods,
    .tp_getset = FrameSender_getset,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "loadtest._compiled_send",
    .m_doc = "A synthetic publisher's per-frame send path (see loadtest.compiled_send).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__compiled_send(void)
{
    if (PyType_Ready(&FrameSenderType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "FrameSender", (PyObject *)&FrameSenderType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
