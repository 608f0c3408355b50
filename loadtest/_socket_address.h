/* An ICE pair's address as the event loop's transports take it, for sendto/sendmmsg: shared
 * by loadtest/_compiled_receive.c (SocketReader.sendto) and loadtest/_compiled_send.c. */
#ifndef COSHOP_SOCKET_ADDRESS_H
#define COSHOP_SOCKET_ADDRESS_H

#include <Python.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* (host, port[, flowinfo, scope_id]) with a numeric host, as the ICE pair's address is. */
static inline int
parse_address(PyObject *addr, struct sockaddr_storage *sa, socklen_t *salen)
{
    const char *host;
    int port;
    unsigned int flowinfo = 0, scope_id = 0;
    if (!PyTuple_Check(addr)
        || !PyArg_ParseTuple(addr, "si|II", &host, &port, &flowinfo, &scope_id)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "address must be a (host, port) tuple");
        return -1;
    }
    memset(sa, 0, sizeof *sa);
    struct sockaddr_in *in = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        *salen = sizeof *in;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        in6->sin6_flowinfo = htonl(flowinfo);
        in6->sin6_scope_id = scope_id;
        *salen = sizeof *in6;
        return 0;
    }
    PyErr_Format(PyExc_ValueError, "not a numeric address: %s", host);
    return -1;
}

#endif
