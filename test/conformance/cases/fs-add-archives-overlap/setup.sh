python3 - <<'PY'
import tarfile, io
def build(path, mode, entries):
    t = tarfile.open(path, mode, format=tarfile.PAX_FORMAT)
    for name, typ, data, perm, uid in entries:
        i = tarfile.TarInfo(name); i.type = typ; i.mode = perm; i.uid = uid; i.gid = uid; i.mtime = 1000000000
        if typ == tarfile.REGTYPE:
            i.size = len(data); t.addfile(i, io.BytesIO(data))
        else:
            t.addfile(i)
    t.close()
R, D = tarfile.REGTYPE, tarfile.DIRTYPE
build('one.tar', 'w', [('same', R, b'one\n', 0o600, 1), ('d', D, b'', 0o700, 1), ('d/x', R, b'x1\n', 0o644, 1), ('fd', R, b'file\n', 0o644, 1)])
build('two.tar.gz', 'w:gz', [('same', R, b'two\n', 0o644, 2), ('d', D, b'', 0o755, 2), ('d/y', R, b'y2\n', 0o644, 2), ('fd', D, b'', 0o750, 2), ('fd/in', R, b'in\n', 0o644, 2)])
PY
