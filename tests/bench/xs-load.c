// Synchronous xs_wire load generator: N client processes, each sending one request and waiting for
// its whole reply, for MS milliseconds; prints total round trips per second.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static int readn(int fd, unsigned char *b, size_t n) { size_t g = 0; while (g < n) { ssize_t r = read(fd, b + g, n - g); if (r <= 0) return -1; g += (size_t)r; } return 0; }
int main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: xs-load SOCKET CLIENTS MS TYPE PATH [VALUE]\n"); return 2; }
  const char *sock = argv[1]; int clients = atoi(argv[2]); double ms = atof(argv[3]); uint32_t type = (uint32_t)atoi(argv[4]);
  const char *path = argv[5]; const char *value = argc > 6 ? argv[6] : NULL;
  unsigned char req[4096 + 16]; size_t plen = strlen(path) + 1; memcpy(req + 16, path, plen);
  if (value) { memcpy(req + 16 + plen, value, strlen(value)); plen += strlen(value); }
  uint32_t hdr[4] = { type, 0, 0, (uint32_t)plen }; memcpy(req, hdr, 16);
  int pipes[64][2];
  for (int c = 0; c < clients; c++) {
    pipe(pipes[c]);
    if (fork() == 0) {
      int fd = socket(AF_UNIX, SOCK_STREAM, 0); struct sockaddr_un a = { .sun_family = AF_UNIX };
      strncpy(a.sun_path, sock, sizeof a.sun_path - 1);
      if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); _exit(1); }
      unsigned char rep[8192 + 16]; long n = 0; double t0 = now_ms(), end = t0 + ms;
      while (now_ms() < end) {
        if (write(fd, req, 16 + plen) != (ssize_t)(16 + plen)) _exit(1);
        if (readn(fd, rep, 16)) _exit(1);
        uint32_t len; memcpy(&len, rep + 12, 4); if (len > 8192 || readn(fd, rep + 16, len)) _exit(1);
        n++;
      }
      double rate = n * 1000.0 / (now_ms() - t0);
      write(pipes[c][1], &rate, sizeof rate); _exit(0);
    }
  }
  double total = 0;
  for (int c = 0; c < clients; c++) { double r = 0; read(pipes[c][0], &r, sizeof r); total += r; }
  while (wait(NULL) > 0) {}
  printf("%.0f\n", total); return 0;
}
