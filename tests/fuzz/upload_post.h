/* upload_post.h — one POST /upload to a streamlab web server on 127.0.0.1,
 * from a fuzz input: "BOUNDARY\n" then the multipart body (with no newline
 * in the first 71 bytes the whole input is the body, boundary "fuzzXYZ").
 * Shared by tests/fuzz/fuzz_multipart.c and tests/test_fuzz_regressions.c. */
#ifndef STREAMLAB_UPLOAD_POST_H
#define STREAMLAB_UPLOAD_POST_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Sends the request and reads the whole answer (the server closes) into
 * resp (NUL-terminated).  Returns the HTTP status, or -1 when the connection
 * failed or no HTTP status line came back. */
static inline int upload_post(int port, const uint8_t *data, size_t size, char *resp, size_t cap)
{
    const char *boundary = "fuzzXYZ";
    char bbuf[80];
    const char *body = (const char *)data;
    size_t blen = size;
    const char *nl = memchr(data, '\n', size < 71 ? size : 71);
    if (nl) {
        snprintf(bbuf, sizeof bbuf, "%.*s", (int)(nl - body), body);
        for (char *c = bbuf; *c; c++) /* keep the header one line */
            if (*c == '\r')
                *c = '_';
        boundary = bbuf;
        blen = size - (size_t)(nl - body) - 1;
        body = nl + 1;
    }
    resp[0] = '\0';
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    struct timeval tv = {.tv_sec = 30};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        /* Interrupted (libFuzzer's timer signal), the connection goes on: wait for it. */
        int soerr = errno;
        if (soerr == EINTR) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            socklen_t sl = sizeof soerr;
            while (poll(&pfd, 1, 30000) < 0 && errno == EINTR)
                ;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
                soerr = errno;
        }
        if (soerr != 0 && soerr != EISCONN) {
            close(fd);
            errno = soerr;
            return -1;
        }
    }
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      "Content-Type: multipart/form-data; boundary=%s\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      boundary, blen);
    size_t reqlen = (size_t)hl + blen;
    char *req = malloc(reqlen);
    memcpy(req, head, (size_t)hl);
    memcpy(req + hl, body, blen);
    for (size_t at = 0; at < reqlen;) {
        ssize_t n = send(fd, req + at, reqlen - at, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) /* libFuzzer's timer signal */
            continue;
        if (n <= 0)
            break; /* the server may answer (413) and close before the body */
        at += (size_t)n;
    }
    free(req);
    size_t got = 0;
    ssize_t n;
    while (got < cap - 1 && ((n = recv(fd, resp + got, cap - 1 - got, 0)) > 0 ||
                             (n < 0 && errno == EINTR)))
        got += n > 0 ? (size_t)n : 0;
    resp[got] = '\0';
    close(fd);
    int status = -1;
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    return status;
}

#endif
