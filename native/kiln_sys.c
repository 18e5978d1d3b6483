// kiln's one native helper (optional: src/support/native.ts falls back without it).
//
// mount(2) and umount2(2). A RUN or COPY step mounted and unmounted its overlay with
// mount(8)/umount(8), two processes of ~3 ms each (a fork of the Node process plus util-linux
// start-up) around ~0.2 ms of kernel work: ~10% of a one-file rebuild of a 30-step Dockerfile
// (docs/design/snapshots.md). Both calls run on libuv's thread pool and return a promise. mount
// takes an optional working directory for relative paths in its data (overlay lowerdir chains
// stay under one page that way); the chdir happens on a thread of its own made with
// unshare(CLONE_FS), so the process's cwd (shared by every other thread) never moves.
//
// lstatAt(dir, names): the lstat of every name in one directory, packed into one BigInt64Array
// (docs/design/build-cache.md). Node's lstatSync({bigint}) builds ~23 heap objects per file
// (18 BigInts, 4 Dates); a 20k-file context walk kept them all alive, and copying them between
// GC generations cost more than the syscalls.
//
// startWriteback(fd, offset, nbytes): sync_file_range(SYNC_FILE_RANGE_WRITE) on the thread pool,
// which starts the disk write of a range already written. The blob store calls it while a blob
// streams in, so the fsync that must precede the blob's rename only waits for the last few MiB
// instead of the whole blob (docs/design/store.md). The call itself can take ~0.5 ms (it queues
// the pages' I/O), which on the main thread held up every download running beside it.
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OP_UMOUNT, OP_MOUNT, OP_WRITEBACK };

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int kind; // OP_UMOUNT, OP_MOUNT, OP_WRITEBACK
  int fd;
  int64_t offset, nbytes;
  char *source, *target, *fstype, *data, *cwd;
  unsigned long flags;
  int umount_flags;
  int err;
  const char *what;
} op_t;

static void op_free(op_t *op) {
  free(op->source);
  free(op->target);
  free(op->fstype);
  free(op->data);
  free(op->cwd);
  free(op);
}

static void do_mount(op_t *op) {
  if (op->cwd != NULL) {
    if (unshare(CLONE_FS) != 0) {
      op->err = errno;
      op->what = "unshare(CLONE_FS)";
      return;
    }
    if (chdir(op->cwd) != 0) {
      op->err = errno;
      op->what = "chdir";
      return;
    }
  }
  if (mount(op->source, op->target, op->fstype, op->flags, op->data) != 0) {
    op->err = errno;
    op->what = "mount";
  }
}

static void *mount_thread(void *arg) {
  do_mount((op_t *)arg);
  return NULL;
}

static void execute(napi_env env, void *data) {
  (void)env;
  op_t *op = (op_t *)data;
  if (op->kind == OP_WRITEBACK) {
    if (op->err == 0 && sync_file_range(op->fd, op->offset, op->nbytes, SYNC_FILE_RANGE_WRITE) != 0) {
      op->err = errno;
      op->what = "sync_file_range";
    }
    if (op->fd >= 0) close(op->fd);
    return;
  }
  if (op->kind == OP_UMOUNT) {
    if (umount2(op->target, op->umount_flags) != 0) {
      op->err = errno;
      op->what = "umount2";
    }
    return;
  }
  if (op->cwd == NULL) {
    do_mount(op);
    return;
  }
  // a private cwd: this thread's unshare must not touch the pool thread's fs_struct
  pthread_t t;
  int rc = pthread_create(&t, NULL, mount_thread, op);
  if (rc != 0) {
    op->err = rc;
    op->what = "pthread_create";
    return;
  }
  pthread_join(t, NULL);
}

static void complete(napi_env env, napi_status status, void *data) {
  op_t *op = (op_t *)data;
  if (status == napi_ok && op->err == 0) {
    napi_value undef;
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, op->deferred, undef);
  } else {
    int err = op->err != 0 ? op->err : EIO;
    napi_value msg, error, code;
    char buf[256];
    snprintf(buf, sizeof buf, "%s: %s", op->what != NULL ? op->what : "mount", strerror(err));
    napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &error);
    napi_create_int32(env, err, &code);
    napi_set_named_property(env, error, "errno", code);
    napi_reject_deferred(env, op->deferred, error);
  }
  napi_delete_async_work(env, op->work);
  op_free(op);
}

/** A string argument, or NULL for null/undefined. */
static int string_arg(napi_env env, napi_value v, char **out) {
  napi_valuetype t;
  *out = NULL;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_null || t == napi_undefined) return 0;
  if (t != napi_string) return -1;
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return -1;
  *out = malloc(len + 1);
  if (*out == NULL) return -1;
  if (napi_get_value_string_utf8(env, v, *out, len + 1, &len) != napi_ok) return -1;
  if (strlen(*out) != len) return -1; // an embedded NUL
  return 0;
}

static napi_value queue(napi_env env, op_t *op) {
  napi_value promise, name;
  if (napi_create_promise(env, &op->deferred, &promise) != napi_ok) goto fail;
  static const char *names[] = {"kiln.umount", "kiln.mount", "kiln.writeback"};
  napi_create_string_utf8(env, names[op->kind], NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, execute, complete, op, &op->work) != napi_ok) goto fail;
  if (napi_queue_async_work(env, op->work) != napi_ok) goto fail;
  return promise;
fail:
  op_free(op);
  napi_throw_error(env, NULL, "kiln_sys: cannot queue the call");
  return NULL;
}

// mount(source, target, fstype, flags, data, cwd): Promise<void>; strings may be null
static napi_value js_mount(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  op_t *op = calloc(1, sizeof *op);
  if (op == NULL || argc != 6) goto bad;
  op->kind = OP_MOUNT;
  double flags;
  if (string_arg(env, argv[0], &op->source) || string_arg(env, argv[1], &op->target) || op->target == NULL ||
      string_arg(env, argv[2], &op->fstype) || napi_get_value_double(env, argv[3], &flags) != napi_ok ||
      string_arg(env, argv[4], &op->data) || string_arg(env, argv[5], &op->cwd) || flags < 0)
    goto bad;
  op->flags = (unsigned long)flags;
  return queue(env, op);
bad:
  if (op != NULL) op_free(op);
  napi_throw_type_error(env, NULL, "mount(source, target, fstype, flags, data, cwd): bad arguments");
  return NULL;
}

// umount(target, flags): Promise<void>
static napi_value js_umount(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  op_t *op = calloc(1, sizeof *op);
  int32_t flags;
  if (op == NULL || argc != 2 || string_arg(env, argv[0], &op->target) || op->target == NULL ||
      napi_get_value_int32(env, argv[1], &flags) != napi_ok) {
    if (op != NULL) op_free(op);
    napi_throw_type_error(env, NULL, "umount(target, flags): bad arguments");
    return NULL;
  }
  op->umount_flags = flags;
  return queue(env, op);
}

// Fields of one lstatAt record, in this order (src/support/stat.ts reads them).
enum { F_MODE, F_UID, F_GID, F_NLINK, F_SIZE, F_RDEV, F_DEV, F_INO, F_ATIME, F_MTIME, F_CTIME, NFIELDS };

static int64_t ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec; }

// lstatAt(dir, names): BigInt64Array of names.length * NFIELDS, or null when `dir` cannot be
// opened (the caller then stats one by one, for Node's own errors). A name that fails has
// -errno as its mode.
static napi_value js_lstat_at(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *dir = NULL;
  uint32_t n = 0;
  bool is_array = false;
  if (argc != 2 || string_arg(env, argv[0], &dir) || dir == NULL || napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[1], &n) != napi_ok) {
    free(dir);
    napi_throw_type_error(env, NULL, "lstatAt(dir, names): bad arguments");
    return NULL;
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(dir);
  if (dfd < 0) {
    napi_get_null(env, &result);
    return result;
  }
  void *data;
  napi_value buf;
  if (napi_create_arraybuffer(env, (size_t)n * NFIELDS * sizeof(int64_t), &data, &buf) != napi_ok) goto fail;
  int64_t *out = (int64_t *)data;
  char name[1024];
  for (uint32_t i = 0; i < n; i++) {
    int64_t *r = out + (size_t)i * NFIELDS;
    napi_value v;
    size_t len;
    if (napi_get_element(env, argv[1], i, &v) != napi_ok || napi_get_value_string_utf8(env, v, name, sizeof name, &len) != napi_ok) goto fail;
    struct stat st;
    if (len >= sizeof name - 1 || strlen(name) != len) {
      r[F_MODE] = -ENAMETOOLONG; // longer than NAME_MAX, or an embedded NUL: Node would fail too
      continue;
    }
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      r[F_MODE] = -errno;
      continue;
    }
    r[F_MODE] = st.st_mode;
    r[F_UID] = st.st_uid;
    r[F_GID] = st.st_gid;
    r[F_NLINK] = (int64_t)st.st_nlink;
    r[F_SIZE] = st.st_size;
    r[F_RDEV] = (int64_t)st.st_rdev;
    r[F_DEV] = (int64_t)st.st_dev;
    r[F_INO] = (int64_t)st.st_ino;
    r[F_ATIME] = ns(st.st_atim);
    r[F_MTIME] = ns(st.st_mtim);
    r[F_CTIME] = ns(st.st_ctim);
  }
  close(dfd);
  dfd = -1;
  if (napi_create_typedarray(env, napi_bigint64_array, (size_t)n * NFIELDS, buf, 0, &result) != napi_ok) goto fail;
  return result;
fail:
  if (dfd >= 0) close(dfd);
  napi_throw_error(env, NULL, "lstatAt: out of memory or a bad name");
  return NULL;
}

// lutimesNs(path, atimeNs, mtimeNs): utimensat(AT_SYMLINK_NOFOLLOW) with exact nanoseconds (BigInts);
// Node's lutimes takes float seconds, which keep ~240 ns at today's times. Returns 0 or -errno.
static napi_value js_lutimes_ns(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *path = NULL;
  int64_t t[2];
  bool lossless;
  if (argc != 3 || string_arg(env, argv[0], &path) || path == NULL || napi_get_value_bigint_int64(env, argv[1], &t[0], &lossless) != napi_ok ||
      napi_get_value_bigint_int64(env, argv[2], &t[1], &lossless) != napi_ok) {
    free(path);
    napi_throw_type_error(env, NULL, "lutimesNs(path, atimeNs, mtimeNs): bad arguments");
    return NULL;
  }
  struct timespec ts[2];
  for (int i = 0; i < 2; i++) {
    int64_t s = t[i] / 1000000000LL, n = t[i] % 1000000000LL;
    if (n < 0) { s -= 1; n += 1000000000LL; }
    ts[i].tv_sec = (time_t)s;
    ts[i].tv_nsec = (long)n;
  }
  int rc = utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
  free(path);
  napi_create_int32(env, rc, &result);
  return result;
}

// startWriteback(fd, offset, nbytes): Promise<void>, rejected with an Error carrying `errno`
// (the caller's fsync still decides durability, so a failure only loses the head start). It works
// on a duplicate of `fd`, so the caller may close its own while the call is still queued.
static napi_value js_start_writeback(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  int64_t off, n;
  if (argc != 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int64(env, argv[1], &off) != napi_ok ||
      napi_get_value_int64(env, argv[2], &n) != napi_ok || fd < 0 || off < 0 || n < 0) {
    napi_throw_type_error(env, NULL, "startWriteback(fd, offset, nbytes): bad arguments");
    return NULL;
  }
  op_t *op = calloc(1, sizeof *op);
  if (op == NULL) {
    napi_throw_error(env, NULL, "startWriteback: out of memory");
    return NULL;
  }
  op->kind = OP_WRITEBACK;
  op->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (op->fd < 0) {
    op->err = errno;
    op->what = "dup";
  }
  op->offset = off;
  op->nbytes = n;
  return queue(env, op);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "startWriteback", NAPI_AUTO_LENGTH, js_start_writeback, NULL, &f);
  napi_set_named_property(env, exports, "startWriteback", f);
  napi_create_function(env, "lstatAt", NAPI_AUTO_LENGTH, js_lstat_at, NULL, &f);
  napi_set_named_property(env, exports, "lstatAt", f);
  napi_create_function(env, "lutimesNs", NAPI_AUTO_LENGTH, js_lutimes_ns, NULL, &f);
  napi_set_named_property(env, exports, "lutimesNs", f);
  napi_create_function(env, "mount", NAPI_AUTO_LENGTH, js_mount, NULL, &f);
  napi_set_named_property(env, exports, "mount", f);
  napi_create_function(env, "umount", NAPI_AUTO_LENGTH, js_umount, NULL, &f);
  napi_set_named_property(env, exports, "umount", f);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
