// kiln's one native helper: mount(2) and umount2(2) as Node-API calls. Why: a RUN or COPY step
// mounted and unmounted its overlay with mount(8)/umount(8), two processes of ~3 ms each (a fork
// of the Node process plus util-linux start-up) around ~0.2 ms of kernel work; that was ~10% of a
// one-file rebuild of a 30-step Dockerfile (docs/design/snapshots.md). Optional: without this
// addon kiln spawns mount(8)/umount(8) as before (src/snapshot/sys.ts).
//
// Both calls run on libuv's thread pool and return a promise. mount takes an optional working
// directory for relative paths in its data (overlay lowerdir chains stay under one page that
// way); the chdir happens on a thread of its own made with unshare(CLONE_FS), so the process's
// cwd (shared by every other thread) never moves.
#include <node_api.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int is_mount;
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
  if (!op->is_mount) {
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
  napi_create_string_utf8(env, op->is_mount ? "kiln.mount" : "kiln.umount", NAPI_AUTO_LENGTH, &name);
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
  op->is_mount = 1;
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

static napi_value init(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "mount", NAPI_AUTO_LENGTH, js_mount, NULL, &f);
  napi_set_named_property(env, exports, "mount", f);
  napi_create_function(env, "umount", NAPI_AUTO_LENGTH, js_umount, NULL, &f);
  napi_set_named_property(env, exports, "umount", f);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
