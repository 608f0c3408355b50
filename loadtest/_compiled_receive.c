/*
 * loadtest._compiled_receive: a synthetic receiver's per-packet path in one C call.
 *
 * loadtest.lean_transport's Python path pays, per received SRTP packet, for a closure,
 * pylibsrtp's cffi call (and two copies), then loadtest.receiver.Receiver.on_rtp with
 * RouteStats.on_packet and ReceptionStatistics.on_packet: five Python frames and some
 * sixty lines of bytecode. PacketReader.datagram_received does the same work here:
 * srtp_unprotect (libsrtp, through the function pointer pylibsrtp holds, on aiortc's own
 * receive session), the RTP header, the SSRC's stream, the route's and the reception
 * statistics' counters, written to the very Python objects the Python path writes.
 *
 * It calls into Python only when something happens that the Python models decide: a
 * video frame's last packet (the stamp: latency, frame counting), a report's first due
 * time, and the repair model (Receiver.repair_packet: NACK and playout) of each repaired
 * video packet. Any packet it is not sure to handle exactly as Receiver.on_rtp would (a
 * retransmission, a stream's first packet in a window, an SSRC that now carries another
 * source, anything malformed) goes to Receiver.on_rtp itself, so the Python path stays the
 * one reference (tests/loadtest/test_compiled_receive.py checks the two agree).
 */

#define _GNU_SOURCE /* recvmmsg */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include "_socket_address.h"

/* libsrtp 2: srtp_err_status_t srtp_unprotect(srtp_t, void *srtp_hdr, int *len_ptr). */
typedef int (*srtp_unprotect_fn)(void *ctx, void *srtp_hdr, int *len_ptr);

/* pylibsrtp's Session buffer: a longer packet raises ValueError there, and here. */
#define PYLIBSRTP_BUFFER 1500
#define STAMP_SIZE 18 /* loadtest.stamp: magic, publisher, frame number, send time */
#define MAGIC "CSt1"

/* Interned attribute names, made once. */
static PyObject *s_source, *s_bytes, *s_tally, *s_on_frame, *s_add_latency, *s_missing,
    *s_frames_dropped, *s_on_packet, *s_count_dropped;

typedef struct {
    PyObject_HEAD
    srtp_unprotect_fn unprotect;
    void *srtp;
    PyObject *session;        /* the pylibsrtp Session: keeps the srtp_t alive */
    PyObject *original;       /* the socket protocol's own datagram_received (STUN, DTLS, SRTCP) */
    PyObject *handler;        /* handler(data, now): the Python path for what is not done here */
    PyObject *rtx_of;         /* Receiver.rtx_of (dict, kept by identity) */
    PyObject *ssrc_slots;     /* Receiver.ssrc_slots */
    PyObject *streams;        /* Receiver._streams */
    PyObject *repair_packet;  /* Receiver.repair_packet (bound) */
    PyObject *on_stamp;       /* Receiver._on_stamp */
    PyObject *stamp_type;     /* loadtest.stamp.Stamp */
    PyObject *report_delay;   /* loadtest.reception_report.next_report_delay */
    PyObject *playout_kwnames; /* VideoPlayout.on_packet's keyword names */
    long long max_age;        /* loadtest.nack.MAX_AGE */
    int seen;                 /* the first packet went the Python way (it marks first_rtp) */
    unsigned long long fast;
    unsigned long long slow;
} PacketReader;

static void
PacketReader_dealloc(PacketReader *self)
{
    Py_XDECREF(self->session);
    Py_XDECREF(self->original);
    Py_XDECREF(self->handler);
    Py_XDECREF(self->rtx_of);
    Py_XDECREF(self->ssrc_slots);
    Py_XDECREF(self->streams);
    Py_XDECREF(self->repair_packet);
    Py_XDECREF(self->on_stamp);
    Py_XDECREF(self->stamp_type);
    Py_XDECREF(self->report_delay);
    Py_XDECREF(self->playout_kwnames);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
PacketReader_init(PacketReader *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"unprotect", "srtp", "session", "original", "handler", "rtx_of",
                             "ssrc_slots", "streams", "repair_packet", "on_stamp",
                             "stamp_type", "report_delay", "max_age", NULL};
    unsigned long long unprotect, srtp;
    PyObject *session, *original, *handler, *rtx_of, *ssrc_slots, *streams, *repair_packet,
        *on_stamp, *stamp_type, *report_delay;
    long long max_age;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "$KKOOOO!O!O!OOOOL", kwlist, &unprotect,
                                     &srtp, &session, &original, &handler, &PyDict_Type,
                                     &rtx_of, &PyDict_Type, &ssrc_slots, &PyDict_Type, &streams,
                                     &repair_packet, &on_stamp, &stamp_type, &report_delay,
                                     &max_age))
        return -1;
    self->max_age = max_age;
    if (self->playout_kwnames == NULL) {
        self->playout_kwnames = Py_BuildValue("(ssssss)", "marker", "start", "keyframe", "tag",
                                              "now", "retransmitted");
        if (self->playout_kwnames == NULL)
            return -1;
    }
    if (unprotect == 0 || srtp == 0) {
        PyErr_SetString(PyExc_ValueError, "no srtp_unprotect or no srtp_t");
        return -1;
    }
    self->unprotect = (srtp_unprotect_fn)(uintptr_t)unprotect;
    self->srtp = (void *)(uintptr_t)srtp;
#define KEEP(field, value) do { Py_INCREF(value); Py_XSETREF(self->field, value); } while (0)
    KEEP(session, session);
    KEEP(original, original);
    KEEP(handler, handler);
    KEEP(rtx_of, rtx_of);
    KEEP(ssrc_slots, ssrc_slots);
    KEEP(streams, streams);
    KEEP(repair_packet, repair_packet);
    KEEP(on_stamp, on_stamp);
    KEEP(stamp_type, stamp_type);
    KEEP(report_delay, report_delay);
#undef KEEP
    return 0;
}

static inline uint16_t
be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t
be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t
be64(const uint8_t *p)
{
    return ((uint64_t)be32(p) << 32) | be32(p + 4);
}

/*
 * The hot per-stream state, held in C: base types of the Python classes the receive path
 * writes (loadtest.receive_state). Each field is a C field, read and written here without a
 * Python object, and an attribute of the same name for Python: an int, a float, or (the
 * optional ones, "int | None", "float | None") a value and whether it is set, None when not.
 */

typedef struct {
    long long v;
    int set;
} opt_ll;

typedef struct {
    double v;
    int set;
} opt_double;

static PyObject *
get_opt_ll(PyObject *self, void *closure)
{
    opt_ll *f = (opt_ll *)((char *)self + (Py_ssize_t)closure);
    if (!f->set)
        Py_RETURN_NONE;
    return PyLong_FromLongLong(f->v);
}

static int
set_opt_ll(PyObject *self, PyObject *value, void *closure)
{
    opt_ll *f = (opt_ll *)((char *)self + (Py_ssize_t)closure);
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "this attribute cannot be deleted");
        return -1;
    }
    if (value == Py_None) {
        f->set = 0;
        f->v = 0;
        return 0;
    }
    long long v = PyLong_AsLongLong(value);
    if (v == -1 && PyErr_Occurred())
        return -1;
    f->v = v;
    f->set = 1;
    return 0;
}

static PyObject *
get_opt_double(PyObject *self, void *closure)
{
    opt_double *f = (opt_double *)((char *)self + (Py_ssize_t)closure);
    if (!f->set)
        Py_RETURN_NONE;
    return PyFloat_FromDouble(f->v);
}

static int
set_opt_double(PyObject *self, PyObject *value, void *closure)
{
    opt_double *f = (opt_double *)((char *)self + (Py_ssize_t)closure);
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "this attribute cannot be deleted");
        return -1;
    }
    if (value == Py_None) {
        f->set = 0;
        f->v = 0.0;
        return 0;
    }
    double v = PyFloat_AsDouble(value);
    if (v == -1.0 && PyErr_Occurred())
        return -1;
    f->v = v;
    f->set = 1;
    return 0;
}

#define OPT_LL(type, name, field, doc) \
    {name, get_opt_ll, set_opt_ll, doc, (void *)offsetof(type, field)}
#define OPT_DOUBLE(type, name, field, doc) \
    {name, get_opt_double, set_opt_double, doc, (void *)offsetof(type, field)}

/* A tuple of the names of a type's C fields, members then getsets (its ``__slots__``). */
static PyObject *
field_names(PyMemberDef *members, PyGetSetDef *getset, int skip_dict)
{
    PyObject *names = PyList_New(0);
    if (names == NULL)
        return NULL;
    for (PyMemberDef *m = members; m && m->name; m++) {
        PyObject *s = PyUnicode_InternFromString(m->name);
        if (s == NULL || PyList_Append(names, s) < 0) {
            Py_XDECREF(s);
            Py_DECREF(names);
            return NULL;
        }
        Py_DECREF(s);
    }
    for (PyGetSetDef *g = getset; g && g->name; g++) {
        if (skip_dict && strcmp(g->name, "__dict__") == 0)
            continue;
        PyObject *s = PyUnicode_InternFromString(g->name);
        if (s == NULL || PyList_Append(names, s) < 0) {
            Py_XDECREF(s);
            Py_DECREF(names);
            return NULL;
        }
        Py_DECREF(s);
    }
    PyObject *t = PyList_AsTuple(names);
    Py_DECREF(names);
    return t;
}

/* RouteStats' base: the fields RouteStats.on_packet writes per packet. It keeps the
 * instance dict of the rest itself, so that ``vars(route)`` (and pickling) can show every
 * field as a plain dataclass instance's would. */
typedef struct {
    PyObject_HEAD
    PyObject *dict;
    long long packets, bytes, lost_packets, clock_rate;
    double jitter;
    opt_double first_packet_at, last_packet_at, transit;
    opt_ll max_seq;
    char repairing;
} RouteCore;

static PyMemberDef RouteCore_members[] = {
    {"packets", T_LONGLONG, offsetof(RouteCore, packets), 0, "RTP packets received"},
    {"bytes", T_LONGLONG, offsetof(RouteCore, bytes), 0, "their bytes"},
    {"lost_packets", T_LONGLONG, offsetof(RouteCore, lost_packets), 0, "sequence gaps"},
    {"jitter", T_DOUBLE, offsetof(RouteCore, jitter), 0, "interarrival jitter, clock units"},
    {"repairing", T_BOOL, offsetof(RouteCore, repairing), 0, "frames counted when shown"},
    {"_clock_rate", T_LONGLONG, offsetof(RouteCore, clock_rate), 0, "the RTP clock rate"},
    {NULL, 0, 0, 0, NULL},
};

static PyObject *RouteCore_fields; /* the names above and below, but __dict__ */

static PyObject *
RouteCore_state(PyObject *self, PyObject *unused)
{
    PyObject *state = PyDict_New();
    if (state == NULL)
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(RouteCore_fields);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name = PyTuple_GET_ITEM(RouteCore_fields, i);
        PyObject *v = PyObject_GenericGetAttr(self, name);
        if (v == NULL || PyDict_SetItem(state, name, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(state);
            return NULL;
        }
        Py_DECREF(v);
    }
    PyObject *dict = ((RouteCore *)self)->dict;
    if (dict != NULL && PyDict_Update(state, dict) < 0) {
        Py_DECREF(state);
        return NULL;
    }
    return state;
}

static PyObject *
RouteCore_get_dict(PyObject *self, void *closure)
{
    return RouteCore_state(self, NULL);
}

static PyObject *
RouteCore_setstate(PyObject *self, PyObject *state)
{
    if (!PyDict_Check(state)) {
        PyErr_SetString(PyExc_TypeError, "state must be a dict");
        return NULL;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(state, &pos, &key, &value))
        if (PyObject_SetAttr(self, key, value) < 0)
            return NULL;
    Py_RETURN_NONE;
}

static PyGetSetDef RouteCore_getset[] = {
    OPT_DOUBLE(RouteCore, "first_packet_at", first_packet_at, "the first packet's arrival"),
    OPT_DOUBLE(RouteCore, "last_packet_at", last_packet_at, "the newest packet's arrival"),
    OPT_DOUBLE(RouteCore, "_transit", transit, "the newest packet's transit, clock units"),
    OPT_LL(RouteCore, "_max_seq", max_seq, "the highest sequence number"),
    {"__dict__", RouteCore_get_dict, NULL,
     "every field, these C ones included: a new dict (set attributes, not its items)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef RouteCore_methods[] = {
    {"__getstate__", RouteCore_state, METH_NOARGS, "every field (pickle, copy)"},
    {"__setstate__", RouteCore_setstate, METH_O, "set every field of a __getstate__ dict"},
    {NULL, NULL, 0, NULL},
};

static int
RouteCore_traverse(RouteCore *self, visitproc visit, void *arg)
{
    Py_VISIT(self->dict);
    return 0;
}

static int
RouteCore_clear(RouteCore *self)
{
    Py_CLEAR(self->dict);
    return 0;
}

static void
RouteCore_dealloc(RouteCore *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    Py_CLEAR(self->dict);
    type->tp_free((PyObject *)self);
}

static PyTypeObject RouteCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "loadtest._compiled_receive.RouteCore",
    .tp_doc = "loadtest.metrics.RouteStats' per-packet fields, in C.",
    .tp_basicsize = sizeof(RouteCore),
    .tp_dictoffset = offsetof(RouteCore, dict),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)RouteCore_dealloc,
    .tp_traverse = (traverseproc)RouteCore_traverse,
    .tp_clear = (inquiry)RouteCore_clear,
    .tp_members = RouteCore_members,
    .tp_getset = RouteCore_getset,
    .tp_methods = RouteCore_methods,
};

/* ReceptionStatistics' base: all its fields (RFC 3550 Appendix A). */
typedef struct {
    PyObject_HEAD
    long long clock_rate, top, received, expected_prior, received_prior;
    double jitter, last_sr_at;
    opt_ll base, last_sr;
    opt_double last_transit;
} StatisticsCore;

static PyMemberDef StatisticsCore_members[] = {
    {"_clock_rate", T_LONGLONG, offsetof(StatisticsCore, clock_rate), 0, "the RTP clock rate"},
    {"_top", T_LONGLONG, offsetof(StatisticsCore, top), 0, "the highest sequence, unwrapped"},
    {"_received", T_LONGLONG, offsetof(StatisticsCore, received), 0, "packets received"},
    {"_expected_prior", T_LONGLONG, offsetof(StatisticsCore, expected_prior), 0, "A.3"},
    {"_received_prior", T_LONGLONG, offsetof(StatisticsCore, received_prior), 0, "A.3"},
    {"jitter", T_DOUBLE, offsetof(StatisticsCore, jitter), 0, "interarrival jitter (A.8)"},
    {"_last_sr_at", T_DOUBLE, offsetof(StatisticsCore, last_sr_at), 0, "the last SR's arrival"},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef StatisticsCore_getset[] = {
    OPT_LL(StatisticsCore, "_base", base, "the first sequence number, unwrapped"),
    OPT_LL(StatisticsCore, "_last_sr", last_sr, "the last SR's middle NTP bits"),
    OPT_DOUBLE(StatisticsCore, "_last_transit", last_transit, "the last transit (A.8)"),
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject StatisticsCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "loadtest._compiled_receive.StatisticsCore",
    .tp_doc = "loadtest.reception_report.ReceptionStatistics' fields, in C.",
    .tp_basicsize = sizeof(StatisticsCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = PyType_GenericNew,
    .tp_members = StatisticsCore_members,
    .tp_getset = StatisticsCore_getset,
};

/* SequenceUnwrapper's base. */
typedef struct {
    PyObject_HEAD
    opt_ll last;
} UnwrapCore;

static PyGetSetDef UnwrapCore_getset[] = {
    OPT_LL(UnwrapCore, "_last", last, "the highest sequence number, unwrapped"),
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject UnwrapCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "loadtest._compiled_receive.UnwrapCore",
    .tp_doc = "loadtest.nack.SequenceUnwrapper's field, in C.",
    .tp_basicsize = sizeof(UnwrapCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = PyType_GenericNew,
    .tp_getset = UnwrapCore_getset,
};

/* NackRequester's base. */
typedef struct {
    PyObject_HEAD
    opt_ll newest;
} NackCore;

static PyGetSetDef NackCore_getset[] = {
    OPT_LL(NackCore, "_newest", newest, "the newest sequence number, unwrapped"),
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject NackCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "loadtest._compiled_receive.NackCore",
    .tp_doc = "loadtest.nack.NackRequester's per-packet field, in C.",
    .tp_basicsize = sizeof(NackCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = PyType_GenericNew,
    .tp_getset = NackCore_getset,
};

/* The objects a received packet goes through: _Stream (what an SSRC feeds), _Reception (its
 * statistics and when their report is due) and _Repair (its repair model), in
 * loadtest.receiver. Their references are C fields too, read here without an attribute
 * lookup; the types take part in garbage collection like any holder of references. */
typedef struct {
    PyObject_HEAD
    PyObject *source, *route, *reception, *repair;
    long long clock_rate;
    char video;
} StreamCore;

static PyMemberDef StreamCore_members[] = {
    {"source", T_OBJECT_EX, offsetof(StreamCore, source), 0, "the source it carries"},
    {"video", T_BOOL, offsetof(StreamCore, video), 0, "video (else audio)"},
    {"clock_rate", T_LONGLONG, offsetof(StreamCore, clock_rate), 0, "the RTP clock rate"},
    {"route", T_OBJECT_EX, offsetof(StreamCore, route), 0, "its RouteStats (None: anew)"},
    {"reception", T_OBJECT_EX, offsetof(StreamCore, reception), 0, "its _Reception"},
    {"repair", T_OBJECT_EX, offsetof(StreamCore, repair), 0, "its _Repair or None"},
    {NULL, 0, 0, 0, NULL},
};

typedef struct {
    PyObject_HEAD
    PyObject *stats;
    double interval;
    opt_double due;
} ReceptionCore;

static PyMemberDef ReceptionCore_members[] = {
    {"stats", T_OBJECT_EX, offsetof(ReceptionCore, stats), 0, "its ReceptionStatistics"},
    {"interval", T_DOUBLE, offsetof(ReceptionCore, interval), 0, "the report interval, s"},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef ReceptionCore_getset[] = {
    OPT_DOUBLE(ReceptionCore, "due", due, "when the next report is due (None: no packet yet)"),
    {NULL, NULL, NULL, NULL, NULL},
};

typedef struct {
    PyObject_HEAD
    PyObject *unwrap, *nack, *playout;
} RepairCore;

static PyMemberDef RepairCore_members[] = {
    {"unwrap", T_OBJECT_EX, offsetof(RepairCore, unwrap), 0, "its SequenceUnwrapper"},
    {"nack", T_OBJECT_EX, offsetof(RepairCore, nack), 0, "its NackRequester"},
    {"playout", T_OBJECT_EX, offsetof(RepairCore, playout), 0, "its VideoPlayout"},
    {NULL, 0, 0, 0, NULL},
};

#define HOLDER(T, VISIT, CLEAR)                                                              \
    static int T##_traverse(T *self, visitproc visit, void *arg) { VISIT; return 0; }        \
    static int T##_clear(T *self) { CLEAR; return 0; }                                       \
    static void T##_dealloc(T *self)                                                         \
    {                                                                                        \
        PyTypeObject *type = Py_TYPE(self);                                                  \
        PyObject_GC_UnTrack(self);                                                           \
        T##_clear(self);                                                                     \
        type->tp_free((PyObject *)self);                                                     \
    }

HOLDER(StreamCore,
       Py_VISIT(self->source); Py_VISIT(self->route); Py_VISIT(self->reception);
       Py_VISIT(self->repair),
       Py_CLEAR(self->source); Py_CLEAR(self->route); Py_CLEAR(self->reception);
       Py_CLEAR(self->repair))
HOLDER(ReceptionCore, Py_VISIT(self->stats), Py_CLEAR(self->stats))
HOLDER(RepairCore,
       Py_VISIT(self->unwrap); Py_VISIT(self->nack); Py_VISIT(self->playout),
       Py_CLEAR(self->unwrap); Py_CLEAR(self->nack); Py_CLEAR(self->playout))
#undef HOLDER

#define HOLDER_TYPE(T, doc)                                                                  \
    .tp_name = "loadtest._compiled_receive." #T, .tp_doc = doc,                              \
    .tp_basicsize = sizeof(T),                                                               \
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,               \
    .tp_new = PyType_GenericNew, .tp_dealloc = (destructor)T##_dealloc,                      \
    .tp_traverse = (traverseproc)T##_traverse, .tp_clear = (inquiry)T##_clear,               \
    .tp_members = T##_members

static PyTypeObject StreamCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    HOLDER_TYPE(StreamCore, "loadtest.receiver._Stream's fields, in C."),
};

static PyTypeObject ReceptionCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    HOLDER_TYPE(ReceptionCore, "loadtest.receiver._Reception's fields, in C."),
    .tp_getset = ReceptionCore_getset,
};

static PyTypeObject RepairCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    HOLDER_TYPE(RepairCore, "loadtest.receiver._Repair's per-packet fields, in C."),
};
#undef HOLDER_TYPE

/* Make the types ready and give each the tuple of its C fields' names as ``__slots__`` (what
 * their pure-Python stand-ins in loadtest.receive_state declare). */
static int
cores_ready(PyObject *m)
{
    struct { PyTypeObject *type; const char *name; int dict; } cores[] = {
        {&RouteCoreType, "RouteCore", 1},
        {&StatisticsCoreType, "StatisticsCore", 0},
        {&UnwrapCoreType, "UnwrapCore", 0},
        {&NackCoreType, "NackCore", 0},
        {&StreamCoreType, "StreamCore", 0},
        {&ReceptionCoreType, "ReceptionCore", 0},
        {&RepairCoreType, "RepairCore", 0},
    };
    for (size_t i = 0; i < sizeof cores / sizeof cores[0]; i++) {
        PyTypeObject *t = cores[i].type;
        if (PyType_Ready(t) < 0)
            return -1;
        PyObject *names = field_names(t->tp_members, t->tp_getset, cores[i].dict);
        if (names == NULL)
            return -1;
        if (cores[i].dict) {
            Py_XSETREF(RouteCore_fields, names);
        } else {
            int r = PyDict_SetItemString(t->tp_dict, "__slots__", names);
            Py_DECREF(names);
            if (r < 0)
                return -1;
            PyType_Modified(t);
        }
        if (PyModule_AddObjectRef(m, cores[i].name, (PyObject *)t) < 0)
            return -1;
    }
    return 0;
}

/* An int attribute as long long; *isnone set for None. -1 with an exception on error. */
static int
get_ll(PyObject *obj, PyObject *name, long long *out, int *isnone)
{
    PyObject *v = PyObject_GetAttr(obj, name);
    if (v == NULL)
        return -1;
    if (v == Py_None) {
        *isnone = 1;
        Py_DECREF(v);
        return 0;
    }
    *isnone = 0;
    *out = PyLong_AsLongLong(v);
    Py_DECREF(v);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

/* A number attribute that may not be None (Python's arithmetic on it would raise). */
static int
need_ll(PyObject *obj, PyObject *name, long long *out)
{
    int none;
    *out = 0;
    if (get_ll(obj, name, out, &none) < 0)
        return -1;
    if (none) {
        PyErr_Format(PyExc_TypeError, "%U is None", name);
        return -1;
    }
    return 0;
}

static int
set_ll(PyObject *obj, PyObject *name, long long value)
{
    PyObject *v = PyLong_FromLongLong(value);
    if (v == NULL)
        return -1;
    int r = PyObject_SetAttr(obj, name, v);
    Py_DECREF(v);
    return r;
}

static int
add_ll(PyObject *obj, PyObject *name, long long delta)
{
    long long v;
    if (need_ll(obj, name, &v) < 0)
        return -1;
    return set_ll(obj, name, v + delta);
}

/* RouteStats.on_packet, field for field, for a packet that is not a retransmission, on a
 * route whose type process() checked (a RouteCore). ``stamp`` is a new Stamp or NULL. */
static int
route_on_packet(RouteCore *route, long long seq, long long timestamp, long long clock_rate,
                Py_ssize_t size, int marker, int video, PyObject *stamp, double now)
{
    route->packets += 1;
    route->bytes += size;
    PyObject *tally = PyObject_GetAttr((PyObject *)route, s_tally);
    if (tally == NULL)
        return -1;
    if (tally != Py_None && add_ll(tally, s_bytes, size) < 0) {
        Py_DECREF(tally);
        return -1;
    }
    Py_DECREF(tally);
    if (!route->first_packet_at.set) {
        route->first_packet_at.v = now;
        route->first_packet_at.set = 1;
    }
    route->last_packet_at.v = now;
    route->last_packet_at.set = 1;
    if (!route->max_seq.set) {
        route->max_seq.v = seq;
        route->max_seq.set = 1;
    } else {
        long long ahead = (seq - route->max_seq.v) & 0xFFFF;
        if (0 < ahead && ahead < 0x8000) {
            route->lost_packets += ahead - 1;
            route->max_seq.v = seq;
        } else if (ahead && route->lost_packets) {
            route->lost_packets -= 1;
        }
    }
    route->clock_rate = clock_rate;
    double transit = now * (double)clock_rate - (double)timestamp;
    if (route->transit.set) {
        double d = fabs(transit - route->transit.v);
        route->jitter += (d - route->jitter) / 16;
    }
    route->transit.v = transit;
    route->transit.set = 1;
    if (video && marker) {
        PyObject *r = NULL;
        PyObject *t = PyFloat_FromDouble(now);
        if (t == NULL)
            return -1;
        if (!route->repairing)
            r = PyObject_CallMethodObjArgs((PyObject *)route, s_on_frame,
                                           stamp ? stamp : Py_None, t, NULL);
        else if (stamp != NULL)
            r = PyObject_CallMethodObjArgs((PyObject *)route, s_add_latency, stamp, t, NULL);
        else
            r = Py_NewRef(Py_None);
        Py_DECREF(t);
        if (r == NULL)
            return -1;
        Py_DECREF(r);
    }
    return 0;
}

/* ReceptionStatistics.on_packet for a packet that is not a retransmission. */
static void
stats_on_packet(StatisticsCore *stats, long long seq, long long timestamp, double now)
{
    if (!stats->base.set) {
        stats->base.v = stats->top = seq;
        stats->base.set = 1;
    } else {
        long long delta = (seq - stats->top) & 0xFFFF;
        if (delta < 0x8000)
            stats->top += delta;
        else if (stats->top - (0x10000 - delta) < stats->base.v)
            stats->base.v = stats->top - (0x10000 - delta);
    }
    stats->received += 1;
    double transit = now * (double)stats->clock_rate - (double)timestamp;
    if (stats->last_transit.set) {
        double d = fabs(transit - stats->last_transit.v);
        stats->jitter += (d - stats->jitter) / 16;
    }
    stats->last_transit.v = transit;
    stats->last_transit.set = 1;
}

/* Whether (and what) the VP8 payload descriptor at ``offset`` begins: as
 * loadtest.receiver.vp8_frame_start, reading within the whole packet (n bytes).
 * 0 on success, 1 when it would read past the end (the Python path then raises). */
static int
vp8_start(const uint8_t *d, Py_ssize_t n, Py_ssize_t offset, int *start, int *keyframe)
{
    *start = *keyframe = 0;
    uint8_t b0 = d[offset];
    if ((b0 & 0x17) != 0x10)
        return 0;
    Py_ssize_t pos = offset + 1;
    if (b0 & 0x80) {
        if (pos >= n)
            return 1;
        uint8_t x = d[pos++];
        if (x & 0x80) {
            if (pos >= n)
                return 1;
            pos += (d[pos] & 0x80) ? 2 : 1;
        }
        if (x & 0x40)
            pos += 1;
        if (x & 0x30)
            pos += 1;
    }
    *start = 1;
    *keyframe = pos < n && !(d[pos] & 0x01);
    return 0;
}

/* Receiver.repair_packet for the common case, a video packet right after the newest one
 * (not a retransmission, not a keyframe's first): the sequence unwrapper and the NACK list
 * only move on (no gap to ask for, nothing old enough to drop from the list), so only
 * the playout model is called. 1 when done, 0 when it is not that case (nothing was
 * changed: Receiver.repair_packet does it all), -1 on error. */
static int
repair_in_order(PacketReader *self, PyObject *repair, long long seq, long long timestamp,
                int marker, int start, PyObject *stamp, PyObject *now)
{
    int result = -1;
    long long useq;
    PyObject *unwrap = NULL, *nack = NULL, *missing = NULL, *playout = NULL;
    PyObject *dropped = NULL, *after = NULL;
    RepairCore *rep = (RepairCore *)repair;
    result = 0;
    /* Other kinds of state, or a field unset: Receiver.repair_packet knows what to do. */
    if (!PyObject_TypeCheck(repair, &RepairCoreType) || rep->unwrap == NULL
        || rep->nack == NULL || rep->playout == NULL)
        goto out;
    unwrap = Py_NewRef(rep->unwrap);
    nack = Py_NewRef(rep->nack);
    if (!PyObject_TypeCheck(unwrap, &UnwrapCoreType) || !PyObject_TypeCheck(nack, &NackCoreType))
        goto out;
    opt_ll *last = &((UnwrapCore *)unwrap)->last, *newest = &((NackCore *)nack)->newest;
    if (!last->set)
        goto out;
    long long delta = (seq - last->v) & 0xFFFF;
    if (delta >= 0x8000)
        goto out;
    useq = last->v + delta;
    if (!newest->set || useq != newest->v + 1)
        goto out;
    if ((missing = PyObject_GetAttr(nack, s_missing)) == NULL) {
        result = -1;
        goto out;
    }
    if (!PyDict_CheckExact(missing))
        goto out;
    if (PyDict_GET_SIZE(missing)) {
        /* NackRequester._trim: the oldest entry (the list is in sequence order) stays? */
        Py_ssize_t pos = 0;
        PyObject *key, *value;
        if (!PyDict_Next(missing, &pos, &key, &value) || !PyLong_CheckExact(key))
            goto out;
        long long oldest = PyLong_AsLongLong(key);
        if (oldest == -1 && PyErr_Occurred()) {
            result = -1;
            goto out;
        }
        if (oldest < useq - self->max_age)
            goto out;
    }
    /* From here, what repair_packet does. */
    result = -1;
    if (delta > 0)
        last->v = useq;
    newest->v = useq;
    playout = Py_NewRef(rep->playout);
    if ((dropped = PyObject_GetAttr(playout, s_frames_dropped)) == NULL)
        goto out;
    PyObject *u = PyLong_FromLongLong(useq);
    PyObject *ts = u == NULL ? NULL : PyLong_FromLongLong(timestamp);
    if (ts == NULL) {
        Py_XDECREF(u);
        goto out;
    }
    /* playout.on_packet(useq, timestamp, marker=, start=, keyframe=False, tag=, now=,
     * retransmitted=False) */
    PyObject *args[] = {playout, u, ts, marker ? Py_True : Py_False,
                        start ? Py_True : Py_False, Py_False, stamp ? stamp : Py_None, now,
                        Py_False};
    PyObject *r = PyObject_VectorcallMethod(s_on_packet, args,
                                            3 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                            self->playout_kwnames);
    Py_DECREF(u);
    Py_DECREF(ts);
    if (r == NULL)
        goto out;
    Py_DECREF(r);
    if ((after = PyObject_GetAttr(playout, s_frames_dropped)) == NULL)
        goto out;
    int same = PyObject_RichCompareBool(after, dropped, Py_EQ);
    if (same < 0)
        goto out;
    if (!same) {
        r = PyObject_CallMethodNoArgs(repair, s_count_dropped);
        if (r == NULL)
            goto out;
        Py_DECREF(r);
    }
    result = 1;
out:
    Py_XDECREF(unwrap);
    Py_XDECREF(nack);
    Py_XDECREF(missing);
    Py_XDECREF(playout);
    Py_XDECREF(dropped);
    Py_XDECREF(after);
    return result;
}

/* The Python path for one plain packet: handler(bytes, now). */
static int
slow_path(PacketReader *self, const uint8_t *d, Py_ssize_t n, PyObject *data, double now)
{
    self->slow++;
    PyObject *bytes = data;
    if (bytes == NULL) {
        bytes = PyBytes_FromStringAndSize((const char *)d, n);
        if (bytes == NULL)
            return -1;
    } else {
        Py_INCREF(bytes);
    }
    PyObject *t = PyFloat_FromDouble(now);
    if (t == NULL) {
        Py_DECREF(bytes);
        return -1;
    }
    PyObject *r = PyObject_CallFunctionObjArgs(self->handler, bytes, t, NULL);
    Py_DECREF(bytes);
    Py_DECREF(t);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* Receiver.on_rtp for one plain packet; ``data`` is its bytes object if there is one. */
static int
process(PacketReader *self, const uint8_t *d, Py_ssize_t n, PyObject *data, double now)
{
    if (!self->seen || n < 12)
        return self->seen = 1, slow_path(self, d, n, data, now);
    uint8_t b0 = d[0], b1 = d[1];
    long long seq = be16(d + 2);
    long long timestamp = be32(d + 4);
    uint32_t ssrc = be32(d + 8);
    Py_ssize_t offset = 12 + 4 * (b0 & 0x0F);
    if (b0 & 0x10) {
        if (offset + 4 > n)
            return slow_path(self, d, n, data, now);
        offset += 4 + 4 * (Py_ssize_t)be16(d + offset + 2);
    }
    Py_ssize_t end = n - ((b0 & 0x20) ? d[n - 1] : 0);
    PyObject *key = PyLong_FromUnsignedLong(ssrc);
    if (key == NULL)
        return -1;
    int rc = -1;
    PyObject *stream = NULL, *route = NULL, *stamp = NULL, *reception = NULL, *repair = NULL;
    PyObject *stats = NULL, *source_now = NULL;
    if (PyDict_GET_SIZE(self->rtx_of)) {
        PyObject *media = PyDict_GetItemWithError(self->rtx_of, key);
        if (media != NULL) {
            rc = slow_path(self, d, n, data, now); /* a retransmission */
            goto done;
        }
        if (PyErr_Occurred())
            goto done;
    }
    PyObject *slot = PyDict_GetItemWithError(self->ssrc_slots, key); /* borrowed */
    if (slot == NULL) {
        rc = PyErr_Occurred() ? -1 : 0;
        goto done;
    }
    if (!PyDict_CheckExact(slot)) {
        rc = slow_path(self, d, n, data, now);
        goto done;
    }
    PyObject *source = PyDict_GetItemWithError(slot, s_source); /* borrowed */
    if (source == NULL || source == Py_None) {
        rc = PyErr_Occurred() ? -1 : 0;
        goto done;
    }
    stream = PyDict_GetItemWithError(self->streams, key);
    if (stream == NULL) {
        rc = PyErr_Occurred() ? -1 : slow_path(self, d, n, data, now);
        goto done;
    }
    Py_INCREF(stream);
    StreamCore *st = (StreamCore *)stream;
    if (!PyObject_TypeCheck(stream, &StreamCoreType) || st->source == NULL || st->route == NULL
        || st->reception == NULL || st->repair == NULL) {
        /* not the state this path knows (pure-Python classes, say), or a field unset */
        rc = slow_path(self, d, n, data, now);
        goto done;
    }
    source_now = Py_NewRef(st->source);
    route = Py_NewRef(st->route);
    if (source_now != source || route == Py_None || end < offset) {
        /* another source on this SSRC (Python compares), a new window, a malformed packet */
        rc = slow_path(self, d, n, data, now);
        goto done;
    }
    int video = st->video;
    int marker = b1 > 0x7F;
    if (video && marker && end < STAMP_SIZE) {
        rc = slow_path(self, d, n, data, now);
        goto done;
    }
    repair = Py_NewRef(st->repair);
    int start = 0, keyframe = 0;
    if (repair != Py_None && offset < end && vp8_start(d, n, offset, &start, &keyframe)) {
        rc = slow_path(self, d, n, data, now);
        goto done;
    }
    reception = Py_NewRef(st->reception);
    ReceptionCore *rec = (ReceptionCore *)reception;
    if (!PyObject_TypeCheck(reception, &ReceptionCoreType) || rec->stats == NULL) {
        rc = slow_path(self, d, n, data, now);
        goto done;
    }
    stats = Py_NewRef(rec->stats);
    if (!PyObject_TypeCheck(route, &RouteCoreType)
        || !PyObject_TypeCheck(stats, &StatisticsCoreType)) {
        rc = slow_path(self, d, n, data, now);
        goto done;
    }
    /* From here on, what Receiver.on_rtp does, in its order. */
    self->fast++;
    long long clock_rate = st->clock_rate;
    if (video && marker && memcmp(d + end - STAMP_SIZE, MAGIC, 4) == 0) {
        const uint8_t *p = d + end - STAMP_SIZE + 4;
        stamp = PyObject_CallFunction(self->stamp_type, "(kkK)", (unsigned long)be16(p),
                                      (unsigned long)be32(p + 2),
                                      (unsigned long long)be64(p + 6));
        if (stamp == NULL)
            goto done;
    }
    if (route_on_packet((RouteCore *)route, seq, timestamp, clock_rate, n, marker, video, stamp,
                        now) < 0)
        goto done;
    stats_on_packet((StatisticsCore *)stats, seq, timestamp, now);
    if (!rec->due.set) {
        PyObject *interval = PyFloat_FromDouble(rec->interval);
        if (interval == NULL)
            goto done;
        PyObject *delay = PyObject_CallOneArg(self->report_delay, interval);
        Py_DECREF(interval);
        if (delay == NULL)
            goto done;
        double dd = PyFloat_AsDouble(delay);
        Py_DECREF(delay);
        if (dd == -1.0 && PyErr_Occurred())
            goto done;
        rec->due.v = now + dd;
        rec->due.set = 1;
    }
    PyObject *t = NULL;
    if (stamp != NULL) {
        t = PyFloat_FromDouble(now);
        if (t == NULL)
            goto done;
        PyObject *r = PyObject_CallFunctionObjArgs(self->on_stamp, source, t, NULL);
        if (r == NULL) {
            Py_DECREF(t);
            goto done;
        }
        Py_DECREF(r);
    }
    if (repair == Py_None || offset >= end) {
        Py_XDECREF(t);
        rc = 0;
        goto done;
    }
    if (t == NULL && (t = PyFloat_FromDouble(now)) == NULL)
        goto done;
    int handled = keyframe ? 0 : repair_in_order(self, repair, seq, timestamp, marker, start,
                                                 stamp, t);
    if (handled != 0) {
        Py_DECREF(t);
        rc = handled < 0 ? -1 : 0;
        goto done;
    }
    PyObject *r = PyObject_CallFunction(
        self->repair_packet, "(OLLOOOOOO)", repair, seq, timestamp,
        marker ? Py_True : Py_False, start ? Py_True : Py_False, keyframe ? Py_True : Py_False,
        stamp ? stamp : Py_None, t, Py_False);
    Py_DECREF(t);
    if (r == NULL)
        goto done;
    Py_DECREF(r);
    rc = 0;
done:
    Py_DECREF(key);
    Py_XDECREF(stream);
    Py_XDECREF(source_now);
    Py_XDECREF(route);
    Py_XDECREF(stamp);
    Py_XDECREF(reception);
    Py_XDECREF(stats);
    Py_XDECREF(repair);
    return rc;
}

static double
wall_clock(void)
{
    /* time.time(): CLOCK_REALTIME in nanoseconds, as a double of seconds. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    return (double)ns / 1e9;
}

static PyObject *
PacketReader_datagram_received(PacketReader *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "datagram_received(data, addr)");
        return NULL;
    }
    PyObject *data = args[0];
    if (!PyBytes_Check(data)) {
        PyErr_SetString(PyExc_TypeError, "packet must be bytes");
        return NULL;
    }
    const uint8_t *d = (const uint8_t *)PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    /* RFC 7983 §7: 128-191 is RTP or RTCP; RTCP's packet types are 192-223 (RFC 5761 §4).
     * Too short to tell: IndexError, as the Python path's data[0] / data[1]. */
    if (n == 0 || (n == 1 && 127 < d[0] && d[0] < 192)) {
        PyErr_SetString(PyExc_IndexError, "index out of range");
        return NULL;
    }
    if (!(127 < d[0] && d[0] < 192) || (191 < d[1] && d[1] < 224))
        return PyObject_Vectorcall(self->original, args, 2, NULL);
    if (n > PYLIBSRTP_BUFFER) {
        PyErr_SetString(PyExc_ValueError, "packet is too long");
        return NULL;
    }
    uint32_t buf[PYLIBSRTP_BUFFER / 4 + 1];
    memcpy(buf, d, (size_t)n);
    int len = (int)n;
    if (self->unprotect(self->srtp, buf, &len) != 0)
        Py_RETURN_NONE; /* a replay or a packet of a stale key: libsrtp says no */
    if (process(self, (const uint8_t *)buf, len, NULL, wall_clock()) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
PacketReader_on_rtp(PacketReader *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "on_rtp(data: bytes, now: float)");
        return NULL;
    }
    double now = PyFloat_AsDouble(args[1]);
    if (now == -1.0 && PyErr_Occurred())
        return NULL;
    if (process(self, (const uint8_t *)PyBytes_AS_STRING(args[0]), PyBytes_GET_SIZE(args[0]),
                args[0], now) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
PacketReader_get_fast(PacketReader *self, void *closure)
{
    return PyLong_FromUnsignedLongLong(self->fast);
}

static PyObject *
PacketReader_get_slow(PacketReader *self, void *closure)
{
    return PyLong_FromUnsignedLongLong(self->slow);
}

static PyMethodDef PacketReader_methods[] = {
    {"datagram_received", (PyCFunction)(void (*)(void))PacketReader_datagram_received,
     METH_FASTCALL,
     "datagram_received(data, addr): SRTP unprotected and accounted here; anything else to "
     "the socket protocol's own datagram_received."},
    {"on_rtp", (PyCFunction)(void (*)(void))PacketReader_on_rtp, METH_FASTCALL,
     "on_rtp(data, now): account one plain RTP packet, as Receiver.on_rtp does."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef PacketReader_getset[] = {
    {"fast", (getter)PacketReader_get_fast, NULL, "packets accounted here", NULL},
    {"slow", (getter)PacketReader_get_slow, NULL, "packets handed to the Python path", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject PacketReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "loadtest._compiled_receive.PacketReader",
    .tp_doc = "One connection's received SRTP: unprotect and account, one call per packet.",
    .tp_basicsize = sizeof(PacketReader),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)PacketReader_init,
    .tp_dealloc = (destructor)PacketReader_dealloc,
    .tp_methods = PacketReader_methods,
    .tp_getset = PacketReader_getset,
};

/*
 * SocketReader: an ICE socket read here, in batches (loadtest.batched_socket takes the socket
 * over from the event loop's transport once DTLS is up). One recvmmsg per readiness takes up
 * to BATCH datagrams, with no Python object made for an SRTP packet: it is unprotected in
 * place and accounted by its PacketReader (process() above, as datagram_received does).
 * Anything else (STUN, DTLS, SRTCP, whatever is too short or too long) goes, as bytes with its
 * source address as the event loop gives it, through PacketReader.datagram_received, so to
 * the socket protocol's own handler exactly as on the per-datagram path.
 */

#define BATCH 32
#define ROUNDS 4 /* recvmmsg calls per readiness at most: other sockets get their turn */
#define SLOT 2048 /* per datagram; a longer one is truncated by the kernel, counted, dropped */
/* Room for one SCM_TIMESTAMPNS control message (the datagram's arrival time) per datagram. */
#define CONTROL CMSG_SPACE(sizeof(struct timespec))

typedef struct {
    PyObject_HEAD
    int fd;
    PacketReader *reader;
    PyObject *error_received; /* the protocol's error_received(exc), for a failed send */
    PyObject *clock;          /* clock() -> arrival time, or NULL: the wall clock (tests) */
    uint8_t *bufs;            /* BATCH * SLOT */
    struct mmsghdr msgs[BATCH];
    struct iovec iovs[BATCH];
    struct sockaddr_storage addrs[BATCH];
    union { struct cmsghdr align; char buf[CONTROL]; } controls[BATCH];
    PyObject *last_addr;      /* sendto's last address and its sockaddr */
    struct sockaddr_storage last_sa;
    socklen_t last_salen;
    unsigned long long datagrams, batches, truncated;
} SocketReader;

static PyTypeObject SocketReaderType;

static void
SocketReader_dealloc(SocketReader *self)
{
    if (self->fd >= 0)
        close(self->fd);
    Py_XDECREF(self->reader);
    Py_XDECREF(self->error_received);
    Py_XDECREF(self->clock);
    Py_XDECREF(self->last_addr);
    PyMem_Free(self->bufs);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
SocketReader_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    SocketReader *self = (SocketReader *)type->tp_alloc(type, 0);
    if (self != NULL)
        self->fd = -1;
    return (PyObject *)self;
}

static int
SocketReader_init(SocketReader *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"fd", "reader", "error_received", "clock", NULL};
    int fd = -1;
    PyObject *reader = NULL, *error_received = NULL, *clock = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$iO!OO", kwlist, &fd, &PacketReaderType,
                                     &reader, &error_received, &clock))
        return -1;
    if (reader == NULL || error_received == NULL) {
        PyErr_SetString(PyExc_TypeError, "SocketReader needs fd, reader and error_received");
        return -1;
    }
    if (self->fd >= 0 || fd < 0) {
        PyErr_SetString(PyExc_ValueError, "a SocketReader takes one open file descriptor, once");
        return -1;
    }
    /* The kernel stamps each datagram with its arrival (CLOCK_REALTIME, as time.time()):
     * read on a timer (loadtest.pacing) or late, a packet still counts when it arrived. */
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    self->bufs = PyMem_Malloc((size_t)BATCH * SLOT);
    if (self->bufs == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    self->fd = fd;
    Py_INCREF(reader);
    Py_XSETREF(self->reader, (PacketReader *)reader);
    Py_INCREF(error_received);
    Py_XSETREF(self->error_received, error_received);
    if (clock != Py_None) {
        Py_INCREF(clock);
        Py_XSETREF(self->clock, clock);
    }
    return 0;
}

/* The source address as the event loop gives it: (host, port) or (host, port, flow, scope). */
static PyObject *
address_tuple(const struct sockaddr_storage *sa)
{
    char host[INET6_ADDRSTRLEN];
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        if (inet_ntop(AF_INET, &in->sin_addr, host, sizeof host) == NULL)
            return PyErr_SetFromErrno(PyExc_OSError);
        return Py_BuildValue("(si)", host, (int)ntohs(in->sin_port));
    }
    if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host) == NULL)
            return PyErr_SetFromErrno(PyExc_OSError);
        return Py_BuildValue("(siII)", host, (int)ntohs(in6->sin6_port),
                             (unsigned int)ntohl(in6->sin6_flowinfo),
                             (unsigned int)in6->sin6_scope_id);
    }
    Py_RETURN_NONE;
}

/* What is not an SRTP packet this path takes: PacketReader.datagram_received(bytes, addr). */
static int
hand_on(SocketReader *self, const uint8_t *d, Py_ssize_t n, const struct sockaddr_storage *sa)
{
    PyObject *args[2];
    args[0] = PyBytes_FromStringAndSize((const char *)d, n);
    if (args[0] == NULL)
        return -1;
    args[1] = address_tuple(sa);
    if (args[1] == NULL) {
        Py_DECREF(args[0]);
        return -1;
    }
    PyObject *r = PacketReader_datagram_received(self->reader, args, 2);
    Py_DECREF(args[0]);
    Py_DECREF(args[1]);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* When the kernel says the datagram of ``h`` arrived (epoch seconds), or the wall clock now
 * if it says nothing. */
static double
arrival_time(struct msghdr *h)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            return (double)((long long)ts.tv_sec * 1000000000LL + ts.tv_nsec) / 1e9;
        }
    }
    return wall_clock();
}

/* One datagram, as PacketReader.datagram_received would take it; ``arrived``: when. */
static int
one_datagram(SocketReader *self, uint8_t *d, Py_ssize_t n, const struct sockaddr_storage *sa,
             double arrived)
{
    PacketReader *reader = self->reader;
    if (n < 2 || n > PYLIBSRTP_BUFFER || !(127 < d[0] && d[0] < 192)
        || (191 < d[1] && d[1] < 224))
        return hand_on(self, d, n, sa);
    int len = (int)n; /* unprotected in place: the slot is ours until the next recvmmsg */
    if (reader->unprotect(reader->srtp, d, &len) != 0)
        return 0; /* a replay or a packet of a stale key: libsrtp says no */
    double now;
    if (self->clock == NULL) {
        now = arrived;
    } else {
        PyObject *t = PyObject_CallNoArgs(self->clock);
        if (t == NULL)
            return -1;
        now = PyFloat_AsDouble(t);
        Py_DECREF(t);
        if (now == -1.0 && PyErr_Occurred())
            return -1;
    }
    return process(reader, d, len, NULL, now);
}

/* Keep the first exception to raise it at the end; later ones are reported as unraisable. */
static void
keep_first(PyObject **type, PyObject **value, PyObject **tb)
{
    if (*type == NULL)
        PyErr_Fetch(type, value, tb);
    else
        PyErr_WriteUnraisable(NULL);
}

static PyObject *
SocketReader_read_ready(SocketReader *self, PyObject *unused)
{
    PyObject *et = NULL, *ev = NULL, *etb = NULL;
    unsigned long long got = 0;
    for (int round = 0; round < ROUNDS && self->fd >= 0; round++) {
        for (int i = 0; i < BATCH; i++) {
            self->iovs[i].iov_base = self->bufs + (size_t)i * SLOT;
            self->iovs[i].iov_len = SLOT;
            struct msghdr *h = &self->msgs[i].msg_hdr;
            h->msg_name = &self->addrs[i];
            h->msg_namelen = sizeof self->addrs[i];
            h->msg_iov = &self->iovs[i];
            h->msg_iovlen = 1;
            h->msg_control = self->controls[i].buf;
            h->msg_controllen = CONTROL;
            h->msg_flags = 0;
            self->msgs[i].msg_len = 0;
        }
        int n = recvmmsg(self->fd, self->msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                break;
            /* As the event loop: a receive error goes to the protocol's error_received. */
            PyObject *exc = PyObject_CallFunction(PyExc_OSError, "is", errno, strerror(errno));
            PyObject *r = exc == NULL ? NULL
                                      : PyObject_CallOneArg(self->error_received, exc);
            Py_XDECREF(exc);
            if (r == NULL)
                keep_first(&et, &ev, &etb);
            Py_XDECREF(r);
            break;
        }
        self->batches++;
        for (int i = 0; i < n; i++) {
            got++;
            if (self->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
                self->truncated++;
                continue;
            }
            if (one_datagram(self, self->bufs + (size_t)i * SLOT,
                             (Py_ssize_t)self->msgs[i].msg_len, &self->addrs[i],
                             arrival_time(&self->msgs[i].msg_hdr)) < 0)
                keep_first(&et, &ev, &etb);
        }
        if (n < BATCH)
            break;
    }
    self->datagrams += got;
    if (et != NULL) {
        PyErr_Restore(et, ev, etb);
        return NULL;
    }
    return PyLong_FromUnsignedLongLong(got);
}

static PyObject *
SocketReader_sendto(SocketReader *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "sendto(data, addr)");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (self->fd < 0) { /* closed: dropped, as a closing asyncio transport drops it */
        PyBuffer_Release(&view);
        Py_RETURN_NONE;
    }
    PyObject *addr = args[1];
    int same = self->last_addr == NULL ? 0
               : self->last_addr == addr ? 1
                                         : PyObject_RichCompareBool(self->last_addr, addr, Py_EQ);
    if (same < 0 || (!same && parse_address(addr, &self->last_sa, &self->last_salen) < 0)) {
        Py_CLEAR(self->last_addr);
        PyBuffer_Release(&view);
        return NULL;
    }
    if (!same) {
        Py_INCREF(addr);
        Py_XSETREF(self->last_addr, addr);
    }
    ssize_t sent = sendto(self->fd, view.buf, (size_t)view.len, MSG_DONTWAIT,
                          (struct sockaddr *)&self->last_sa, self->last_salen);
    int err = errno;
    PyBuffer_Release(&view);
    if (sent < 0 && err != EAGAIN && err != EWOULDBLOCK && err != ENOBUFS) {
        /* As the event loop's datagram transport: the protocol hears of it. */
        PyObject *exc = PyObject_CallFunction(PyExc_OSError, "is", err, strerror(err));
        if (exc == NULL)
            return NULL;
        PyObject *r = PyObject_CallOneArg(self->error_received, exc);
        Py_DECREF(exc);
        if (r == NULL)
            return NULL;
        Py_DECREF(r);
    }
    Py_RETURN_NONE;
}

static PyObject *
SocketReader_close(SocketReader *self, PyObject *unused)
{
    if (self->fd >= 0) {
        int fd = self->fd;
        self->fd = -1;
        if (close(fd) < 0)
            return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_RETURN_NONE;
}

static PyObject *
SocketReader_get_fd(SocketReader *self, void *closure)
{
    return PyLong_FromLong(self->fd);
}

static PyObject *
SocketReader_get_counter(SocketReader *self, void *closure)
{
    return PyLong_FromUnsignedLongLong(*(unsigned long long *)((char *)self
                                                               + (Py_ssize_t)closure));
}

static PyMethodDef SocketReader_methods[] = {
    {"read_ready", (PyCFunction)SocketReader_read_ready, METH_NOARGS,
     "read_ready(): drain the socket (recvmmsg, a few batches at most); the datagrams read."},
    {"sendto", (PyCFunction)(void (*)(void))SocketReader_sendto, METH_FASTCALL,
     "sendto(data, addr): one datagram, at once (a full send buffer drops it)."},
    {"close", (PyCFunction)SocketReader_close, METH_NOARGS, "close(): close the descriptor."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef SocketReader_getset[] = {
    {"fd", (getter)SocketReader_get_fd, NULL, "the descriptor read (-1 once closed)", NULL},
    {"datagrams", (getter)SocketReader_get_counter, NULL, "datagrams read",
     (void *)offsetof(SocketReader, datagrams)},
    {"batches", (getter)SocketReader_get_counter, NULL, "recvmmsg calls that returned any",
     (void *)offsetof(SocketReader, batches)},
    {"truncated", (getter)SocketReader_get_counter, NULL, "datagrams too long, dropped",
     (void *)offsetof(SocketReader, truncated)},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject SocketReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "loadtest._compiled_receive.SocketReader",
    .tp_doc = "An ICE socket read in batches: SRTP through a PacketReader, the rest handed on.",
    .tp_basicsize = sizeof(SocketReader),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = SocketReader_new,
    .tp_init = (initproc)SocketReader_init,
    .tp_dealloc = (destructor)SocketReader_dealloc,
    .tp_methods = SocketReader_methods,
    .tp_getset = SocketReader_getset,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "loadtest._compiled_receive",
    .m_doc = "A synthetic receiver's per-packet path (see loadtest.compiled_receive).",
    .m_size = -1,
};

static int
intern(PyObject **slot, const char *name)
{
    *slot = PyUnicode_InternFromString(name);
    return *slot == NULL ? -1 : 0;
}

PyMODINIT_FUNC
PyInit__compiled_receive(void)
{
    if (intern(&s_source, "source") || intern(&s_bytes, "bytes") || intern(&s_tally, "tally")
        || intern(&s_on_frame, "_on_frame") || intern(&s_add_latency, "_add_latency")
        || intern(&s_missing, "_missing") || intern(&s_frames_dropped, "frames_dropped")
        || intern(&s_on_packet, "on_packet") || intern(&s_count_dropped, "count_dropped"))
        return NULL;
    if (PyType_Ready(&PacketReaderType) < 0 || PyType_Ready(&SocketReaderType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (cores_ready(m) < 0
        || PyModule_AddObjectRef(m, "PacketReader", (PyObject *)&PacketReaderType) < 0
        || PyModule_AddObjectRef(m, "SocketReader", (PyObject *)&SocketReaderType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
