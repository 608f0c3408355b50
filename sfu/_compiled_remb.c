/*
 * sfu._compiled_remb: the per-packet part of aiortc's receive-side bandwidth estimator in C.
 *
 * aiortc's RemoteBitrateEstimator (REMB, draft-alvestrand-rmcat-remb-03) counts the incoming
 * rate in 1 ms buckets over one second, groups packets by abs-send-time into 5 ms bursts
 * (InterArrival) and, once per group, runs a Kalman over-use estimator and the over-use
 * detector. sfu/remb_estimator.py does that in Python (~4 us a video packet, most of it the
 * estimator's float arithmetic once per frame). RembCore does the same arithmetic, in the
 * same order, on doubles and 64-bit integers (as CPython's floats and, within these ranges,
 * ints): the estimates are the same, bit for bit (tests/sfu/test_remb_estimator.py holds it
 * to aiortc's). The AIMD rate control, called about twice a second, stays aiortc's Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#define WINDOW_MS 1000
#define SCALE 8000
#define BURST_DELTA_THRESHOLD_MS 5
#define MAX_ADAPT_OFFSET_MS 15
#define MIN_NUM_DELTAS 60
#define DELTA_COUNTER_MAX 1000
#define MIN_FRAME_PERIOD_HISTORY_LENGTH 60
#define INTER_ARRIVAL_SHIFT 26
#define TIMESTAMP_GROUP_LENGTH_MS 5
#define FEEDBACK_INTERVAL_MS 500 /* AimdRateControl.feedback_interval() */

/* aiortc.rate.BandwidthUsage values. */
enum { NORMAL = 0, UNDERUSING = 1, OVERUSING = 2 };

static const double TIMESTAMP_TO_MS = 1000.0 / (double)(1LL << INTER_ARRIVAL_SHIFT);
static const int64_t GROUP_LENGTH = (TIMESTAMP_GROUP_LENGTH_MS << INTER_ARRIVAL_SHIFT) / 1000;

typedef struct {
    PyObject_HEAD
    /* CompactRateCounter(1000, 8000) */
    int64_t counts[WINDOW_MS];
    int64_t values[WINDOW_MS];
    int64_t origin_index;
    int64_t origin_ms;
    int has_origin;
    int64_t total_count;
    int64_t total_value;
    int incoming_bitrate_initialized;
    /* InterArrival's current and previous timestamp groups */
    int has_cur;
    int64_t cur_first, cur_last, cur_size, cur_arrival;
    int has_prev;
    int64_t prev_last, prev_size, prev_arrival;
    /* OveruseEstimator */
    double E[2][2];
    int64_t num_of_deltas;
    double offset, previous_offset, slope;
    double ts_delta_hist[MIN_FRAME_PERIOD_HISTORY_LENGTH];
    int hist_len, hist_start;
    double avg_noise, var_noise;
    double process_noise[2];
    /* OveruseDetector */
    int hypothesis;
    int has_detector_update;
    int64_t detector_last_update_ms;
    double k_up, k_down;
    int64_t overuse_counter;
    int has_overuse_time;
    double overuse_time;
    double overuse_time_threshold;
    double detector_previous_offset;
    double threshold;
    /* RemoteBitrateEstimator.last_update_ms */
    int has_last_update;
    int64_t last_update_ms;
} RembCore;

static void
counter_reset(RembCore *s)
{
    memset(s->counts, 0, sizeof s->counts);
    memset(s->values, 0, sizeof s->values);
    s->origin_index = 0;
    s->has_origin = 0;
    s->origin_ms = 0;
    s->total_count = 0;
    s->total_value = 0;
}

static int64_t
py_mod(int64_t a, int64_t b) /* Python's % for b > 0 */
{
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

static void
counter_erase_old(RembCore *s, int64_t now_ms)
{
    int64_t steps = now_ms - WINDOW_MS + 1 - s->origin_ms;
    if (steps <= 0)
        return;
    if (steps >= WINDOW_MS) {
        memset(s->counts, 0, sizeof s->counts);
        memset(s->values, 0, sizeof s->values);
        s->total_count = 0;
        s->total_value = 0;
    } else {
        for (int64_t k = 0; k < steps; k++) {
            int64_t i = (s->origin_index + k) % WINDOW_MS;
            s->total_count -= s->counts[i];
            s->total_value -= s->values[i];
            s->counts[i] = 0;
            s->values[i] = 0;
        }
    }
    s->origin_index = (s->origin_index + steps) % WINDOW_MS;
    s->origin_ms += steps;
}

/* CompactRateCounter.rate: 1 and the rate, or 0 for None. */
static int
counter_rate(RembCore *s, int64_t now_ms, int64_t *rate)
{
    if (!s->has_origin)
        return 0;
    counter_erase_old(s, now_ms);
    int64_t active_window = now_ms - s->origin_ms + 1;
    if (s->total_count > 0 && active_window > 1) {
        /* round(scale * value / window): Python's true division then round-half-even. */
        *rate = (int64_t)nearbyint((double)(SCALE * s->total_value) / (double)active_window);
        return 1;
    }
    return 0;
}

static void
counter_add_now(RembCore *s, int64_t value, int64_t now_ms)
{
    if (!s->has_origin) {
        s->has_origin = 1;
        s->origin_ms = now_ms;
    }
    int64_t index = py_mod(s->origin_index + now_ms - s->origin_ms, WINDOW_MS);
    s->counts[index] += 1;
    s->values[index] += value;
    s->total_count += 1;
    s->total_value += value;
}

static double
update_min_frame_period(RembCore *s, double ts_delta)
{
    double min_frame_period = ts_delta;
    if (s->hist_len >= MIN_FRAME_PERIOD_HISTORY_LENGTH) {
        s->hist_start = (s->hist_start + 1) % MIN_FRAME_PERIOD_HISTORY_LENGTH;
        s->hist_len--;
    }
    for (int k = 0; k < s->hist_len; k++) {
        double old = s->ts_delta_hist[(s->hist_start + k) % MIN_FRAME_PERIOD_HISTORY_LENGTH];
        /* min(old, current): the first argument wins a tie, as Python's min does */
        min_frame_period = min_frame_period < old ? min_frame_period : old;
    }
    s->ts_delta_hist[(s->hist_start + s->hist_len) % MIN_FRAME_PERIOD_HISTORY_LENGTH] = ts_delta;
    s->hist_len++;
    return min_frame_period;
}

static void
update_noise_estimate(RembCore *s, double residual, double ts_delta)
{
    double alpha = 0.01;
    if (s->num_of_deltas > 10 * 30)
        alpha = 0.002;
    double beta = pow(1 - alpha, ts_delta * 30.0 / 1000.0);
    s->avg_noise = beta * s->avg_noise + (1 - beta) * residual;
    s->var_noise = beta * s->var_noise + (1 - beta) * pow(fabs(s->avg_noise - residual), 2.0);
    if (s->var_noise < 1)
        s->var_noise = 1;
}

static void
estimator_update(RembCore *s, int64_t time_delta_ms, double timestamp_delta_ms, int64_t size_delta,
                 int current_hypothesis)
{
    double min_frame_period = update_min_frame_period(s, timestamp_delta_ms);
    double t_ts_delta = (double)time_delta_ms - timestamp_delta_ms;
    double fs_delta = (double)size_delta;

    s->num_of_deltas = s->num_of_deltas + 1 < DELTA_COUNTER_MAX ? s->num_of_deltas + 1
                                                                : DELTA_COUNTER_MAX;
    s->E[0][0] += s->process_noise[0];
    s->E[1][1] += s->process_noise[1];
    if ((current_hypothesis == OVERUSING && s->offset < s->previous_offset) ||
        (current_hypothesis == UNDERUSING && s->offset > s->previous_offset))
        s->E[1][1] += 10 * s->process_noise[1];

    double h0 = fs_delta, h1 = 1.0;
    double Eh0 = s->E[0][0] * h0 + s->E[0][1] * h1;
    double Eh1 = s->E[1][0] * h0 + s->E[1][1] * h1;

    double residual = t_ts_delta - s->slope * h0 - s->offset;
    if (current_hypothesis == NORMAL) {
        double max_residual = 3.0 * sqrt(s->var_noise);
        if (fabs(residual) < max_residual)
            update_noise_estimate(s, residual, min_frame_period);
        else
            update_noise_estimate(s, residual < 0 ? -max_residual : max_residual, min_frame_period);
    }

    double denom = s->var_noise + h0 * Eh0 + h1 * Eh1;
    double K0 = Eh0 / denom, K1 = Eh1 / denom;
    double IKh00 = 1.0 - K0 * h0, IKh01 = -K0 * h1;
    double IKh10 = -K1 * h0, IKh11 = 1.0 - K1 * h1;
    double e00 = s->E[0][0], e01 = s->E[0][1];

    s->E[0][0] = e00 * IKh00 + s->E[1][0] * IKh01;
    s->E[0][1] = e01 * IKh00 + s->E[1][1] * IKh01;
    s->E[1][0] = e00 * IKh10 + s->E[1][0] * IKh11;
    s->E[1][1] = e01 * IKh10 + s->E[1][1] * IKh11;

    s->previous_offset = s->offset;
    s->slope += K0 * residual;
    s->offset += K1 * residual;
}

static void
detector_update_threshold(RembCore *s, double modified_offset, int64_t now_ms)
{
    if (!s->has_detector_update) {
        s->has_detector_update = 1;
        s->detector_last_update_ms = now_ms;
    }
    if (fabs(modified_offset) > s->threshold + MAX_ADAPT_OFFSET_MS) {
        s->detector_last_update_ms = now_ms;
        return;
    }
    double k = fabs(modified_offset) < s->threshold ? s->k_down : s->k_up;
    int64_t time_delta_ms = now_ms - s->detector_last_update_ms;
    if (time_delta_ms > 100)
        time_delta_ms = 100;
    s->threshold += k * (fabs(modified_offset) - s->threshold) * (double)time_delta_ms;
    double clamped = s->threshold < 600 ? s->threshold : 600;
    s->threshold = 6 > clamped ? 6 : clamped; /* max(6, ...): 6 wins only when larger */
    s->detector_last_update_ms = now_ms;
}

static void
detector_detect(RembCore *s, double offset, double timestamp_delta_ms, int64_t num_of_deltas,
                int64_t now_ms)
{
    if (num_of_deltas < 2)
        return; /* aiortc returns NORMAL without touching its state */
    double T = (double)(num_of_deltas < MIN_NUM_DELTAS ? num_of_deltas : MIN_NUM_DELTAS) * offset;
    if (T > s->threshold) {
        if (!s->has_overuse_time) {
            s->has_overuse_time = 1;
            s->overuse_time = timestamp_delta_ms / 2;
        } else {
            s->overuse_time += timestamp_delta_ms;
        }
        s->overuse_counter += 1;
        if (s->overuse_time > s->overuse_time_threshold && s->overuse_counter > 1 &&
            offset >= s->detector_previous_offset) {
            s->overuse_counter = 0;
            s->overuse_time = 0;
            s->hypothesis = OVERUSING;
        }
    } else if (T < -s->threshold) {
        s->overuse_counter = 0;
        s->has_overuse_time = 0;
        s->hypothesis = UNDERUSING;
    } else {
        s->overuse_counter = 0;
        s->has_overuse_time = 0;
        s->hypothesis = NORMAL;
    }
    s->detector_previous_offset = offset;
    detector_update_threshold(s, T, now_ms);
}

static int
RembCore_init(RembCore *s, PyObject *args, PyObject *kwds)
{
    if (!PyArg_ParseTuple(args, ":RembCore"))
        return -1;
    counter_reset(s);
    s->incoming_bitrate_initialized = 1;
    s->has_cur = s->has_prev = 0;
    s->cur_first = s->cur_last = s->cur_size = s->cur_arrival = 0;
    s->prev_last = s->prev_size = s->prev_arrival = 0;
    s->E[0][0] = 100.0;
    s->E[0][1] = 0.0;
    s->E[1][0] = 0.0;
    s->E[1][1] = 0.1;
    s->num_of_deltas = 0;
    s->offset = s->previous_offset = 0.0;
    s->slope = 1.0 / 64;
    s->hist_len = s->hist_start = 0;
    s->avg_noise = 0.0;
    s->var_noise = 50.0;
    s->process_noise[0] = 1e-13;
    s->process_noise[1] = 1e-3;
    s->hypothesis = NORMAL;
    s->has_detector_update = 0;
    s->detector_last_update_ms = 0;
    s->k_up = 0.0087;
    s->k_down = 0.039;
    s->overuse_counter = 0;
    s->has_overuse_time = 0;
    s->overuse_time = 0;
    s->overuse_time_threshold = 10;
    s->detector_previous_offset = 0.0;
    s->threshold = 12.5;
    s->has_last_update = 0;
    s->last_update_ms = 0;
    return 0;
}

static int
new_group(RembCore *s, int64_t timestamp, int64_t arrival_time_ms)
{
    int64_t delta_ms =
        (int64_t)nearbyint(TIMESTAMP_TO_MS * (double)((timestamp - s->cur_last) & 0xFFFFFFFF));
    int64_t arrival_delta = arrival_time_ms - s->cur_arrival;
    if (delta_ms == 0 ||
        (arrival_delta - delta_ms < 0 && arrival_delta <= BURST_DELTA_THRESHOLD_MS))
        return 0;
    return ((timestamp - s->cur_first) & 0xFFFFFFFF) > GROUP_LENGTH;
}

static void
group_delta(RembCore *s, int64_t arrival_time_ms)
{
    double timestamp_delta_ms = (double)((s->cur_last - s->prev_last) & 0xFFFFFFFF) * TIMESTAMP_TO_MS;
    estimator_update(s, s->cur_arrival - s->prev_arrival, timestamp_delta_ms,
                     s->cur_size - s->prev_size, s->hypothesis);
    detector_detect(s, s->offset, timestamp_delta_ms, s->num_of_deltas, arrival_time_ms);
}

/* add(arrival_time_ms, abs_send_time, payload_size) -> None, or (usage, rate | None) when
 * the rate control is due an update (then updated(now) if it gave a target). */
static PyObject *
RembCore_add(RembCore *s, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "add(arrival_time_ms, abs_send_time, payload_size)");
        return NULL;
    }
    long long arrival = PyLong_AsLongLong(args[0]);
    long long abs_send_time = PyLong_AsLongLong(args[1]);
    long long size = PyLong_AsLongLong(args[2]);
    if (PyErr_Occurred())
        return NULL;
    if (abs_send_time < 0 || abs_send_time > 0xFFFFFF) {
        PyErr_SetString(PyExc_ValueError, "abs_send_time is 24 bits");
        return NULL;
    }
    int64_t timestamp = (int64_t)abs_send_time << 8;
    int64_t rate;

    if (counter_rate(s, arrival, &rate)) {
        s->incoming_bitrate_initialized = 1;
    } else if (s->incoming_bitrate_initialized) {
        counter_reset(s);
        s->incoming_bitrate_initialized = 0;
    }
    counter_add_now(s, size, arrival);

    int had_cur = s->has_cur;
    int64_t first = s->cur_first;
    if (!had_cur) {
        s->has_cur = 1;
        s->cur_first = s->cur_last = timestamp;
    } else if (((timestamp - first) & 0xFFFFFFFF) >= 0x80000000) {
        /* out of order: InterArrival ignores it, the rate above still counts it */
    } else if (new_group(s, timestamp, arrival)) {
        if (s->has_prev)
            group_delta(s, arrival);
        s->has_prev = 1;
        s->prev_last = s->cur_last;
        s->prev_size = s->cur_size;
        s->prev_arrival = s->cur_arrival;
        s->cur_first = s->cur_last = timestamp;
        s->cur_size = 0;
    } else {
        int64_t d = (timestamp - s->cur_last) & 0xFFFFFFFF;
        if (0 < d && d < 0x80000000)
            s->cur_last = timestamp;
    }
    if (!had_cur || ((timestamp - first) & 0xFFFFFFFF) < 0x80000000) {
        s->cur_size += size;
        s->cur_arrival = arrival;
    }

    if (s->has_last_update && arrival - s->last_update_ms <= FEEDBACK_INTERVAL_MS &&
        s->hypothesis != OVERUSING)
        Py_RETURN_NONE;
    if (counter_rate(s, arrival, &rate))
        return Py_BuildValue("(iL)", s->hypothesis, (long long)rate);
    return Py_BuildValue("(iO)", s->hypothesis, Py_None);
}

static PyObject *
RembCore_updated(RembCore *s, PyObject *arg)
{
    long long now = PyLong_AsLongLong(arg);
    if (now == -1 && PyErr_Occurred())
        return NULL;
    s->has_last_update = 1;
    s->last_update_ms = now;
    Py_RETURN_NONE;
}

static PyObject *
RembCore_state(RembCore *s, PyObject *unused)
{
    return PyLong_FromLong(s->hypothesis);
}

static PyObject *
RembCore_offset(RembCore *s, PyObject *unused)
{
    return PyFloat_FromDouble(s->offset);
}

static PyObject *
RembCore_threshold(RembCore *s, PyObject *unused)
{
    return PyFloat_FromDouble(s->threshold);
}

static PyObject *
RembCore_rate(RembCore *s, PyObject *arg)
{
    long long now = PyLong_AsLongLong(arg);
    if (now == -1 && PyErr_Occurred())
        return NULL;
    int64_t rate;
    if (counter_rate(s, now, &rate))
        return PyLong_FromLongLong(rate);
    Py_RETURN_NONE;
}

static PyMethodDef RembCore_methods[] = {
    {"add", (PyCFunction)(void (*)(void))RembCore_add, METH_FASTCALL,
     "add(arrival_time_ms, abs_send_time, payload_size) -> (usage, rate) when the rate control "
     "is due an update, else None."},
    {"updated", (PyCFunction)RembCore_updated, METH_O,
     "updated(now_ms): the rate control gave an estimate now (a REMB goes out)."},
    {"state", (PyCFunction)RembCore_state, METH_NOARGS,
     "The over-use detector's hypothesis (aiortc.rate.BandwidthUsage's value)."},
    {"offset", (PyCFunction)RembCore_offset, METH_NOARGS, "The over-use estimator's offset."},
    {"threshold", (PyCFunction)RembCore_threshold, METH_NOARGS,
     "The over-use detector's adaptive threshold."},
    {"rate", (PyCFunction)RembCore_rate, METH_O,
     "rate(now_ms) -> the incoming bitrate (bit/s) over the last second, or None."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RembCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "sfu._compiled_remb.RembCore",
    .tp_basicsize = sizeof(RembCore),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The incoming rate, inter-arrival groups, over-use estimator and detector of one "
              "REMB estimate (see sfu.remb_estimator).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)RembCore_init,
    .tp_methods = RembCore_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "sfu._compiled_remb",
    .m_doc = "The per-packet part of the REMB estimator in C (see sfu.remb_estimator).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__compiled_remb(void)
{
    if (PyType_Ready(&RembCoreType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&RembCoreType);
    if (PyModule_AddObject(m, "RembCore", (PyObject *)&RembCoreType) < 0) {
        Py_DECREF(&RembCoreType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
